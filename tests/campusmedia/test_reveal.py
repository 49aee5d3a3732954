"""Personal data (SECURITY.md): masked everywhere, revealed in full only with the right and a
reason, logged without the value, never cached, encrypted at rest, unique by keyed HMAC."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test import Client
from django.urls import reverse

from campusmedia import services
from campusmedia.models import AuditEvent, Person
from campusmedia.models.audit import AuditAction
from tests.conftest import ID_NUMBER, MODEL_BACKEND, World

MOBILE = "13800001234"
EMAIL = "zhangsan@example.com"
MASKED = {"id_number": "110***********002X", "mobile": "138****1234", "email": "z***@example.com"}
PLAIN = {"id_number": ID_NUMBER, "mobile": MOBILE, "email": EMAIL}
REASON = "报送市网信办备案材料"


@pytest.fixture
def person(world: World) -> Person:
    """College A's head, with ID number, mobile and e-mail on file."""
    return services.person_update(
        person=world.people["head_a"], actor=None, mobile=MOBILE, email=EMAIL
    )


def _reveal(client: Client, person: Person, data: dict[str, str], **extra):
    return client.post(reverse("person_reveal", args=[person.pk]), data, **extra)


def _reveals():
    return AuditEvent.objects.filter(action=AuditAction.REVEAL)


# --- Masks on the page ------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["propaganda", "sec_a", "auditor"])
def test_person_page_shows_masks_only(world: World, client_for, person: Person, persona: str):
    response = client_for(world.users[persona]).get(reverse("person_detail", args=[person.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    for name in PLAIN:
        assert MASKED[name] in html, name
        assert PLAIN[name] not in html, name
    assert "no-store" in response["Cache-Control"]


def test_account_page_shows_masked_contact_data(world: World, client_for) -> None:
    admin = world.admins["a"]
    response = client_for(world.users["sec_a"]).get(
        reverse("account_detail", args=[world.accounts["a"].pk])
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert admin.mobile_masked in html
    assert admin.mobile not in html
    assert admin.email not in html


def test_account_page_with_contact_data_is_not_cached(world: World, client_for) -> None:
    """The team table carries names, office phones, WeChat ids and masked mobiles: personal data,
    so the page must not stay in a shared or browser cache (SECURITY.md, Personal data)."""
    response = client_for(world.users["sec_a"]).get(
        reverse("account_detail", args=[world.accounts["a"].pk])
    )
    assert response.status_code == 200
    assert world.admins["a"].name in response.content.decode()
    assert "no-store" in response.get("Cache-Control", "")


# --- Reveal ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"field": "id_number"},
        {"field": "id_number", "reason": ""},
        {"field": "id_number", "reason": "   "},
        {"field": "id_number", "reason": "看看"},
        {"field": "password", "reason": REASON},
        {"reason": REASON},
    ],
)
def test_reveal_without_a_proper_reason_is_400_and_not_logged(
    world: World, client_for, person: Person, data: dict
) -> None:
    response = _reveal(client_for(world.users["propaganda"]), person, data)
    assert response.status_code == 400
    assert ID_NUMBER not in response.content.decode()
    assert not _reveals().exists()


@pytest.mark.parametrize("field", ["id_number", "mobile", "email"])
@pytest.mark.parametrize("persona", ["propaganda", "sec_a"])
def test_reveal_with_a_reason_shows_the_value_and_logs_without_it(
    world: World, client_for, person: Person, field: str, persona: str
) -> None:
    response = _reveal(
        client_for(world.users[persona]),
        person,
        {"field": field, "reason": REASON},
        REMOTE_ADDR="203.0.113.30",
    )

    assert response.status_code == 200
    assert PLAIN[field] in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    row = _reveals().get()
    assert row.actor == world.users[persona]
    assert (row.object_type, row.object_id) == ("person", str(person.pk))
    assert row.detail == {"field": field, "reason": REASON}
    assert row.ip == "203.0.113.30"
    text = json.dumps(list(AuditEvent.objects.values()), default=str, ensure_ascii=False)
    assert PLAIN[field] not in text


def test_reveal_partial_for_htmx(world: World, client_for, person: Person) -> None:
    response = _reveal(
        client_for(world.users["propaganda"]),
        person,
        {"field": "id_number", "reason": REASON},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert ID_NUMBER in response.content.decode()
    assert "no-store" in response["Cache-Control"]
    assert "<html" not in response.content.decode().lower()
    assert _reveals().count() == 1


@pytest.mark.parametrize(
    ("persona", "status"), [("head_a", 403), ("auditor", 403), ("league", 404), ("sec_b", 404)]
)
def test_reveal_without_the_right(
    world: World, client_for, person: Person, persona: str, status: int
) -> None:
    """The head and the auditor see masks only; the League and college B do not see A's people.
    (The head is shown a colleague: her own data she may see.)"""
    target = world.admins["a"] if persona == "head_a" else person
    response = _reveal(
        client_for(world.users[persona]), target, {"field": "mobile", "reason": REASON}
    )
    assert response.status_code == status
    assert target.mobile not in response.content.decode()
    assert not _reveals().exists()


def test_a_person_may_reveal_their_own_data(world: World, client_for, person: Person) -> None:
    client = client_for(world.users["head_a"])
    response = _reveal(client, person, {"field": "mobile"})
    assert response.status_code == 400  # no reason: refused even for oneself
    response = _reveal(client, person, {"field": "mobile", "reason": REASON})
    assert response.status_code == 200
    assert MOBILE in response.content.decode()


def test_reveal_needs_the_csrf_token(world: World, person: Person) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["propaganda"], backend=MODEL_BACKEND)
    response = _reveal(client, person, {"field": "id_number", "reason": REASON})
    assert response.status_code == 403
    assert ID_NUMBER not in response.content.decode()
    assert not _reveals().exists()


# --- At rest --------------------------------------------------------------------------------


def _raw_row(person: Person) -> dict[str, str | None]:
    quote = connection.ops.quote_name
    columns = ["mobile", "email", "id_number", "id_number_hmac"]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(quote(c) for c in columns)} "
            f"FROM {quote(Person._meta.db_table)} WHERE id = %s",
            [person.pk],
        )
        return dict(zip(columns, cursor.fetchone(), strict=True))


