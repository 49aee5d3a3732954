from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


class ExpiringTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``; a token lives as long as a session may."""

    def authenticate_credentials(self, key: str) -> tuple[Any, Any]:
        user, token = super().authenticate_credentials(key)
        lifetime = timedelta(seconds=settings.CAMPUSMEDIA_API_TOKEN_SECONDS)
        changed = user.password_changed_at
        if token.created < timezone.now() - lifetime or (changed and token.created < changed):
            token.delete()
            raise exceptions.AuthenticationFailed(_("令牌已过期，请重新获取。"))
        if user.must_change_password or user.password_expired():
            raise exceptions.AuthenticationFailed(_("请先在网页上修改密码。"))
        return user, token
