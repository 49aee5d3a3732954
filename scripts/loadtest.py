"""The load test: the production stack on 127.0.0.1 under many concurrent users.

    scripts/with-postgres.sh .venv/bin/python scripts/loadtest.py [--users 100] [--duration 60]

(`make loadtest` runs exactly that.) Steps:

1. Prepares the database named by DATABASE_URL: ``migrate`` and the scale data (``seed_scale``:
   3,000 accounts, 1,000 logins).
2. Starts the production stack with ``scripts/serve.sh`` (gunicorn + whitenoise + the tasks
   worker, ``CAMPUSMEDIA_ENV=production``) on a free port of 127.0.0.1. The driver plays the
   TLS-terminating reverse proxy: every request carries ``X-Forwarded-Proto: https``.
3. Logs every virtual user in through the login page (not timed: password hashing is slow on
   purpose), then lets them all work at once for ``--duration`` seconds, each waiting a random
   think time between its requests:

   * secretaries: home page, registry search, an account page, their request list; now and then
     they file an opening request (API create + submit) and download the printed form (PDF);
   * unit heads: home page, inbox, sign the first request waiting for them (the page's POST);
   * the propaganda department: home page, registry search, approve one of the requests waiting
     for the final step (several reviewers race for the same requests on purpose: a loser gets
     the conflict answer, which is counted, not an error).

4. Prints throughput and p50/p95/p99 per kind of request (PDF downloads apart from pages), and
   the errors (5xx, failed connections, unexpected statuses).
5. Stops the stack and checks the database: every request a client was told was created exists
   exactly once, nothing else was created, every approved request has an approval number, and the
   numbers of the year are unique and gapless.

Exits non-zero when a check fails, an error occurred, or the page p95 is over the target.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PASSWORD = "Demo@2026"
MARKER = "压力测试"
SEARCH_TERMS = ["学院", "微信", "学生会", "团委", "中心", "新闻", "青年", "实验", "图书馆", "就业"]
PAGE_P95_TARGET_MS = 300.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- the environment the stack and the driver share -------------------------------------------


def production_env(workdir: Path, port: int) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        CAMPUSMEDIA_ENV="production",
        DJANGO_SETTINGS_MODULE="campusmedia.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        CAMPUSMEDIA_FIELD_KEY=secrets.token_urlsafe(32),
        CAMPUSMEDIA_HMAC_KEY=secrets.token_urlsafe(32),
        CAMPUSMEDIA_BACKUP_KEY=secrets.token_urlsafe(32),
        CAMPUSMEDIA_VAR_DIR=str(workdir),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DJANGO_EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend",
        CAMPUSMEDIA_TASKS_BACKEND="database",
        DJANGO_CONN_MAX_AGE="60",
        HOST="127.0.0.1",
        PORT=str(port),
    )
    return env


def prepare(env: dict[str, str], accounts: int, users: int) -> None:
    """Migrate and build the scale data (before the stack starts: its workers then find it)."""
    manage = [PYTHON, str(ROOT / "manage.py")]
    started = time.perf_counter()
    subprocess.run([*manage, "migrate", "-v0"], env=env, check=True, cwd=ROOT)
    subprocess.run(
        [*manage, "seed_scale", "--accounts", str(accounts), "--users", str(users), "-v0"],
        env=env,
        check=True,
        cwd=ROOT,
    )
    print(f"database ready in {time.perf_counter() - started:.1f} s ({accounts} accounts)")


def start_stack(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    process = subprocess.Popen(
        ["bash", str(ROOT / "scripts" / "serve.sh")],
        env=env,
        cwd=ROOT,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the stack stopped (exit {process.returncode}); see {log}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", int(env["PORT"]), timeout=2)
            conn.request("GET", "/healthz", headers={"X-Forwarded-Proto": "https"})
            if conn.getresponse().status == 200:
                return process
        except OSError:
            pass
        time.sleep(0.5)
    stop_stack(process)
    raise SystemExit(f"the stack did not answer /healthz within 180 s; see {log}")


def stop_stack(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- HTTP as one browser ----------------------------------------------------------------------


@dataclass
class Sample:
    label: str
    ms: float
    status: int
    error: str = ""


@dataclass
class Recorder:
    samples: list[Sample] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    created: list[int] = field(default_factory=list)
    approved: list[int] = field(default_factory=list)
    conflicts: int = 0
    measuring: bool = False
    elapsed: float = 0.0

    def add(self, sample: Sample) -> None:
        if self.measuring:
            with self.lock:
                self.samples.append(sample)


class Browser:
    """One user's connection and cookies; statuses other than ``ok`` count as errors."""

    def __init__(self, port: int, recorder: Recorder) -> None:
        self.port = port
        self.origin = f"https://127.0.0.1:{port}"
        self.recorder = recorder
        self.cookies: dict[str, str] = {}
        self.conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        return self.conn

    def call(
        self,
        label: str,
        method: str,
        path: str,
        *,
        body: bytes | None = None,
        content_type: str = "",
        ok: tuple[int, ...] = (200,),
        expected: tuple[int, ...] = (),
    ) -> tuple[int, bytes]:
        headers = {
            "Host": f"127.0.0.1:{self.port}",
            "X-Forwarded-Proto": "https",
            "Accept-Language": "zh-hans",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            headers["Origin"] = self.origin
            headers["Referer"] = self.origin + path
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        if content_type:
            headers["Content-Type"] = content_type
        started = time.perf_counter()
        status, data, error = 0, b"", ""
        for attempt in range(2):  # a kept-alive connection the server closed: reconnect once
            try:
                conn = self._connection()
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                status = response.status
                for value in response.headers.get_all("Set-Cookie") or []:
                    jar: SimpleCookie = SimpleCookie()
                    jar.load(value)
                    for key, morsel in jar.items():
                        self.cookies[key] = morsel.value
                if response.headers.get("Connection", "").lower() == "close":
                    conn.close()
                    self.conn = None
                error = ""
                break
            except (OSError, http.client.HTTPException) as exc:
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
                error = f"{type(exc).__name__}: {exc}"
                if attempt == 0 and isinstance(
                    exc, (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)
                ):
                    started = time.perf_counter()
                    continue
                break
        ms = (time.perf_counter() - started) * 1000
        if not error and status not in ok and status not in expected:
            error = f"HTTP {status}"
        self.recorder.add(Sample(label, ms, status, error))
        return status, data

    def form(self, label: str, path: str, fields: dict[str, str], **kw: Any) -> tuple[int, bytes]:
        fields = {**fields, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
        return self.call(
            label,
            "POST",
            path,
            body=urlencode(fields).encode(),
            content_type="application/x-www-form-urlencoded",
            **kw,
        )

    def json(self, label: str, path: str, payload: dict[str, Any], **kw: Any) -> tuple[int, Any]:
        status, data = self.call(
            label,
            "POST",
            path,
            body=json.dumps(payload).encode(),
            content_type="application/json",
            **kw,
        )
        try:
            return status, json.loads(data or b"null")
        except ValueError:
            return status, None

    def get_json(self, label: str, path: str) -> Any:
        status, data = self.call(label, "GET", path)
        return json.loads(data) if status == 200 else None

    def login(self, username: str) -> None:
        status, _ = self.call("login page", "GET", "/accounts/login/")
        status, _ = self.form(
            "login",
            "/accounts/login/",
            {"username": username, "password": PASSWORD},
            ok=(302,),
        )
        if status != 302:
            raise SystemExit(f"{username} could not log in (HTTP {status})")


# --- the virtual users ------------------------------------------------------------------------


@dataclass
class Persona:
    kind: str  # secretary | head | propaganda
    username: str
    unit_id: int
    account_ids: list[int]


def open_request(persona: Persona, n: int) -> dict[str, Any]:
    tag = f"{persona.username}-{n}-{secrets.token_hex(3)}"
    return {
        "kind": "open",
        "owner_unit": persona.unit_id,
        "data": {
            "name": f"{MARKER}账号{tag}",
            "platform": "wechat",
            "account_type": "订阅号",
            "content_categories": ["news"],
            "content_forms": ["text", "image"],
            "function_description": "发布单位新闻与通知",
            "operator_count": 2,
        },
        "team": [
            {"role": "supervisor", "name": "分管领导", "office_phone": "010-62751000"},
            {"role": "administrator", "name": "管理员", "mobile": "13912345678"},
        ],
        "reason": f"{MARKER} {tag}",
    }


def secretary_step(browser: Browser, persona: Persona, state: dict[str, Any]) -> None:
    roll = random.random()
    if roll < 0.25:
        browser.call("home", "GET", "/")
    elif roll < 0.50:
        term = quote(random.choice(SEARCH_TERMS))
        browser.call("registry search", "GET", f"/registry/?q={term}")
    elif roll < 0.65:
        browser.call("account page", "GET", f"/registry/{random.choice(persona.account_ids)}/")
    elif roll < 0.75:
        browser.call("request list", "GET", "/requests/")
    elif roll < 0.92:
        state["n"] = state.get("n", 0) + 1
        status, body = browser.json(
            "request create", "/api/v1/requests/", open_request(persona, state["n"]), ok=(201,)
        )
        if status == 201 and body:
            pk = int(body["id"])
            with browser.recorder.lock:
                browser.recorder.created.append(pk)
            state.setdefault("mine", []).append(pk)
            browser.json("request submit", f"/api/v1/requests/{pk}/submit/", {"comment": ""})
    elif state.get("mine"):
        pk = random.choice(state["mine"])
        browser.call("pdf", "GET", f"/requests/{pk}/form.pdf")
    else:
        browser.call("home", "GET", "/")


def _first_waiting(browser: Browser, spread: int) -> int | None:
    data = browser.get_json("inbox (api)", "/api/v1/requests/?inbox=1")
    rows = (data or {}).get("results") or []
    if not rows:
        return None
    return int(random.choice(rows[:spread])["id"])


def head_step(browser: Browser, persona: Persona, state: dict[str, Any]) -> None:
    roll = random.random()
    if roll < 0.3:
        browser.call("home", "GET", "/")
    elif roll < 0.5:
        browser.call("inbox", "GET", "/requests/inbox/")
    elif roll < 0.65:
        term = quote(random.choice(SEARCH_TERMS))
        browser.call("registry search", "GET", f"/registry/?q={term}")
    else:
        pk = _first_waiting(browser, 1)
        if pk is not None:
            browser.call("request page", "GET", f"/requests/{pk}/")
            browser.form("sign-off", f"/requests/{pk}/endorse/", {"comment": "同意"}, ok=(302,))


def propaganda_step(browser: Browser, persona: Persona, state: dict[str, Any]) -> None:
    roll = random.random()
    if roll < 0.2:
        browser.call("home", "GET", "/")
    elif roll < 0.4:
        term = quote(random.choice(SEARCH_TERMS))
        browser.call("registry search", "GET", f"/registry/?q={term}")
    elif roll < 0.5:
        browser.call("account page", "GET", f"/registry/{random.choice(persona.account_ids)}/")
    else:
        pk = _first_waiting(browser, 3)
        if pk is not None:
            status, _ = browser.json(
                "approve", f"/api/v1/requests/{pk}/approve/", {"comment": "同意"}, expected=(409,)
            )
            with browser.recorder.lock:
                if status == 200:
                    browser.recorder.approved.append(pk)
                elif status == 409:
                    browser.recorder.conflicts += 1


STEPS: dict[str, Callable[[Browser, Persona, dict[str, Any]], None]] = {
    "secretary": secretary_step,
    "head": head_step,
    "propaganda": propaganda_step,
}


def personas(count: int) -> list[Persona]:
    """Secretaries and heads of the same tier-2 units (so their requests meet), and reviewers."""
    import django

    django.setup()
    from campusmedia.choices import Role, UnitKind
    from campusmedia.models import MediaAccount, RoleAssignment

    def holders(role: str) -> dict[int, str]:
        rows = (
            RoleAssignment.objects.active()
            .filter(
                role=role,
                person__user__is_active=True,
                person__user__username__startswith="scale_",
                unit__kind__in=[UnitKind.COLLEGE, UnitKind.FUNCTIONAL, UnitKind.DIRECT],
            )
            .values_list("unit_id", "person__user__username")
            .order_by("unit_id")
        )
        found: dict[int, str] = {}
        for unit_id, username in rows:
            found.setdefault(unit_id, username)
        return found

    secretaries, heads = holders(Role.SECRETARY), holders(Role.HEAD)
    units = sorted(set(secretaries) & set(heads))
    propaganda = (
        RoleAssignment.objects.active()
        .filter(role=Role.PROPAGANDA_REVIEWER, person__user__username__startswith="scale_")
        .values_list("person__user__username", flat=True)
        .first()
    )
    if not units or propaganda is None:
        raise SystemExit("the scale data has no secretary/head pairs or no reviewer")
    accounts: dict[int, list[int]] = defaultdict(list)
    for pk, unit_id in MediaAccount.objects.values_list("pk", "owner_unit_id"):
        accounts[unit_id].append(pk)
    every = [pk for ids in accounts.values() for pk in ids]
    n_reviewers = max(1, count // 10)
    n_heads = max(1, (count - n_reviewers) * 3 // 10)
    n_secretaries = count - n_reviewers - n_heads
    # Every unit with a secretary has its head among the users, so every request can be signed.
    chosen = units[:n_heads]
    result = [
        Persona("secretary", secretaries[u], u, accounts.get(u) or every)
        for u in (chosen * n_secretaries)[:n_secretaries]
    ]
    result += [
        Persona("head", heads[u], u, accounts.get(u) or every) for u in (chosen * n_heads)[:n_heads]
    ]
    result += [Persona("propaganda", propaganda, 0, every) for _ in range(n_reviewers)]
    return result


def drive(
    port: int, people: list[Persona], duration: float, think: tuple[float, float]
) -> Recorder:
    recorder = Recorder()
    browsers = [Browser(port, recorder) for _ in people]
    started = time.perf_counter()
    # Log in a few at a time: each login hashes a password on purpose (hundreds of ms of CPU).
    with_logins = list(zip(browsers, people, strict=True))
    pool: list[threading.Thread] = []
    for i in range(0, len(with_logins), 8):
        batch = [
            threading.Thread(target=b.login, args=(p.username,)) for b, p in with_logins[i : i + 8]
        ]
        for t in batch:
            t.start()
        for t in batch:
            t.join()
    print(f"{len(people)} users logged in in {time.perf_counter() - started:.1f} s (not timed)")

    stop = threading.Event()

    def user(browser: Browser, persona: Persona) -> None:
        state: dict[str, Any] = {}
        step = STEPS[persona.kind]
        time.sleep(random.uniform(0, think[1]))  # spread the first clicks
        while not stop.is_set():
            step(browser, persona, state)
            stop.wait(random.uniform(*think))

    recorder.measuring = True
    begin = time.perf_counter()
    pool = [threading.Thread(target=user, args=pair) for pair in with_logins]
    for t in pool:
        t.start()
    stop.wait(duration)
    stop.set()
    for t in pool:
        t.join(timeout=90)
    recorder.measuring = False
    recorder.elapsed = time.perf_counter() - begin
    return recorder


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    return values[min(len(values) - 1, round(q / 100 * (len(values) - 1)))]


def report(recorder: Recorder) -> tuple[float, int]:
    elapsed = recorder.elapsed
    by_label: dict[str, list[Sample]] = defaultdict(list)
    for sample in recorder.samples:
        by_label[sample.label].append(sample)
    print(f"\n{'request':<18} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for label in sorted(by_label):
        rows = by_label[label]
        ms = [s.ms for s in rows]
        failed = sum(1 for s in rows if s.error)
        print(
            f"{label:<18} {len(rows):>6} {percentile(ms, 50):>8.1f} {percentile(ms, 95):>8.1f} "
            f"{percentile(ms, 99):>8.1f} {failed:>7}"
        )
    pages = [s.ms for s in recorder.samples if s.label != "pdf"]
    pdfs = [s.ms for s in recorder.samples if s.label == "pdf"]
    errors = [s for s in recorder.samples if s.error]
    total = len(recorder.samples)
    print(
        f"\nall but PDFs: {len(pages)} requests, {len(pages) / elapsed:.1f}/s, "
        f"p50 {percentile(pages, 50):.1f} ms, p95 {percentile(pages, 95):.1f} ms, "
        f"p99 {percentile(pages, 99):.1f} ms"
    )
    if pdfs:
        print(
            f"PDF downloads: {len(pdfs)}, p50 {percentile(pdfs, 50):.1f} ms, "
            f"p95 {percentile(pdfs, 95):.1f} ms, p99 {percentile(pdfs, 99):.1f} ms"
        )
    print(
        f"total {total} requests in {elapsed:.1f} s ({total / elapsed:.1f}/s); "
        f"errors {len(errors)}; conflicts answered 409 (expected) {recorder.conflicts}"
    )
    for sample in errors[:10]:
        print(f"  error: {sample.label}: {sample.error}")
    return percentile(pages, 95), len(errors)


def check(recorder: Recorder) -> list[str]:
    """What the database must hold after the run."""
    from django.db.models import Count

    from approvals.choices import RequestState
    from approvals.models import AccountRequest, ApprovalCounter

    problems: list[str] = []
    made = AccountRequest.objects.filter(reason__startswith=MARKER)
    ids = set(made.values_list("pk", flat=True))
    told = set(recorder.created)
    if len(told) != len(recorder.created):
        problems.append("the server handed out the same request id twice")
    if ids != told:
        problems.append(
            f"requests lost {sorted(told - ids)[:10]} or unexpected {sorted(ids - told)[:10]}"
        )
    twice = made.values("reason").annotate(n=Count("pk")).filter(n__gt=1)
    if twice.exists():
        problems.append(f"requests created twice: {list(twice[:5])}")
    unsubmitted = made.filter(state=RequestState.DRAFT).count()
    approved = made.filter(state=RequestState.APPROVED)
    numbers = list(approved.values_list("approval_number", flat=True))
    if set(recorder.approved) - set(approved.values_list("pk", flat=True)):
        problems.append("a request a client saw approved is not approved")
    if any(not n for n in numbers):
        problems.append("an approved request has no approval number")
    year_numbers: dict[int, list[int]] = defaultdict(list)
    for number in AccountRequest.objects.exclude(approval_number="").values_list(
        "approval_number", flat=True
    ):
        match = re.search(r"-(\d{4})-(\d+)$", number)
        if match:
            year_numbers[int(match[1])].append(int(match[2]))
    for year, values in year_numbers.items():
        counter = ApprovalCounter.objects.filter(year=year).values_list("last", flat=True).first()
        if len(values) != len(set(values)):
            problems.append(f"{year}: duplicate approval numbers")
        expected = set(range(min(values), (counter or max(values)) + 1))
        if set(values) != expected:
            problems.append(
                f"{year}: approval numbers have gaps: {sorted(expected - set(values))[:10]}"
            )
    print(
        f"\nchecks: {len(told)} requests created and {len(ids)} found; {unsubmitted} left as "
        f"drafts; {len(numbers)} approved with {len(set(numbers))} distinct numbers"
        + "".join(
            f"; {year}: numbers {min(v)}..{max(v)}, {len(v)} issued"
            for year, v in sorted(year_numbers.items())
        )
    )
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--logins", type=int, default=1000)
    parser.add_argument("--think", type=float, nargs=2, default=(2.0, 6.0), metavar=("MIN", "MAX"))
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise SystemExit("DATABASE_URL must name a PostgreSQL database (scripts/with-postgres.sh)")
    random.seed(2026)
    workdir = Path(tempfile.mkdtemp(prefix="campusmedia-load."))
    port = free_port()
    env = production_env(workdir, port)
    os.environ.update({k: env[k] for k in env if k not in ("HOST", "PORT")})
    sys.path.insert(0, str(ROOT))
    prepare(env, args.accounts, args.logins)
    people = personas(args.users)
    stack = start_stack(env, workdir / "serve.log")
    print(f"stack up on 127.0.0.1:{port} (log {workdir / 'serve.log'})")
    try:
        recorder = drive(port, people, args.duration, tuple(args.think))
    finally:
        stop_stack(stack)
    p95, errors = report(recorder)
    problems = check(recorder)
    for problem in problems:
        print(f"CHECK FAILED: {problem}")
    ok = not problems and errors == 0 and p95 < PAGE_P95_TARGET_MS
    print(
        f"\nresult: {'PASS' if ok else 'FAIL'} (errors {errors}, page p95 {p95:.1f} ms, target "
        f"< {PAGE_P95_TARGET_MS:.0f} ms, {len(problems)} failed checks)"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
