"""A fixed-window limit on verification look-ups per client address, shared by the public page
and the API (``CAMPUSMEDIA_VERIFY_RATE_PER_MINUTE``).

Counts live in Django's cache: one key per address and minute, added with a lifetime of a little
over the window and incremented atomically by the cache backend. Behind a proxy the address comes
from ``campusmedia.net.client_ip`` (the trusted X-Forwarded-For entry), so a forged header does
not buy a fresh allowance.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from campusmedia.net import client_ip

WINDOW_SECONDS = 60
ERR_TOO_MANY = "查询过于频繁，请 %(seconds)s 秒后再试。"
_PREFIX = "publication:verify"


@dataclass(frozen=True)
class Allowance:
    allowed: bool
    limit: int
    retry_after: int  # seconds until the window ends


def _now() -> float:
    return time.time()


def hit(request: HttpRequest) -> Allowance:
    """Count one look-up by the request's client and say whether it is within the limit."""
    limit = settings.CAMPUSMEDIA_VERIFY_RATE_PER_MINUTE
    now = _now()
    window = int(now // WINDOW_SECONDS)
    key = f"{_PREFIX}:{client_ip(request) or 'unknown'}:{window}"
    # add() is a no-op when the key exists; incr() is atomic in the cache backends Django ships.
    cache.add(key, 0, timeout=WINDOW_SECONDS + 5)
    try:
        count = cache.incr(key)
    except ValueError:  # evicted between add() and incr()
        cache.add(key, 1, timeout=WINDOW_SECONDS + 5)
        count = 1
    retry_after = max(1, int((window + 1) * WINDOW_SECONDS - now))
    return Allowance(allowed=count <= limit, limit=limit, retry_after=retry_after)
