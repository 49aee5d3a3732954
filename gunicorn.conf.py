"""gunicorn settings for the production web nodes (``scripts/serve.sh``, README "Deployment").

Everything comes from the environment, so one file serves every node:

* ``HOST``, ``PORT``: the address to listen on (127.0.0.1:8000); the reverse proxy connects here.
* ``WEB_CONCURRENCY``: worker processes (2 × cores + 1).
* ``GUNICORN_THREADS``: threads per worker (1: sync workers; more switches to gthread).
* ``GUNICORN_TIMEOUT``: seconds a request may take before its worker is replaced (60).
* ``FORWARDED_ALLOW_IPS``: the reverse proxies (comma-separated addresses or networks) whose
  ``X-Forwarded-Proto`` is believed (127.0.0.1,::1). Only then does a request count as HTTPS;
  a client that reaches a node directly cannot claim it.
* ``GUNICORN_MAX_REQUESTS``: requests after which a worker is replaced (1000, with jitter).
"""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


bind = [f"{os.environ.get('HOST') or '127.0.0.1'}:{os.environ.get('PORT') or '8000'}"]
workers = _int("WEB_CONCURRENCY", 2 * multiprocessing.cpu_count() + 1)
threads = _int("GUNICORN_THREADS", 1)
# Requests are short (pages, one PDF form); batches of forms run in the tasks worker. A worker
# silent for longer than this is killed and replaced.
timeout = _int("GUNICORN_TIMEOUT", 60)
graceful_timeout = 30
# Behind the proxy, connections are reused between it and the node (gthread only; sync ignores).
keepalive = 5
# Replace each worker after a while, staggered, so slow leaks never add up.
max_requests = _int("GUNICORN_MAX_REQUESTS", 1000)
max_requests_jitter = max(1, max_requests // 10) if max_requests else 0

# The proxy that terminates TLS; only its X-Forwarded-Proto sets the request's scheme.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
secure_scheme_headers = {"X-FORWARDED-PROTO": "https"}

# Access log on stdout, error log on stderr (journald or the container runtime keeps them).
# The path is logged without its query string: searches may carry names or numbers of people.
# %(D)s is the time taken in microseconds; the forwarded address is the client behind the proxy.
accesslog = "-"
errorlog = "-"
access_log_format = (
    '%(h)s %({x-forwarded-for}i)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(D)sus "%(a)s"'
)
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
proc_name = "campusmedia"

# Heartbeat files in memory, not on a disk that may stall (gunicorn's advice for containers).
if Path("/dev/shm").is_dir():
    worker_tmp_dir = "/dev/shm"

# gunicorn's control socket sits at one fixed path per user, so two instances on one machine
# would take it from each other; it is off unless a path is given.
_control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "").strip()
if _control_socket:
    control_socket = _control_socket
else:
    control_socket_disable = True
