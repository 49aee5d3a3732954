"""Tests for campusmedia.masking (SECURITY.md, "Personal data", the masks)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from campusmedia.masking import mask_email, mask_id_number, mask_mobile

# --------------------------------------------------------------------------------------------
# The examples of SECURITY.md, exactly
# --------------------------------------------------------------------------------------------


def test_security_md_id_mask() -> None:
    assert mask_id_number("11010519491231002X") == "110***********002X"


def test_security_md_mobile_mask() -> None:
    assert mask_mobile("13800001234") == "138****1234"


def test_security_md_email_mask() -> None:
    assert mask_email("zhangsan@example.com") == "z***@example.com"


# --------------------------------------------------------------------------------------------
# ID number
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("11010519491231002x", "110***********002X"),
        (" 11010519491231002X ", "110***********002X"),
        ("440524188001010014", "440***********0014"),
    ],
)
def test_mask_id_number(value: str, expected: str) -> None:
    masked = mask_id_number(value)
    assert masked == expected
    assert len(masked) == 18
    assert masked.count("*") == 11


def test_mask_id_number_other_lengths_keep_first_3_and_last_4() -> None:
    assert mask_id_number("110105491231002") == "110********1002"  # old 15-digit number


@pytest.mark.parametrize("value", ["1234567", "123", "X"])
def test_mask_id_number_short_values_are_fully_starred(value: str) -> None:
    assert mask_id_number(value) == "*" * len(value)


# --------------------------------------------------------------------------------------------
# Mobile
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    ["13812341234", "+86 138 1234 1234", "0086-138-1234-1234", "+8613812341234", "138-1234-1234"],
)
def test_mask_mobile_normalises_first(value: str) -> None:
    assert mask_mobile(value) == "138****1234"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("138123412345", "138*******45"),  # 12 digits
        ("1381234123", "138*****23"),  # 10 digits
        ("0543-3162200-12", "054********12"),  # not a mobile: hyphens removed, 3 + 2 kept
        ("123456", "123*56"),
    ],
)
def test_mask_mobile_other_values_keep_first_3_and_last_2(value: str, expected: str) -> None:
    assert mask_mobile(value) == expected


@pytest.mark.parametrize("value", ["12345", "12"])
def test_mask_mobile_short_values_are_fully_starred(value: str) -> None:
    assert mask_mobile(value) == "*" * len(value)


# --------------------------------------------------------------------------------------------
# E-mail
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("zhangsan@example.com", "z***@example.com"),
        ("z@example.com", "z***@example.com"),
        (" Zhangsan@Example.COM ", "Z***@example.com"),
        ("xcb.news+wx@mail.sdu.edu.cn", "x***@mail.sdu.edu.cn"),
        ("a@b@example.com", "a***@example.com"),
        ("no-at-sign", "n***"),
    ],
)
def test_mask_email(value: str, expected: str) -> None:
    assert mask_email(value) == expected


# --------------------------------------------------------------------------------------------
# Empty input
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mask", [mask_id_number, mask_mobile, mask_email])
@pytest.mark.parametrize("value", [None, ""])
def test_empty_input_gives_empty_string(
    mask: Callable[[str | None], str], value: str | None
) -> None:
    assert mask(value) == ""
