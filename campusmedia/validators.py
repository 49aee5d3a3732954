"""Normalisers and validators for Chinese identifiers and contact data.

Implements the "Input validation" section of SECURITY.md; forms, the API and imports all use
these functions so that one value is accepted or rejected the same way everywhere.

* Resident ID number (公民身份号码, GB 11643-1999).
* Unified social credit code (统一社会信用代码, GB 32100-2015).
* Mainland mobile numbers, landlines and e-mail addresses.

Every ``validate_*`` function returns the normalised value or raises
:class:`django.core.exceptions.ValidationError` with a ``code`` and a Simplified Chinese message.
With ``field="手机号码"`` the message reads ``"手机号码：应为 11 位……"``; without it the message has
no prefix. Messages never repeat the submitted value, so they are safe to log or export.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator
from django.utils import timezone
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext as _

__all__ = [
    "ID_CHECK_CHARS",
    "ID_PROVINCE_CODES",
    "ID_WEIGHTS",
    "USCC_CHARSET",
    "USCC_WEIGHTS",
    "EmailAddressValidator",
    "IdNumberValidator",
    "LandlineValidator",
    "MobileValidator",
    "UsccValidator",
    "check_char_uscc",
    "check_digit_id",
    "id_number_warnings",
    "normalize_email_address",
    "normalize_id_number",
    "normalize_landline",
    "normalize_mobile",
    "normalize_uscc",
    "validate_email_address",
    "validate_id_number",
    "validate_landline",
    "validate_mobile",
    "validate_uscc",
]

# --------------------------------------------------------------------------------------------
# Constants
# --------------------------------------------------------------------------------------------

#: GB 11643-1999 weights for the first 17 digits.
ID_WEIGHTS: tuple[int, ...] = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
#: Check character indexed by ``weighted sum mod 11``.
ID_CHECK_CHARS = "10X98765432"
#: Province-level codes of GB/T 2260 (first two digits of a resident ID number).
ID_PROVINCE_CODES: frozenset[str] = frozenset(
    {
        "11", "12", "13", "14", "15",
        "21", "22", "23",
        "31", "32", "33", "34", "35", "36", "37",
        "41", "42", "43", "44", "45", "46",
        "50", "51", "52", "53", "54",
        "61", "62", "63", "64", "65",
        "71", "81", "82",
    }
)  # fmt: skip

#: GB 32100-2015 character set; a character's value is its index (no I, O, Z, S, V).
USCC_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
#: GB 32100-2015 weights for the first 17 characters.
USCC_WEIGHTS: tuple[int, ...] = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# re.ASCII: ``\d`` must not accept full-width or other non-ASCII digits. ``fullmatch`` is used
# everywhere so a trailing newline is never accepted (``$`` would allow one).
_ID_RE = re.compile(r"[1-9]\d{5}\d{8}\d{3}[\dX]", re.ASCII)
_ID_BODY_RE = re.compile(r"\d{17}", re.ASCII)
_USCC_RE = re.compile(rf"[{USCC_CHARSET}]{{18}}")
_USCC_BODY_RE = re.compile(rf"[{USCC_CHARSET}]{{17}}")
_MOBILE_RE = re.compile(r"1[3-9]\d{9}", re.ASCII)
_LANDLINE_RE = re.compile(r"0\d{2,3}-?[2-9]\d{6,7}(-\d{1,6})?", re.ASCII)
# Whitespace of any kind (including the ideographic space U+3000) and hyphen-like characters.
_MOBILE_SEPARATORS_RE = re.compile(r"[\s\-\u2010-\u2015\u2212\uff0d]+")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _as_text(value: object) -> str:
    """``None`` becomes ``""``; anything else (e.g. a number from a spreadsheet) its ``str``."""
    return "" if value is None else str(value)


def _error(
    message: str,
    code: str,
    field: str | None,
    params: dict[str, Any] | None = None,
) -> ValidationError:
    """Build a ValidationError; ``message`` is an already translated template.

    With a field label the message becomes ``"<field>：<detail>"``.
    """
    if not field:
        return ValidationError(message, code=code, params=params or None)
    detail = message % params if params else message
    return ValidationError(
        _("%(field)s：%(detail)s"),
        code=code,
        params={**(params or {}), "field": field, "detail": detail},
    )


def _today() -> datetime.date:
    """Today's date in the project's time zone (also correct when ``USE_TZ`` is off)."""
    now = timezone.now()
    return timezone.localdate(now) if timezone.is_aware(now) else now.date()


# --------------------------------------------------------------------------------------------
# Resident ID number (GB 11643-1999)
# --------------------------------------------------------------------------------------------


def normalize_id_number(value: str) -> str:
    """Trim surrounding whitespace and upper-case a trailing ``x``."""
    return _as_text(value).strip().upper()


def check_digit_id(first17: str) -> str:
    """Return the GB 11643-1999 check character for the first 17 digits of an ID number.

    Raises :class:`ValueError` unless ``first17`` is exactly 17 ASCII digits.
    """
    if not isinstance(first17, str) or not _ID_BODY_RE.fullmatch(first17):
        raise ValueError("check_digit_id() needs exactly 17 ASCII digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def validate_id_number(value: str, *, field: str | None = None) -> str:
    """Validate a resident ID number and return it normalised.

    Checks, in order: length and characters, province code (GB/T 2260), birth date (a real date,
    not after today), check character.
    """
    number = normalize_id_number(value)
    if not number:
        raise _error(_("不能为空，请填写 18 位公民身份号码。"), "id_format", field)
    if len(number) != 18:
        raise _error(
            _("应为 18 位公民身份号码，当前为 %(length)d 位。"),
            "id_format",
            field,
            {"length": len(number)},
        )
    if not _ID_RE.fullmatch(number):
        raise _error(
            _("格式不正确：应为 18 位，前 17 位为数字（首位不能为 0），最后一位为数字或 X。"),
            "id_format",
            field,
        )
    if number[:2] not in ID_PROVINCE_CODES:
        raise _error(
            _("前两位省级行政区划代码 %(province)s 不存在，请核对。"),
            "id_province",
            field,
            {"province": number[:2]},
        )
    try:
        birth = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise _error(_("第 7–14 位的出生日期不是有效日期，请核对。"), "id_date", field) from None
    if birth > _today():
        raise _error(_("第 7–14 位的出生日期晚于今天，请核对。"), "id_date", field)
    if check_digit_id(number[:17]) != number[17]:
        raise _error(_("校验码（最后一位）不正确，请逐位核对号码。"), "id_checksum", field)
    return number


def id_number_warnings(value: str, *, field: str | None = None) -> list[str]:
    """Warnings (not errors) for a resident ID number.

    Returns a Chinese warning when digits 3–4 (the prefecture part of the district code) are
    ``00``; otherwise ``[]``. Values that fail the basic format get no warning here:
    :func:`validate_id_number` reports those.
    """
    number = normalize_id_number(value)
    if not _ID_RE.fullmatch(number):
        return []
    warnings: list[str] = []
    if number[2:4] == "00":
        message = _("第 3–4 位地市代码为 00，不是已知的地区代码，请核对。")
        warnings.append(
            _("%(field)s：%(detail)s") % {"field": field, "detail": message} if field else message
        )
    return warnings


# --------------------------------------------------------------------------------------------
# Unified social credit code (GB 32100-2015)
# --------------------------------------------------------------------------------------------


def normalize_uscc(value: str) -> str:
    """Trim surrounding whitespace and upper-case."""
    return _as_text(value).strip().upper()


def check_char_uscc(first17: str) -> str:
    """Return the GB 32100-2015 check character for the first 17 characters of a code.

    Lower-case letters are accepted. Raises :class:`ValueError` for anything that is not 17
    characters from :data:`USCC_CHARSET`.
    """
    if not isinstance(first17, str):
        raise ValueError("check_char_uscc() needs a string")
    body = first17.upper()
    if not _USCC_BODY_RE.fullmatch(body):
        raise ValueError("check_char_uscc() needs exactly 17 characters from USCC_CHARSET")
    total = sum(
        USCC_CHARSET.index(char) * weight for char, weight in zip(body, USCC_WEIGHTS, strict=True)
    )
    return USCC_CHARSET[(31 - total % 31) % 31]


def validate_uscc(value: str, *, field: str | None = None) -> str:
    """Validate a unified social credit code and return it normalised."""
    code = normalize_uscc(value)
    if not code:
        raise _error(_("不能为空，请填写 18 位统一社会信用代码。"), "uscc_format", field)
    if len(code) != 18:
        raise _error(
            _("应为 18 位统一社会信用代码，当前为 %(length)d 位。"),
            "uscc_format",
            field,
            {"length": len(code)},
        )
    if not _USCC_RE.fullmatch(code):
        raise _error(
            _("格式不正确：只能包含数字和大写字母，且不含 I、O、Z、S、V。"),
            "uscc_format",
            field,
        )
    if check_char_uscc(code[:17]) != code[17]:
        raise _error(_("校验码（最后一位）不正确，请逐位核对代码。"), "uscc_checksum", field)
    return code


# --------------------------------------------------------------------------------------------
# Mobile, landline, e-mail
# --------------------------------------------------------------------------------------------


def normalize_mobile(value: str) -> str:
    """Remove spaces and hyphens, then a ``+86`` or ``0086`` country prefix."""
    number = _MOBILE_SEPARATORS_RE.sub("", _as_text(value))
    for prefix in ("+86", "0086"):
        if number.startswith(prefix):
            return number[len(prefix) :]
    return number


def validate_mobile(value: str, *, field: str | None = None) -> str:
    """Validate a mainland China mobile number and return it normalised (11 digits)."""
    number = normalize_mobile(value)
    if not _MOBILE_RE.fullmatch(number):
        raise _error(_("应为 11 位中国大陆手机号，以 13–19 开头。"), "mobile", field)
    return number


def normalize_landline(value: str) -> str:
    """Trim surrounding whitespace."""
    return _as_text(value).strip()


def validate_landline(value: str, *, field: str | None = None) -> str:
    """Validate a landline (area code, number, optional extension) and return it trimmed."""
    number = normalize_landline(value)
    if not _LANDLINE_RE.fullmatch(number):
        raise _error(
            _(
                "应为固定电话号码：区号以 0 开头，号码 7–8 位且不以 0 或 1 开头，"
                "分机号可选，如 0543-3162200 或 010-12345678-123。"
            ),
            "landline",
            field,
        )
    return number


def normalize_email_address(value: str) -> str:
    """Trim surrounding whitespace and lower-case the domain (the local part is kept)."""
    address = _as_text(value).strip()
    local, at, domain = address.rpartition("@")
    return f"{local}{at}{domain.lower()}" if at else address


_email_validator = EmailValidator()


def validate_email_address(value: str, *, field: str | None = None) -> str:
    """Validate an e-mail address with Django's rules and return it normalised."""
    address = normalize_email_address(value)
    try:
        _email_validator(address)
    except ValidationError:
        raise _error(_("应为有效的电子邮箱地址，如 name@example.com。"), "email", field) from None
    return address


