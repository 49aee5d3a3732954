"""Password rules (SECURITY.md, Authentication), as Django password validators."""

from __future__ import annotations

import string
from typing import Any

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CLASSES = (
    ("lower", string.ascii_lowercase),
    ("upper", string.ascii_uppercase),
    ("digit", string.digits),
)


def _classes(password: str) -> int:
    found = {name for name, chars in CLASSES for ch in password if ch in chars}
    if any(not ch.isalnum() or not ch.isascii() for ch in password):
        found.add("symbol")
    return len(found)


class MinimumLengthValidator:
    """At least ``min_length`` characters. Django's own message has no zh-hans translation in
    Django 5.2 (its msgid changed), so the project says it itself."""

    def __init__(self, min_length: int = 8) -> None:
        self.min_length = min_length

    def validate(self, password: str, user: Any = None) -> None:
        if len(password) < self.min_length:
            raise ValidationError(
                _("密码：至少 %(n)d 个字符。") % {"n": self.min_length},
                code="password_too_short",
            )

    def get_help_text(self) -> str:
        return _("至少 %(n)d 个字符。") % {"n": self.min_length}


class CharacterClassValidator:
    """At least ``min_classes`` of: lower case, upper case, digits, other characters."""

    def __init__(self, min_classes: int = 3) -> None:
        self.min_classes = min_classes

    def validate(self, password: str, user: Any = None) -> None:
        if _classes(password) < self.min_classes:
            raise ValidationError(
                _("密码：须包含大写字母、小写字母、数字、符号中的至少 %(n)d 类。")
                % {"n": self.min_classes},
                code="password_classes",
            )

    def get_help_text(self) -> str:
        return _("包含大写字母、小写字母、数字、符号中的至少 %(n)d 类。") % {"n": self.min_classes}


class UsernameNotContainedValidator:
    """The password must not contain the username (case-insensitive)."""

    def validate(self, password: str, user: Any = None) -> None:
        username = (getattr(user, "username", "") or "").lower()
        if username and username in password.lower():
            raise ValidationError(_("密码：不能包含用户名。"), code="password_has_username")

    def get_help_text(self) -> str:
        return _("不能包含用户名。")


class PasswordHistoryValidator:
    """None of the last ``history`` passwords may be used again."""

    def __init__(self, history: int = 5) -> None:
        self.history = history

    def _recent(self, user: Any) -> list[str]:
        if user is None or user.pk is None:
            return []
        hashes = list(user.password_history.values_list("password", flat=True)[: self.history])
        if user.password and user.password not in hashes:
            hashes = [user.password, *hashes[: self.history - 1]]
        return hashes

    def validate(self, password: str, user: Any = None) -> None:
        if any(check_password(password, encoded) for encoded in self._recent(user)):
            raise ValidationError(
                _("密码：不能与最近 %(n)d 次使用过的密码相同。") % {"n": self.history},
                code="password_reused",
            )

    def password_changed(self, password: str, user: Any = None) -> None:
        if user is not None and user.pk is not None and user.password:
            user.password_history.create(password=user.password)
            stale = user.password_history.values_list("pk", flat=True)[self.history :]
            user.password_history.filter(pk__in=list(stale)).delete()

    def get_help_text(self) -> str:
        return _("不能与最近 %(n)d 次使用过的密码相同。") % {"n": self.history}