def test_columns_hold_no_plain_values(person: Person) -> None:
    raw = _raw_row(person)
    for name, plain in PLAIN.items():
        assert raw[name], name
        assert plain not in raw[name], name
        assert plain[-8:] not in raw[name], name
    # Encryption is randomised: the same value twice gives two different tokens, so equal
    # columns do not tell who shares a number.
    other = services.person_create(actor=None, name="同号码", mobile=MOBILE)
    assert _raw_row(other)["mobile"] != raw["mobile"]


def test_id_hmac_is_keyed_not_a_plain_hash(person: Person) -> None:
    digest = _raw_row(person)["id_number_hmac"]
    for variant in (ID_NUMBER, ID_NUMBER.lower()):
        assert digest != hashlib.sha256(variant.encode()).hexdigest()
        assert digest != hashlib.sha1(variant.encode()).hexdigest()
        assert digest != hashlib.md5(variant.encode()).hexdigest()
    keyed = hmac.new(settings.FIELD_HMAC_KEY.encode(), ID_NUMBER.encode(), hashlib.sha256)
    assert digest == keyed.hexdigest()


def test_no_table_holds_a_plain_id_number(world: World, client_for, person: Person) -> None:
    """SECURITY.md: a database dump contains no plain 18-digit ID."""
    _reveal(client_for(world.users["propaganda"]), person, {"field": "id_number", "reason": REASON})
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {quote(table)}")
            for row in cursor.fetchall():
                text = " ".join(str(value) for value in row)
                assert ID_NUMBER not in text, table
                assert MOBILE not in text, table


def test_duplicate_id_number_is_a_validation_error(person: Person) -> None:
    """A second person with the same ID gets a message naming the field, not a server error."""
    count = Person.objects.count()
    with pytest.raises(ValidationError) as exc, transaction.atomic():
        services.person_create(actor=None, name="重复登记", id_number=ID_NUMBER)
    assert "id_number" in exc.value.message_dict
    assert Person.objects.count() == count


@pytest.mark.parametrize("variant", [ID_NUMBER.lower(), f" {ID_NUMBER} "])
def test_id_number_spelling_variants_are_the_same_id(person: Person, variant: str) -> None:
    """The validator accepts a lower-case x and surrounding spaces; uniqueness must too."""
    count = Person.objects.count()
    with pytest.raises(ValidationError) as exc, transaction.atomic():
        services.person_create(actor=None, name="重复登记", id_number=variant)
    assert "id_number" in exc.value.message_dict
    assert Person.objects.count() == count