# --------------------------------------------------------------------------------------------
# Validator classes for model and form fields: ``validators=[MobileValidator()]``
# --------------------------------------------------------------------------------------------


class _BaseValidator:
    """Calls a ``validate_*`` function; raises ValidationError, returns ``None``."""

    def __init__(self, field: str | None = None) -> None:
        self.field = field

    if TYPE_CHECKING:  # added at runtime by @deconstructible on each subclass

        def deconstruct(self) -> tuple[str, Sequence[Any], dict[str, Any]]: ...

    def _validate(self, value: str, field: str | None) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, value: str) -> None:
        self._validate(value, self.field)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _BaseValidator) or type(self) is not type(other):
            return NotImplemented
        return self.field == other.field

    def __hash__(self) -> int:
        return hash((type(self), self.field))

    def __repr__(self) -> str:
        return f"{type(self).__name__}(field={self.field!r})"


@deconstructible(path="campusmedia.validators.IdNumberValidator")
class IdNumberValidator(_BaseValidator):
    """Resident ID number (GB 11643-1999)."""

    def _validate(self, value: str, field: str | None) -> str:
        return validate_id_number(value, field=field)


@deconstructible(path="campusmedia.validators.UsccValidator")
class UsccValidator(_BaseValidator):
    """Unified social credit code (GB 32100-2015)."""

    def _validate(self, value: str, field: str | None) -> str:
        return validate_uscc(value, field=field)


@deconstructible(path="campusmedia.validators.MobileValidator")
class MobileValidator(_BaseValidator):
    """Mainland China mobile number."""

    def _validate(self, value: str, field: str | None) -> str:
        return validate_mobile(value, field=field)


@deconstructible(path="campusmedia.validators.LandlineValidator")
class LandlineValidator(_BaseValidator):
    """Landline with area code and optional extension."""

    def _validate(self, value: str, field: str | None) -> str:
        return validate_landline(value, field=field)


@deconstructible(path="campusmedia.validators.EmailAddressValidator")
class EmailAddressValidator(_BaseValidator):
    """E-mail address with a Chinese message."""

    def _validate(self, value: str, field: str | None) -> str:
        return validate_email_address(value, field=field)
