"""Single sign-on through the campus CAS (统一身份认证; SECURITY.md, Authentication).

Off unless ``CAS_SERVER_URL`` is set (``CAMPUSMEDIA_CAS_SERVER_URL``); every switch here is read at
request time. A CAS login never creates a user: the staff number the CAS server vouches for (its
username, or the attribute named by ``CAMPUSMEDIA_CAS_STAFF_ATTRIBUTE``) must be the ``staff_no``
of a registered person whose login is active. What follows is the same as after a local login:
access from the person's current roles, the idle and absolute session limits, the audit trail. Only
the forced change of the local password is skipped (campusmedia.middleware): the campus account
holds the password that was just used.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode
from xml.etree.ElementTree import ParseError

import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import BACKEND_SESSION_KEY, logout
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views import View
from django_cas_ng import backends as cas_backends
from django_cas_ng import views as cas_views
from django_cas_ng.models import SessionTicket
from django_cas_ng.utils import get_cas_client

from campusmedia.auditlog import audit_record
from campusmedia.models import Person
from campusmedia.models.audit import AuditAction, AuditOutcome

# The path Django keeps in the session of a user this backend logged in.
CAS_BACKEND = "campusmedia.cas.CASBackend"

# Why a CAS login was refused: the code goes to the audit row, the message to the login page.
MSG_UNKNOWN = gettext_noop(
    "统一身份认证账号（工号 %(staff_no)s）未在本系统登记，请联系党委宣传部。"
)
MSG_INACTIVE = gettext_noop(
    "统一身份认证账号（工号 %(staff_no)s）在本系统的登录账号已停用，请联系党委宣传部。"
)
MSG_NO_STAFF_NO = gettext_noop("统一身份认证没有提供工号，无法登录本系统，请联系党委宣传部。")
MSG_INVALID_TICKET = gettext_noop("统一身份认证未通过：登录凭据无效或已使用，请重新登录。")
MSG_UNREACHABLE = gettext_noop("暂时无法连接统一身份认证服务，请稍后再试，或使用本系统账号登录。")
REFUSALS = {
    "unknown": MSG_UNKNOWN,
    "inactive": MSG_INACTIVE,
    "no_staff_no": MSG_NO_STAFF_NO,
    "invalid_ticket": MSG_INVALID_TICKET,
    "unreachable": MSG_UNREACHABLE,
}
# The backend leaves the message for the login view on the request under this name.
_REFUSAL_ATTR = "campusmedia_cas_refusal"


def cas_enabled() -> bool:
    return bool(getattr(settings, "CAS_SERVER_URL", None))


def is_cas_session(request: HttpRequest) -> bool:
    """Whether the current session was opened through CAS (not through the local form)."""
    session = getattr(request, "session", None)
    return session is not None and session.get(BACKEND_SESSION_KEY) == CAS_BACKEND


class _TimeoutSession(requests.Session):
    """python-cas calls the CAS server without a timeout; a hung server must not hang a worker."""

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", settings.CAMPUSMEDIA_CAS_TIMEOUT)
        return super().request(*args, **kwargs)


def _staff_number(cas_user: str, attributes: dict[str, Any] | None) -> str:
    name = settings.CAMPUSMEDIA_CAS_STAFF_ATTRIBUTE
    value: Any = cas_user if not name else (attributes or {}).get(name)
    if isinstance(value, list):  # a repeated attribute
        value = value[0] if value else None
    return str(value or "").strip()


def _refuse(request: HttpRequest, reason: str, staff_no: str = "") -> None:
    """Audit a refused CAS login (the staff number, never the ticket) and say why on the page."""
    audit_record(
        action=AuditAction.LOGIN_FAILED,
        request=request,
        outcome=AuditOutcome.FAILURE,
        actor_name=staff_no[:150],
        detail={"via": "cas", "reason": reason},
    )
    setattr(request, _REFUSAL_ATTR, _(REFUSALS[reason]) % {"staff_no": staff_no})
    return None


class CASBackend(cas_backends.CASBackend):
    """Validates a service ticket with the CAS server and finds the person by staff number.

    Unlike django-cas-ng's backend it never creates or changes a user, and it looks the user up
    through ``Person.staff_no`` rather than by username. Username/password credentials do not fit
    its signature, so Django passes them by; it answers None while CAS is off.
    """

    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, ticket: str, service: str
    ) -> Any:
        if request is None or not cas_enabled() or not ticket:
            return None
        client = get_cas_client(service_url=service, request=request)
        client.session = _TimeoutSession()
        try:
            with client.session:
                cas_user, attributes, _pgtiou = client.verify_ticket(ticket)
        except requests.RequestException:
            return _refuse(request, "unreachable")
        except (ParseError, IndexError, AttributeError, ValueError):
            # Not a CAS answer at all (a proxy's error page, a truncated body).
            return _refuse(request, "invalid_ticket")
        if not cas_user:
            return _refuse(request, "invalid_ticket")
        staff_no = _staff_number(cas_user, attributes)
        if not staff_no:
            return _refuse(request, "no_staff_no", str(cas_user))
        person = Person.objects.select_related("user").filter(staff_no=staff_no).first()
        user = person.user if person is not None else None
        if user is None:
            return _refuse(request, "unknown", staff_no)
        if not self.user_can_authenticate(user):
            return _refuse(request, "inactive", staff_no)
        return user


def _safe_next(request: HttpRequest) -> str:
    """``next`` when it stays on this site, else "": no open redirect through the round trip."""
    candidate = request.GET.get("next", "")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


class CASLoginView(cas_views.LoginView):
    """Sends the visitor to the CAS server, and takes the ticket it sends back (the service URL).

    django-cas-ng reads ``next`` from the query string unchecked when ``CAS_LOGIN_NEXT_PAGE`` is
    unset, so an off-site ``next`` is dropped here before it gets the chance. The service URL is
    rebuilt from the same cleaned query on the way back, so the ticket validates against it.
    """

    http_method_names = ["get"]  # no single-logout POSTs from the CAS server (not supported)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not cas_enabled():
            raise Http404
        return super().dispatch(request, *args, **kwargs)

    def get(self, request: HttpRequest) -> HttpResponse:
        query = request.GET.copy()
        query.pop("next", None)
        next_page = _safe_next(request)
        if next_page:
            query["next"] = next_page
        query._mutable = False
        request.GET = query  # type: ignore[assignment]  # django-cas-ng reads it from here
        try:
            return super().get(request)
        except PermissionDenied:
            # The ticket did not give a login: back to the login page, with the reason.
            messages.error(request, getattr(request, _REFUSAL_ATTR, _(MSG_INVALID_TICKET)))
            login_url = reverse("login")
            if next_page:
                login_url += "?" + urlencode({"next": next_page})
            return HttpResponseRedirect(login_url)


def logout_to_cas(request: HttpRequest) -> HttpResponse:
    """End the session here (audited by the logout signal), then at the CAS server, which is
    asked to send the browser back to our login page."""
    session_key = request.session.session_key
    if session_key:
        SessionTicket.objects.filter(session_key=session_key).delete()
    logout(request)
    back = request.build_absolute_uri(reverse("login"))
    return HttpResponseRedirect(get_cas_client(request=request).get_logout_url(back))


class CASLogoutView(View):
    http_method_names = ["post"]  # a state change: POST with the CSRF token, like local logout

    def post(self, request: HttpRequest) -> HttpResponse:
        if not cas_enabled():
            raise Http404
        return logout_to_cas(request)


cas_login = login_not_required(CASLoginView.as_view())
cas_logout = login_not_required(CASLogoutView.as_view())


class CASLogoutMiddleware:
    """The header's logout button (the local logout URL) also ends the CAS session when the
    session came through CAS; otherwise the next click on 统一身份认证登录 would log straight
    back in. The CSRF check has already run (CsrfViewMiddleware comes earlier)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        if (
            request.method == "POST"
            and getattr(request.resolver_match, "url_name", None) == "logout"
            and cas_enabled()
            and is_cas_session(request)
        ):
            return logout_to_cas(request)
        return None
