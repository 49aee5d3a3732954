from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A login. What a user may see comes from the roles of the person linked to it."""

    must_change_password = models.BooleanField(
        _("下次登录须修改密码"),
        default=True,
        help_text=_("新建账号和管理员重置的密码在首次登录时必须修改。"),
    )
    password_changed_at = models.DateTimeField(_("密码修改时间"), null=True, blank=True)

    class Meta:
        swappable = "AUTH_USER_MODEL"
        verbose_name = _("登录账号")
        verbose_name_plural = _("登录账号")

    def __str__(self) -> str:
        return self.username

    def set_password(self, raw_password: str | None) -> None:
        super().set_password(raw_password)
        self.password_changed_at = timezone.now()

    def password_expired(self) -> bool:
        max_age = settings.CAMPUSMEDIA_PASSWORD_MAX_AGE_DAYS
        if not max_age or self.password_changed_at is None:
            return False
        return timezone.now() - self.password_changed_at > timedelta(days=max_age)


class PasswordHistory(models.Model):
    """Hashes of a user's recent passwords, so none of the last few is reused."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="password_history")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("历史密码")
        verbose_name_plural = _("历史密码")

    def __str__(self) -> str:
        return f"{self.user} @ {self.created_at:%Y-%m-%d}"
