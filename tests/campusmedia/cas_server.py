"""A small CAS server for the tests, on 127.0.0.1 in a thread of the test process.

It speaks just enough of the CAS protocol (2.0 and 3.0) for a real client to log in:

- ``/cas/login?service=…`` "logs in" whoever ``login_as`` named and redirects to the service with
  a fresh ``ticket=ST-…`` (a browser follows it like the real page's redirect after the form);
- ``/cas/p3/serviceValidate`` (3.0, with attributes) and ``/cas/serviceValidate`` (2.0) answer
  success for a ticket it issued, once, for the service it was issued for, failure otherwise;
- ``/cas/logout`` records the call and redirects to ``service`` (or ``url``) when given.

Every request is recorded in ``calls``, so a test can tell that a ticket really was validated here.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit
from xml.sax.saxutils import escape

CAS_NS = "http://www.yale.edu/tp/cas"


@dataclass
class Call:
    path: str
    params: dict[str, str]


@dataclass
class Identity:
    user: str
    attributes: dict[str, str] = field(default_factory=dict)


class FakeCAS:
    def __init__(self) -> None:
        self.identity: Identity | None = None
        self.tickets: dict[str, tuple[str, Identity]] = {}  # ticket → (service, identity)
        self.calls: list[Call] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The base URL, as CAS_SERVER_URL takes it."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/cas/"

    def start(self) -> FakeCAS:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def login_as(self, user: str, **attributes: str) -> None:
        """Who the next visit to /cas/login is, as if they had typed their campus password."""
        self.identity = Identity(user, dict(attributes))

    def calls_to(self, path: str) -> list[Call]:
        return [call for call in self.calls if call.path == f"/cas/{path}"]

    # --- protocol ----------------------------------------------------------------------------

    def _issue(self, service: str) -> str:
        assert self.identity is not None, "login_as() first"
        ticket = f"ST-{secrets.token_urlsafe(24)}"
        with self._lock:
            self.tickets[ticket] = (service, self.identity)
        return ticket

    def _validate(self, ticket: str, service: str, *, attributes: bool) -> str:
        with self._lock:
            issued = self.tickets.pop(ticket, None)  # a ticket validates once
        if issued is None or issued[0] != service:
            code = "INVALID_TICKET" if issued is None else "INVALID_SERVICE"
            return (
                f'<cas:serviceResponse xmlns:cas="{CAS_NS}">'
                f'<cas:authenticationFailure code="{code}">ticket {escape(ticket)} not recognized'
                "</cas:authenticationFailure></cas:serviceResponse>"
            )
        identity = issued[1]
        extra = ""
        if attributes and identity.attributes:
            extra = (
                "<cas:attributes>"
                + "".join(
                    f"<cas:{name}>{escape(value)}</cas:{name}>"
                    for name, value in identity.attributes.items()
                )
                + "</cas:attributes>"
            )
        return (
            f'<cas:serviceResponse xmlns:cas="{CAS_NS}"><cas:authenticationSuccess>'
            f"<cas:user>{escape(identity.user)}</cas:user>{extra}"
            "</cas:authenticationSuccess></cas:serviceResponse>"
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        cas = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # quiet
                pass

            def _send(self, status: int, body: str = "", **headers: str) -> None:
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", headers.pop("content_type", "text/plain"))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _redirect(self, url: str, **params: str) -> None:
                if params:
                    url += ("&" if "?" in url else "?") + urlencode(params)
                self._send(302, Location=url)

            def do_GET(self) -> None:
                split = urlsplit(self.path)
                params = {key: values[0] for key, values in parse_qs(split.query).items()}
                cas.calls.append(Call(split.path, params))
                if split.path == "/cas/login" and "service" in params:
                    self._redirect(params["service"], ticket=cas._issue(params["service"]))
                elif split.path in ("/cas/p3/serviceValidate", "/cas/serviceValidate"):
                    body = cas._validate(
                        params.get("ticket", ""),
                        params.get("service", ""),
                        attributes=split.path.startswith("/cas/p3/"),
                    )
                    self._send(200, body, content_type="application/xml; charset=utf-8")
                elif split.path == "/cas/logout":
                    back = params.get("service") or params.get("url")
                    if back:
                        self._redirect(back)
                    else:
                        self._send(200, "logged out")
                else:
                    self._send(404, "not found")

        return Handler
