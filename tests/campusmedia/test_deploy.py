"""The production profile (``CAMPUSMEDIA_ENV=production``) and how it is served.

``manage.py check --deploy`` reports nothing with the production environment; production refuses
to start without its secrets; gunicorn.conf.py reads its settings from the environment; and
``scripts/serve.sh`` refuses anything but PostgreSQL. On PostgreSQL (``scripts/with-postgres.sh``)
the whole stack is started as the load test starts it and answered over HTTP.
"""

from __future__ import annotations

import ast
import http.client
import os
import re
import runpy
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from gunicorn.config import Config

ROOT = Path(__file__).resolve().parents[2]
# Variables of the developer's shell that would change what the subprocesses see.
SCRUBBED = {
    "CAMPUSMEDIA_ENV",
    "DJANGO_DEBUG",
    "DJANGO_SECURE_SSL_REDIRECT",
    "DJANGO_HSTS_SECONDS",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_SECRET_KEY",
    "CAMPUSMEDIA_FIELD_KEY",
    "CAMPUSMEDIA_FIELD_KEYS",
    "CAMPUSMEDIA_HMAC_KEY",
    "CAMPUSMEDIA_BACKUP_KEY",
    "DJANGO_SETTINGS_MODULE",
}


def production_env(tmp_path: Path, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED}
    env.update(
        CAMPUSMEDIA_ENV="production",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        CAMPUSMEDIA_FIELD_KEY=secrets.token_urlsafe(32),
        CAMPUSMEDIA_HMAC_KEY=secrets.token_urlsafe(32),
        DJANGO_ALLOWED_HOSTS="media.example.edu.cn",
        CAMPUSMEDIA_VAR_DIR=str(tmp_path / "var"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
    )
    env.update(overrides)
    return env


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_deploy_reports_nothing_in_production(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNINGS" not in result.stderr


def test_check_deploy_would_report_a_weakened_profile(tmp_path):
    """The check above can fail: without the HTTPS redirect it reports security.W008."""
    env = production_env(tmp_path, DJANGO_SECURE_SSL_REDIRECT="0")

    result = manage(env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode != 0
    assert "security.W008" in result.stderr


@pytest.mark.parametrize(
    "name",
    ["DJANGO_SECRET_KEY", "CAMPUSMEDIA_FIELD_KEY", "CAMPUSMEDIA_HMAC_KEY", "DJANGO_ALLOWED_HOSTS"],
)
def test_production_refuses_to_start_without_its_secrets(tmp_path, name):
    env = production_env(tmp_path)
    del env[name]

    result = manage(env, "check")

    assert result.returncode != 0
    assert f"{name} must be set in production" in result.stderr
    # Nothing was generated in its place (development writes keys into var/keys/).
    assert not (tmp_path / "var" / "keys").exists()


def test_production_backups_need_their_key(tmp_path):
    """Web nodes start without CAMPUSMEDIA_BACKUP_KEY; the backup command refuses without it."""
    env = production_env(tmp_path)
    assert manage(env, "migrate", "-v0").returncode == 0

    result = manage(env, "backup", "--output", str(tmp_path / "b.backup"))

    assert result.returncode != 0
    assert "CAMPUSMEDIA_BACKUP_KEY is not set" in result.stderr
    assert not list(tmp_path.glob("*.backup*"))


# --- gunicorn.conf.py -----------------------------------------------------------------------


def gunicorn_settings(monkeypatch, **env: str) -> dict[str, Any]:
    for name in (
        "HOST",
        "PORT",
        "WEB_CONCURRENCY",
        "GUNICORN_THREADS",
        "FORWARDED_ALLOW_IPS",
        "GUNICORN_CONTROL_SOCKET",
    ):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    namespace = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return {k: v for k, v in namespace.items() if not k.startswith("_") and k != "annotations"}


def test_gunicorn_defaults(monkeypatch):
    conf = gunicorn_settings(monkeypatch)
    cfg = Config()
    unknown = {
        name for name, value in conf.items() if name not in cfg.settings and not callable(value)
    }
    # Every name the file sets is a gunicorn setting (a typo would be silently ignored).
    assert unknown <= {"multiprocessing", "os", "Path"}
    for name, value in conf.items():
        if name in cfg.settings:
            cfg.set(name, value)

    assert cfg.bind == ["127.0.0.1:8000"]
    assert cfg.workers == 2 * (os.cpu_count() or 1) + 1
    assert cfg.threads == 1
    assert cfg.accesslog == "-"
    assert cfg.max_requests > 0 and 0 < cfg.max_requests_jitter < cfg.max_requests
    assert 30 <= cfg.timeout <= 120
    assert cfg.forwarded_allow_ips == ["127.0.0.1", "::1"]
    assert cfg.secure_scheme_headers == {"X-FORWARDED-PROTO": "https"}
    assert cfg.control_socket_disable is True
    # No query strings in the access log: searches may carry personal data.
    assert "%(r)s" not in cfg.access_log_format and "%(q)s" not in cfg.access_log_format


def test_gunicorn_reads_the_environment(monkeypatch):
    conf = gunicorn_settings(
        monkeypatch,
        HOST="0.0.0.0",
        PORT="8123",
        WEB_CONCURRENCY="3",
        GUNICORN_THREADS="4",
        FORWARDED_ALLOW_IPS="10.0.0.5,10.0.0.6",
    )

    assert conf["bind"] == ["0.0.0.0:8123"]
    assert conf["workers"] == 3
    assert conf["threads"] == 4
    assert conf["forwarded_allow_ips"] == "10.0.0.5,10.0.0.6"


# --- scripts/serve.sh -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (None, "DATABASE_URL is not set"),
        ("sqlite:////tmp/x.sqlite3", "must point at PostgreSQL"),
    ],
)
def test_serve_needs_postgresql(tmp_path, url, message):
    env = production_env(tmp_path)
    del env["DATABASE_URL"]
    if url:
        env["DATABASE_URL"] = url

    result = subprocess.run(
        ["bash", "scripts/serve.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )

    assert result.returncode == 2
    assert message in result.stderr
    assert not (tmp_path / "var").exists()  # stopped before migrate or collectstatic


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(port: int, path: str, **headers: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    response.read()
    return response


@pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="serve.sh runs on PostgreSQL only (scripts/with-postgres.sh)",
)
def test_serve_runs_the_stack_and_stops_it(tmp_path):
    """The stack as the load test starts it: /healthz, the login page through the proxy, a
    compressed static file with far-future caching; SIGTERM to the script stops everything."""
    port = _free_port()
    env = production_env(
        tmp_path,
        DATABASE_URL=os.environ["DATABASE_URL"],
        HOST="127.0.0.1",
        PORT=str(port),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        WEB_CONCURRENCY="2",
    )
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        ["bash", "scripts/serve.sh"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                if _get(port, "/healthz").status == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "no answer from /healthz"
            time.sleep(0.5)

        # Plain HTTP is sent to HTTPS; through the proxy the login page is served.
        assert _get(port, "/accounts/login/").status == 301
        login = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        login.request("GET", "/accounts/login/", headers={"X-Forwarded-Proto": "https"})
        response = login.getresponse()
        page = response.read().decode()
        assert response.status == 200
        assert response.getheader("Strict-Transport-Security")
        css = page.split('href="/static/campusmedia/css/site.', 1)[1].split('"', 1)[0]
        static = _get(
            port,
            f"/static/campusmedia/css/site.{css}",
            **{"Accept-Encoding": "gzip", "X-Forwarded-Proto": "https"},
        )
        assert static.status == 200
        assert static.getheader("Content-Encoding") == "gzip"
        assert "immutable" in (static.getheader("Cache-Control") or "")
        children = subprocess.run(
            ["pgrep", "-P", str(process.pid), "-a"], capture_output=True, text=True
        ).stdout
        assert "db_worker" in children and "gunicorn" in children
        pids = [int(line.split()[0]) for line in children.splitlines()]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        log.close()
    assert process.returncode == 0
    for pid in pids:  # neither gunicorn nor the worker outlives the script
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


# --- README ---------------------------------------------------------------------------------


def settings_variables() -> set[str]:
    """Every environment variable campusmedia/settings.py reads."""
    tree = ast.parse((ROOT / "campusmedia" / "settings.py").read_text())
    names = {"DATABASE_URL"}  # read by dj_database_url
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) in ("os.environ.get", "os.getenv", "_secret", "_env_list")
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(node.args[0].value)
    return names


def test_the_deployment_section_lists_every_environment_variable():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Deployment", 1)[1].split("\n## ", 1)[0]
    table = section.split("### Environment variables", 1)[1]
    listed = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", table))
    variables = settings_variables()

    assert len(variables) > 40
    assert variables - listed == set()
