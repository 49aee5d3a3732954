"""What the alliance's API viewsets share: errors, access, the base viewset."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.text import format_lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import (
    OpenApiResponse,
)
from rest_framework import exceptions, serializers, status, viewsets
from rest_framework.response import Response
from rest_framework.settings import api_settings

from alliance import services
from approvals.api import ErrorSerializer, _audit_denied
from campusmedia.api.pagination import CountPagination
from campusmedia.models import MediaAccount, User
from campusmedia.permissions import Access, get_access

T = TypeVar("T")


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("状态已变化，请刷新后再操作。")
    default_code = "conflict"


def _call(call: Callable[[], T]) -> T:
    """Run a service and turn its errors into API errors (400 by field, 403, 409 with the
    reason). ``AllianceConflict`` is a ``ValidationError``, so it is caught first."""
    try:
        return call()
    except services.AllianceConflict as error:
        raise Conflict(" ".join(error.messages)) from error
    except DjangoValidationError as error:
        if hasattr(error, "error_dict"):
            raise exceptions.ValidationError(error.message_dict) from error
        raise exceptions.ValidationError(
            {api_settings.NON_FIELD_ERRORS_KEY: error.messages}
        ) from error
    except PermissionDenied as error:  # keeps the service's reason, if it gave one
        raise exceptions.PermissionDenied(str(error) or None) from error


def _errors(label: Any, **messages: Any) -> dict[str, Any]:
    """DRF's input messages named after the field, as the services name theirs
    ("完成时限：请填写。"). ``{pk_value}`` and the like are left for DRF to fill in."""
    texts = {
        "required": _("请填写。"),
        "blank": _("请填写。"),
        "null": _("请填写。"),
        "invalid": _("格式不正确。"),
        "max_length": _("不能超过 {max_length} 个字符。"),
        **messages,
    }
    return {key: format_lazy("{}：{}", label, text) for key, text in texts.items()}


_ACCOUNT_ERRORS = {
    "does_not_exist": _("账号 {pk_value} 不存在或不在你的范围内。"),
    "incorrect_type": _("应为账号编号。"),
}
_DATETIME_ERRORS = {"invalid": _("时间格式不正确，应为 ISO 8601（如 2026-09-01T20:00:00+08:00）。")}


def _user_name(user: User | None) -> str:
    """The name the pages show for a user: their person's name, else the login name."""
    if user is None:
        return ""
    person = getattr(user, "person", None)
    return person.name if person is not None else user.get_username()


def _access(serializer: serializers.Field) -> Access:
    return get_access(serializer.context["request"])


def _not_found() -> Http404:
    return Http404(gettext("不存在或无权查看。"))


_ERRORS = {
    400: OpenApiResponse(description=_("输入有误：按字段给出中文说明")),
    403: OpenApiResponse(ErrorSerializer, description=_("无权执行该操作")),
    404: OpenApiResponse(ErrorSerializer, description=_("不存在或无权查看")),
    409: OpenApiResponse(ErrorSerializer, description=_("当前状态下不能执行，或已被他人处理")),
}


# --- Shared pieces ------------------------------------------------------------------------------


class AllianceAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = MediaAccount
        fields = ["id", "name"]


class AllianceUnitSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class _AllianceViewSet(viewsets.GenericViewSet):
    pagination_class = CountPagination

    def handle_exception(self, exc: Exception) -> Response:
        _audit_denied(self.request, exc)
        return super().handle_exception(exc)

    def _context(self) -> dict[str, Any]:
        return self.get_serializer_context()

    def _pk(self) -> int:
        """The id in the path; anything but a number is a row that does not exist."""
        try:
            return int(self.kwargs["pk"])
        except (TypeError, ValueError) as error:
            raise _not_found() from error
