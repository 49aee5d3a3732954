"""Session lifetime and forced password changes (SECURITY.md, Authentication)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from campusmedia.auditlog import audit_record
from campusmedia.cas import is_cas_session
from campusmedia.models.audit import AuditAction

SESSION_LOGIN_AT = "campusmedia_login_at"
SESSION_SEEN_AT = "campusmedia_seen_at"
# Write the "last seen" stamp at most this often: idle detection needs no write per request.
_SEEN_RESOLUTION = 30


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


class SessionTimeoutMiddleware:
    """End a session after the idle limit or the absolute limit, on the server."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = time.time()
            login_at = request.session.get(SESSION_LOGIN_AT, now)
            seen_at = request.session.get(SESSION_SEEN_AT, now)
            idle = now - seen_at > settings.CAMPUSMEDIA_SESSION_IDLE_SECONDS
            absolute = now - login_at > settings.SESSION_COOKIE_AGE
            if idle or absolute:
                audit_record(
                    action=AuditAction.SESSION_EXPIRED,
                    request=request,
                    detail={"reason": "idle" if idle else "absolute"},
                )
                logout(request)
                if _is_api(request):
                    return JsonResponse({"detail": _("会话已过期，请重新登录。")}, status=401)
                messages.info(request, _("会话已过期，请重新登录。"))
                return redirect(f"{reverse('login')}?next={request.path}")
            if SESSION_LOGIN_AT not in request.session:
                request.session[SESSION_LOGIN_AT] = now
            if now - seen_at >= _SEEN_RESOLUTION or SESSION_SEEN_AT not in request.session:
                request.session[SESSION_SEEN_AT] = now
        return self.get_response(request)


class PasswordChangeRequiredMiddleware:
    """A first login, an administrator's reset or an expired password leads to the change form.

    Not in a session opened through CAS: the local password was not used to open it.
    """

    ALLOWED = ("password_change", "logout", "login", "healthz")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable, view_args: Any, view_kwargs: Any
    ) -> HttpResponse | None:
        # request.resolver_match exists only from here on, not in __call__.
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and (user.must_change_password or user.password_expired())
            and getattr(request.resolver_match, "url_name", None) not in self.ALLOWED
            and not is_cas_session(request)
        ):
            if _is_api(request):
                return JsonResponse({"detail": _("请先在网页上修改密码。")}, status=403)
            return redirect("password_change")
        return None


class LanguageMiddleware:
    """Simplified Chinese unless the user picked another language (cookie from set_language).

    Unlike Django's LocaleMiddleware this ignores the browser's Accept-Language: an office
    computer set up in English still shows the Chinese interface the university works in.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        if language not in dict(settings.LANGUAGES):
            language = settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        return response
