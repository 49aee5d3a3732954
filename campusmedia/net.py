"""The client's address, as far as it can be trusted."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or with ``CAMPUSMEDIA_TRUSTED_PROXY_COUNT`` = n proxies in front, the address
    the nearest of them saw: the n-th entry of X-Forwarded-For counted from the right.

    Entries further left are written by the client and are never believed, so a forged header
    neither hides the client from the audit log nor escapes the login lockout.
    """
    remote = request.META.get("REMOTE_ADDR") or None
    proxies = settings.CAMPUSMEDIA_TRUSTED_PROXY_COUNT
    if proxies > 0:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            remote = forwarded[-proxies]
    try:
        return str(ipaddress.ip_address(remote)) if remote else None
    except ValueError:
        return None
