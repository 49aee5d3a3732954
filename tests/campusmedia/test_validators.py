"""Tests for campusmedia.validators (SECURITY.md, "Input validation"). No database needed."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from campusmedia.validators import (
    EmailAddressValidator,
    IdNumberValidator,
    LandlineValidator,
    MobileValidator,
    UsccValidator,
    check_char_uscc,
    check_digit_id,
    id_number_warnings,
    normalize_id_number,
    normalize_mobile,
    validate_email_address,
    validate_id_number,
    validate_landline,
    validate_mobile,
    validate_uscc,
)

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def _chinese() -> Iterator[None]:
    # The project also ships an English catalogue; these tests are about the Chinese text.
    with translation.override("zh-hans"):
        yield


def error_of(func: Callable[..., str], value: str, field: str | None = None) -> ValidationError:
    with pytest.raises(ValidationError) as info:
        func(value, field=field)
    return info.value


def assert_rejected(func: Callable[..., str], value: str, code: str, field: str) -> str:
    """``value`` fails with ``code``; the one message is in Chinese and starts with ``field``."""
    error = error_of(func, value, field)
    assert error.code == code
    assert len(error.messages) == 1
    message = error.messages[0]
    assert message.startswith(f"{field}：")
    assert CJK.match(message.removeprefix(f"{field}："))
    return message


def with_check_digit(first17: str) -> str:
    return first17 + check_digit_id(first17)


# --------------------------------------------------------------------------------------------
# Resident ID number
# --------------------------------------------------------------------------------------------

ID_FIELD = "公民身份号码"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("11010519491231002X", "11010519491231002X"),
        ("440524188001010014", "440524188001010014"),
        ("11010519491231002x", "11010519491231002X"),
        ("  11010519491231002x\t", "11010519491231002X"),
    ],
)
def test_id_number_valid_examples(value: str, expected: str) -> None:
    assert validate_id_number(value) == expected
    assert validate_id_number(value, field=ID_FIELD) == expected
    IdNumberValidator()(value)  # does not raise


def test_normalize_id_number() -> None:
    assert normalize_id_number(" 11010519491231002x ") == "11010519491231002X"


def test_check_digit_id_known_values() -> None:
    assert check_digit_id("11010519491231002") == "X"
    assert check_digit_id("44052418800101001") == "4"


@pytest.mark.parametrize(
    "bad",
    [
        "1101051949123100",
        "110105194912310021",
        "1101051949123100A",
        "１１０１０５１９４９１２３１００２",
        "",
    ],
)
def test_check_digit_id_rejects_bad_input(bad: str) -> None:
    with pytest.raises(ValueError):
        check_digit_id(bad)


@pytest.mark.parametrize(
    "value",
    [
        "1101051949123100",  # 16 digits
        "11010519491231002X0",  # 19 characters
        "",
        "   ",
    ],
)
def test_id_number_wrong_length(value: str) -> None:
    assert_rejected(validate_id_number, value, "id_format", ID_FIELD)


@pytest.mark.parametrize(
    "value",
    [
        "110105194912A1002X",  # letter in the middle
        "X10105194912310024",  # letter at the start
        "010105194912310024",  # leading zero
        "1101051949123１002X",  # full-width digit
        "11010519491231002Y",  # check character other than X
    ],
)
def test_id_number_bad_characters(value: str) -> None:
    assert_rejected(validate_id_number, value, "id_format", ID_FIELD)


@pytest.mark.parametrize(
    ("func", "value"),
    [
        (validate_id_number, "110105194912A1002X"),
        (validate_id_number, "110105194912310021"),
        (validate_uscc, "91110000600037341M"),
        (validate_mobile, "12812345678"),
        (validate_landline, "0543-1162200"),
        (validate_email_address, "zhangsan@"),
    ],
)
def test_message_without_field_has_no_prefix(func: Callable[..., str], value: str) -> None:
    plain = error_of(func, value)
    labelled = error_of(func, value, "字段")
    assert plain.code == labelled.code
    assert labelled.messages == [f"字段：{plain.messages[0]}"]
    assert CJK.match(plain.messages[0])


@pytest.mark.parametrize(
    "value",
    [
        "110105194912310021",  # check digit
        "990105194912310023",  # province
        "110105194902300020",  # date
        "11010519491231002",  # length
    ],
)
def test_id_number_message_does_not_repeat_the_number(value: str) -> None:
    # Messages end up in logs and import reports; SECURITY.md forbids full ID numbers there.
    error = error_of(validate_id_number, value, ID_FIELD)
    assert error.code is not None
    assert error.code.startswith("id_")
    assert value not in error.messages[0]
    assert value[6:14] not in error.messages[0]


def test_id_number_bad_check_digit() -> None:
    message = assert_rejected(validate_id_number, "110105194912310021", "id_checksum", ID_FIELD)
    assert "校验码" in message


@pytest.mark.parametrize("birth", ["19490230", "19491301", "19490001", "19000229", "00000101"])
def test_id_number_impossible_birth_date(birth: str) -> None:
    value = with_check_digit(f"110105{birth}002")
    message = assert_rejected(validate_id_number, value, "id_date", ID_FIELD)
    assert "出生日期" in message


def test_id_number_feb_29_of_leap_year_is_valid() -> None:
    value = with_check_digit("11010520000229002")
    assert validate_id_number(value) == value


def _plus_one_year(day: datetime.date) -> datetime.date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def test_id_number_birth_date_in_future() -> None:
    future = _plus_one_year(timezone.localdate())
    value = with_check_digit(f"110105{future:%Y%m%d}002")
    message = assert_rejected(validate_id_number, value, "id_date", ID_FIELD)
    assert "晚于今天" in message


def test_id_number_born_today_is_valid_tomorrow_is_not() -> None:
    today = timezone.localdate()
    born_today = with_check_digit(f"110105{today:%Y%m%d}002")
    assert validate_id_number(born_today) == born_today
    tomorrow = today + datetime.timedelta(days=1)
    born_tomorrow = with_check_digit(f"110105{tomorrow:%Y%m%d}002")
    assert error_of(validate_id_number, born_tomorrow).code == "id_date"


@pytest.mark.parametrize("province", ["99", "10", "16", "20", "38", "47", "55", "66", "72", "83"])
def test_id_number_unknown_province(province: str) -> None:
    value = with_check_digit(f"{province}010519491231002")
    message = assert_rejected(validate_id_number, value, "id_province", ID_FIELD)
    assert province in message


@pytest.mark.parametrize(
    "province",
    ["11", "15", "21", "23", "31", "37", "41", "46", "50", "54", "61", "65", "71", "81", "82"],
)
def test_id_number_known_provinces(province: str) -> None:
    value = with_check_digit(f"{province}010519491231002")
    assert validate_id_number(value) == value


def test_id_number_warnings_for_district_00() -> None:
    value = with_check_digit("11000019491231002")
    assert validate_id_number(value) == value  # a warning, not an error
    warnings = id_number_warnings(value)
    assert len(warnings) == 1
    assert CJK.search(warnings[0])
    assert id_number_warnings(value, field=ID_FIELD)[0].startswith(f"{ID_FIELD}：")


@pytest.mark.parametrize("value", ["11010519491231002X", "440524188001010014", "bad", ""])
def test_id_number_no_warnings(value: str) -> None:
    assert id_number_warnings(value) == []


def test_id_number_validator_class() -> None:
    validator = IdNumberValidator(field=ID_FIELD)
    validator("11010519491231002X")  # does not raise
    with pytest.raises(ValidationError) as info:
        validator("110105194912310021")
    assert info.value.code == "id_checksum"
    assert info.value.messages[0].startswith(f"{ID_FIELD}：")
    path, args, kwargs = validator.deconstruct()
    assert path == "campusmedia.validators.IdNumberValidator"
    assert (args, kwargs) == ((), {"field": ID_FIELD})
    assert validator == IdNumberValidator(field=ID_FIELD)
    assert validator != IdNumberValidator()
    assert validator != UsccValidator(field=ID_FIELD)


# --------------------------------------------------------------------------------------------
# Unified social credit code
# --------------------------------------------------------------------------------------------

USCC_FIELD = "统一社会信用代码"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("91110000600037341L", "91110000600037341L"),
        ("91350100M000100Y43", "91350100M000100Y43"),
        (" 91350100m000100y43 ", "91350100M000100Y43"),
    ],
)
def test_uscc_valid_examples(value: str, expected: str) -> None:
    assert validate_uscc(value) == expected
    assert validate_uscc(value, field=USCC_FIELD) == expected
    UsccValidator()(value)  # does not raise


def test_check_char_uscc_known_values() -> None:
    assert check_char_uscc("91110000600037341") == "L"
    assert check_char_uscc("91350100M000100Y4") == "3"
    assert check_char_uscc("91350100m000100y4") == "3"
    with pytest.raises(ValueError):
        check_char_uscc("91350100M000100I4")
    with pytest.raises(ValueError):
        check_char_uscc("9135")


def _reference_uscc_check(body: str) -> str:
    # The GB 32100-2015 formula exactly as SECURITY.md states it.
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
    total = sum(charset.index(c) * w for c, w in zip(body, weights, strict=True))
    return charset[(31 - total % 31) % 31]


def test_check_char_uscc_matches_formula_for_every_check_char() -> None:
    charset = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    seen = set()
    for a in charset:
        for b in charset:
            body = f"91{a}{b}0000600037341"
            expected = _reference_uscc_check(body)
            assert check_char_uscc(body) == expected
            assert validate_uscc(body + expected) == body + expected
            seen.add(expected)
    assert seen == set(charset)  # including "0" and "Y", the edge cases of the modulo


def _reference_id_check(body: str) -> str:
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    return "10X98765432"[sum(int(c) * w for c, w in zip(body, weights, strict=True)) % 11]


def test_check_digit_id_matches_formula_for_every_check_char() -> None:
    seen = set()
    for serial in range(1000):
        body = f"11010519491231{serial:03d}"
        assert check_digit_id(body) == _reference_id_check(body)
        seen.add(check_digit_id(body))
    assert seen == set("10X98765432")


def test_uscc_bad_check_char() -> None:
    message = assert_rejected(validate_uscc, "91110000600037341M", "uscc_checksum", USCC_FIELD)
    assert "校验码" in message


@pytest.mark.parametrize("letter", ["I", "O", "Z", "S", "V"])
def test_uscc_forbidden_letters(letter: str) -> None:
    value = f"91350100M000100{letter}43"
    message = assert_rejected(validate_uscc, value, "uscc_format", USCC_FIELD)
    assert "I、O、Z、S、V" in message


@pytest.mark.parametrize("value", ["91110000600037341", "91110000600037341L0", "", "9"])
def test_uscc_wrong_length(value: str) -> None:
    assert_rejected(validate_uscc, value, "uscc_format", USCC_FIELD)


def test_uscc_validator_class() -> None:
    with pytest.raises(ValidationError) as info:
        UsccValidator()("91110000600037341M")
    assert info.value.code == "uscc_checksum"


# --------------------------------------------------------------------------------------------
# Mobile
# --------------------------------------------------------------------------------------------

MOBILE_FIELD = "手机号码"


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        "+8613812345678",
        "008613812345678",
        "+86 138 1234 5678",
        "0086-138-1234-5678",
        "138-1234-5678",
        " 138 1234 5678 ",
        "+86-13812345678",
    ],
)
def test_mobile_valid_and_normalised(value: str) -> None:
    assert normalize_mobile(value) == "13812345678"
    assert validate_mobile(value) == "13812345678"
    assert validate_mobile(value, field=MOBILE_FIELD) == "13812345678"
    MobileValidator()(value)  # does not raise


@pytest.mark.parametrize("prefix", ["13", "14", "15", "16", "17", "18", "19"])
def test_mobile_all_prefixes(prefix: str) -> None:
    assert validate_mobile(f"{prefix}912345678") == f"{prefix}912345678"


@pytest.mark.parametrize(
    "value",
    [
        "138123456789",  # 12 digits
        "1381234567",  # 10 digits
        "12812345678",  # starts with 12
        "10812345678",  # starts with 10
        "23812345678",
        "8613812345678",  # bare 86 without + or 00
        "1381234567a",
        "１３８１２３４５６７８",  # full-width digits
        "",
    ],
)
def test_mobile_invalid(value: str) -> None:
    assert_rejected(validate_mobile, value, "mobile", MOBILE_FIELD)


def test_mobile_message_exact() -> None:
    error = error_of(validate_mobile, "12812345678", MOBILE_FIELD)
    assert error.messages == ["手机号码：应为 11 位中国大陆手机号，以 13–19 开头。"]
    error = error_of(validate_mobile, "12812345678")
    assert error.messages == ["应为 11 位中国大陆手机号，以 13–19 开头。"]


# --------------------------------------------------------------------------------------------
# Landline
# --------------------------------------------------------------------------------------------

LANDLINE_FIELD = "办公电话"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0543-3162200", "0543-3162200"),
        ("05433162200", "05433162200"),
        ("010-62345678-123", "010-62345678-123"),
        ("010-62345678", "010-62345678"),
        ("01062345678-1", "01062345678-1"),
        (" 0543-3162200 ", "0543-3162200"),
    ],
)
def test_landline_valid(value: str, expected: str) -> None:
    assert validate_landline(value) == expected
    assert validate_landline(value, field=LANDLINE_FIELD) == expected
    LandlineValidator()(value)  # does not raise


@pytest.mark.parametrize(
    "value",
    [
        "0543-1162200",  # number starts with 1
        "010-12345678-123",  # number starts with 1 (SECURITY.md regex: [2-9])
        "0543-0162200",  # number starts with 0
        "543-3162200",  # area code without 0
        "0543-316220",  # 6-digit number
        "010-123456789",  # 9-digit number
        "010-12345678-1234567",  # 7-digit extension
        "0543-3162200-",
        "",
    ],
)
def test_landline_invalid(value: str) -> None:
    assert_rejected(validate_landline, value, "landline", LANDLINE_FIELD)


# --------------------------------------------------------------------------------------------
# E-mail
# --------------------------------------------------------------------------------------------

EMAIL_FIELD = "电子邮箱"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("zhangsan@example.com", "zhangsan@example.com"),
        ("  ZhangSan@Example.EDU.CN ", "ZhangSan@example.edu.cn"),
        ("xcb.news+wx@mail.sdu.edu.cn", "xcb.news+wx@mail.sdu.edu.cn"),
    ],
)
def test_email_valid(value: str, expected: str) -> None:
    assert validate_email_address(value) == expected
    assert validate_email_address(value, field=EMAIL_FIELD) == expected
    EmailAddressValidator()(value)  # does not raise


@pytest.mark.parametrize(
    "value",
    ["zhangsan", "zhangsan@", "@example.com", "zhang san@example.com", "a@b@example.com", ""],
)
def test_email_invalid(value: str) -> None:
    message = assert_rejected(validate_email_address, value, "email", EMAIL_FIELD)
    assert "邮箱" in message.removeprefix(f"{EMAIL_FIELD}：")
