"""A unit's filing materials (the code certificate and the head's ID copy): who may list, upload
and download them (SECURITY.md, Authorization), what is stored (checked by content, images
re-encoded, encrypted at rest), what replaces what, and the audit of every download."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from campusmedia.models import AuditEvent, Unit
from campusmedia.models.audit import AuditAction
from filing import office_services, vault
from filing.choices import MaterialKind
from filing.models import UnitMaterial
from tests.conftest import World

pytestmark = pytest.mark.django_db

ANONYMOUS = "anonymous"
PERSONAS = ("sec_a", "head_a", "sec_b", "propaganda", "league", "auditor", ANONYMOUS)
LOGIN = "login"
DONE = 302
ID_COPY = MaterialKind.HEAD_ID_COPY
CERTIFICATE = MaterialKind.USCC_CERTIFICATE
PDF_BYTES = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n%%EOF\n"
# scope → the unit: college A, college A's sub-unit, college B.
SCOPES = {"A": "a", "A sub": "a_sub", "B": "b"}


def pdf_upload(name: str = "证书.pdf", data: bytes = PDF_BYTES) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/pdf")


def jpeg_bytes() -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", (40, 24), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCamera"  # Make
    image.save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def upload(world: World, unit_key: str, kind: str = ID_COPY, **kwargs: Any) -> UnitMaterial:
    return office_services.material_upload(
        unit=world.units[unit_key],
        kind=kind,
        upload=kwargs.pop("file", None) or pdf_upload(),
        actor=world.users["propaganda"],
        **kwargs,
    )


def raw_file(material: UnitMaterial) -> bytes:
    return (Path(settings.CAMPUSMEDIA_PRIVATE_ROOT) / material.file.name).read_bytes()


def client_of(client_for, world: World, persona: str):
    return client_for(None if persona == ANONYMOUS else world.users[persona])


def messages_of(response, level: str = "error") -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == level]


def downloads() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=AuditAction.FILE_DOWNLOADED).order_by("pk"))


# --- The access matrix --------------------------------------------------------------------------


def row(*cells: int | str) -> dict[str, int | str]:
    assert len(cells) == len(PERSONAS)
    return dict(zip(PERSONAS, cells, strict=True))


# Who sees the unit sees whether its papers are there; the unit's keepers (its secretary, the
# secretary of the college above a sub-unit, its own head) and the department upload and
# download them. The head of college A signs for its sub-unit, but the sub-unit's papers are
# not theirs: 403. The auditor reads everything and downloads no ID copy.
VIEW = {
    #           sec_a head_a sec_b propaganda league auditor anonymous
    "A": row(200, 200, 404, 200, 404, 200, LOGIN),
    "A sub": row(200, 200, 404, 200, 404, 200, LOGIN),
    "B": row(404, 404, 200, 200, 404, 200, LOGIN),
}
UPLOAD = {
    "A": row(DONE, DONE, 404, DONE, 404, 403, LOGIN),
    "A sub": row(DONE, 403, 404, DONE, 404, 403, LOGIN),
    "B": row(404, 404, DONE, DONE, 404, 403, LOGIN),
}
DOWNLOAD = {
    "A": row(200, 200, 404, 200, 404, 403, LOGIN),
    "A sub": row(200, 403, 404, 200, 404, 403, LOGIN),
    "B": row(404, 404, 200, 200, 404, 403, LOGIN),
}
EXPECTED = {"list": VIEW, "upload": UPLOAD, "download": DOWNLOAD}


@dataclass
class Target:
    method: str
    url: str
    data: dict[str, Any] = field(default_factory=dict)
    done_url: str = ""
    probe: Callable[[], Any] = lambda: None
    after: Any = None


def _list(world: World, unit: Unit) -> Target:
    return Target("get", f"/filing/units/{unit.pk}/materials/")


def _upload(world: World, unit: Unit) -> Target:
    return Target(
        "post",
        f"/filing/units/{unit.pk}/materials/",
        {"kind": ID_COPY, "file": pdf_upload("身份证.pdf")},
        done_url=unit.get_absolute_url(),
        probe=lambda: UnitMaterial.objects.filter(unit=unit, kind=ID_COPY).count(),
        after=1,
    )


def _download(world: World, unit: Unit) -> Target:
    material = office_services.material_upload(
        unit=unit, kind=ID_COPY, upload=pdf_upload(), actor=world.users["propaganda"]
    )
    return Target(
        "get",
        f"/filing/materials/{material.pk}/download/",
        probe=lambda: len(downloads()),
        after=1,
    )


TARGETS: dict[str, Callable[[World, Unit], Target]] = {
    "list": _list,
    "upload": _upload,
    "download": _download,
}


@pytest.mark.parametrize("scope", list(SCOPES))
@pytest.mark.parametrize("endpoint", list(EXPECTED))
@pytest.mark.parametrize("persona", PERSONAS)
def test_access_matrix(world: World, client_for, persona: str, endpoint: str, scope: str) -> None:
    """Each cell: the status, and the database (and the audit of downloads) changed exactly
    when the call succeeded."""
    expected = EXPECTED[endpoint][scope][persona]
    target = TARGETS[endpoint](world, world.units[SCOPES[scope]])
    before = target.probe()

    response = getattr(client_of(client_for, world, persona), target.method)(
        target.url, target.data
    )

    if expected == LOGIN:
        assert response.status_code == 302
        assert response.url.startswith("/accounts/login/?next=")
    elif expected == DONE:
        assert response.status_code == 302
        assert response.url == target.done_url
        assert not messages_of(response)
    else:
        assert response.status_code == expected
    succeeded = expected == DONE or (expected == 200 and target.after is not None)
    assert target.probe() == (target.after if succeeded else before)


def test_matrix_covers_every_persona_and_scope() -> None:
    for by_scope in EXPECTED.values():
        assert set(by_scope) == set(SCOPES)
        for cells in by_scope.values():
            assert tuple(cells) == PERSONAS


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("post", "/filing/materials/{material}/download/"),
        ("put", "/filing/units/{unit}/materials/"),
    ],
)
def test_wrong_method(world: World, client_for, method: str, url: str) -> None:
    material = upload(world, "a")
    client = client_for(world.users["propaganda"])

    response = getattr(client, method)(url.format(material=material.pk, unit=material.unit_id))

    assert response.status_code == 405
    assert downloads() == []


def test_unknown_material_is_404(world: World, client_for) -> None:
    assert (
        client_for(world.users["propaganda"]).get("/filing/materials/999/download/").status_code
        == 404
    )


# --- Upload -------------------------------------------------------------------------------------


def test_upload_stores_the_file_encrypted_and_audits(world: World, client_for) -> None:
    unit = world.units["a"]

    response = client_for(world.users["sec_a"]).post(
        f"/filing/units/{unit.pk}/materials/",
        {"kind": CERTIFICATE, "file": pdf_upload("信用代码证.pdf")},
    )

    assert response.status_code == 302
    assert messages_of(response, "success") == ["已上传“组织机构代码证或统一社会信用代码证”。"]
    material = UnitMaterial.objects.get(unit=unit)
    assert (material.kind, material.original_name) == (CERTIFICATE, "信用代码证.pdf")
    assert (material.content_type, material.size) == ("application/pdf", len(PDF_BYTES))
    assert material.uploaded_by == world.users["sec_a"]
    # A random name on private storage, the bytes sealed: no PDF header, no plain content.
    assert "信用代码证" not in material.file.name and material.file.name.endswith(".bin")
    raw = raw_file(material)
    assert not raw.startswith(b"%PDF") and b"%PDF" not in raw and b"Catalog" not in raw
    assert vault.read_sealed(material.file) == PDF_BYTES
    event = AuditEvent.objects.filter(action=AuditAction.FILE_UPLOADED).get()
    assert event.actor == world.users["sec_a"]
    assert event.object_type == "unitmaterial" and event.object_id == str(material.pk)
    assert event.detail["kind"] == CERTIFICATE and event.detail["replaced"] is False


def test_an_id_copy_image_is_re_encoded_and_sealed(world: World, client_for) -> None:
    data = jpeg_bytes()
    assert b"SecretCamera" in data
    unit = world.units["a"]

    client_for(world.users["head_a"]).post(
        f"/filing/units/{unit.pk}/materials/",
        {"kind": ID_COPY, "file": SimpleUploadedFile("id.jpg", data, content_type="image/jpeg")},
    )

    material = UnitMaterial.objects.get(unit=unit, kind=ID_COPY)
    raw = raw_file(material)
    assert not raw.startswith(b"\xff\xd8\xff") and b"JFIF" not in raw and b"Exif" not in raw
    stored = vault.read_sealed(material.file)
    assert stored.startswith(b"\xff\xd8\xff") and b"SecretCamera" not in stored
    assert Image.open(io.BytesIO(stored)).size == (40, 24)
    assert material.content_type == "image/jpeg"


def test_a_fake_pdf_is_refused_with_a_message_naming_the_field(world: World, client_for) -> None:
    unit = world.units["a"]
    fake = SimpleUploadedFile(
        "身份证.pdf", b"just some text, not a PDF\n", content_type="application/pdf"
    )

    response = client_for(world.users["sec_a"]).post(
        f"/filing/units/{unit.pk}/materials/", {"kind": ID_COPY, "file": fake}
    )

    assert response.status_code == 302
    assert messages_of(response) == [
        "单位负责人身份证复印件：只接受 PDF、JPEG 或 PNG 文件（按文件内容识别，不看扩展名）。"
    ]
    assert not UnitMaterial.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditAction.FILE_UPLOADED).exists()
    private = Path(settings.CAMPUSMEDIA_PRIVATE_ROOT)
    assert not private.exists() or not [p for p in private.rglob("*") if p.is_file()]


def test_an_upload_without_a_file_names_the_field(world: World, client_for) -> None:
    unit = world.units["a"]

    response = client_for(world.users["sec_a"]).post(
        f"/filing/units/{unit.pk}/materials/", {"kind": ID_COPY}
    )

    assert response.status_code == 302
    assert messages_of(response) == ["文件：请选择要上传的文件。"]
    assert not UnitMaterial.objects.exists()


def test_a_new_upload_replaces_the_old_one(
    world: World, django_capture_on_commit_callbacks
) -> None:
    old = upload(world, "a")
    old_path = Path(settings.CAMPUSMEDIA_PRIVATE_ROOT) / old.file.name
    second = b"%PDF-1.7\nsecond scan\n%%EOF\n"

    with django_capture_on_commit_callbacks(execute=True):
        new = upload(world, "a", file=pdf_upload("新.pdf", second))

    assert UnitMaterial.objects.filter(unit=world.units["a"], kind=ID_COPY).get() == new
    assert not UnitMaterial.objects.filter(pk=old.pk).exists()
    assert not old_path.exists()
    assert vault.read_sealed(new.file) == second
    uploads = AuditEvent.objects.filter(action=AuditAction.FILE_UPLOADED).order_by("pk")
    assert [e.detail["replaced"] for e in uploads] == [False, True]


def test_the_other_kind_is_not_replaced(world: World) -> None:
    certificate = upload(world, "a", kind=CERTIFICATE)
    upload(world, "a", kind=ID_COPY)

    assert UnitMaterial.objects.filter(unit=world.units["a"]).count() == 2
    assert UnitMaterial.objects.filter(pk=certificate.pk).exists()


def test_upload_goes_back_only_to_a_page_of_the_site(world: World, client_for) -> None:
    unit = world.units["a"]
    client = client_for(world.users["sec_a"])
    materials = f"/filing/units/{unit.pk}/materials/"

    inside = client.post(materials, {"kind": ID_COPY, "file": pdf_upload(), "next": materials})
    outside = client.post(
        materials, {"kind": ID_COPY, "file": pdf_upload(), "next": "https://evil.example/"}
    )

    assert inside.url == materials
    assert outside.url == unit.get_absolute_url()


def test_the_service_refuses_a_reader(world: World) -> None:
    with pytest.raises(PermissionDenied):
        office_services.material_upload(
            unit=world.units["a"], kind=ID_COPY, upload=pdf_upload(), actor=world.users["auditor"]
        )
    assert not UnitMaterial.objects.exists()


# --- Download -----------------------------------------------------------------------------------


def test_download_is_an_attachment_and_every_id_copy_download_is_audited(
    world: World, client_for
) -> None:
    material = upload(world, "a", file=pdf_upload("钱书记身份证.pdf"))
    client = client_for(world.users["sec_a"])

    first = client.get(f"/filing/materials/{material.pk}/download/")
    second = client.get(f"/filing/materials/{material.pk}/download/")

    assert first.status_code == 200
    assert first.content == PDF_BYTES
    assert first["Content-Type"] == "application/pdf"
    assert first["Content-Disposition"].startswith("attachment;")
    assert first["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in first["Cache-Control"]
    assert second.content == PDF_BYTES
    events = downloads()
    assert len(events) == 2
    assert all(e.actor == world.users["sec_a"] for e in events)
    assert events[0].detail == {"material": material.pk, "kind": ID_COPY}
    assert events[0].object_id == str(material.pk)


def test_refused_downloads_are_not_logged_as_downloads(world: World, client_for) -> None:
    material = upload(world, "a")

    assert (
        client_for(world.users["sec_b"])
        .get(f"/filing/materials/{material.pk}/download/")
        .status_code
        == 404
    )
    assert (
        client_for(world.users["auditor"])
        .get(f"/filing/materials/{material.pk}/download/")
        .status_code
        == 403
    )
    assert downloads() == []


def test_a_tampered_file_is_never_served(world: World, client_for) -> None:
    material = upload(world, "a")
    path = Path(settings.CAMPUSMEDIA_PRIVATE_ROOT) / material.file.name
    path.write_bytes(vault.seal(b"%PDF-1.4 other")[:-4] + b"AAAA")

    with pytest.raises(ValueError):
        client_for(world.users["propaganda"]).get(f"/filing/materials/{material.pk}/download/")
    assert downloads() == []


def test_seal_and_unseal() -> None:
    token = vault.seal(PDF_BYTES)

    assert token != PDF_BYTES and b"%PDF" not in token
    assert vault.unseal(token) == PDF_BYTES
    with pytest.raises(ValueError):
        vault.unseal(b"not a token")


# --- The panel on the unit's page ---------------------------------------------------------------


def test_unit_page_panel_for_a_keeper(world: World, client_for) -> None:
    material = upload(world, "a", kind=CERTIFICATE, file=pdf_upload("代码证.pdf"))
    unit = world.units["a"]

    html = client_for(world.users["sec_a"]).get(unit.get_absolute_url()).content.decode()

    assert "报备材料" in html
    assert "组织机构代码证或统一社会信用代码证" in html and "单位负责人身份证复印件" in html
    assert "已上传" in html and "未上传" in html
    assert f"/filing/materials/{material.pk}/download/" in html and "代码证.pdf" in html
    assert html.count(f'action="/filing/units/{unit.pk}/materials/"') == 2
    assert 'enctype="multipart/form-data"' in html


def test_unit_page_panel_for_the_auditor_shows_state_only(world: World, client_for) -> None:
    material = upload(world, "a", kind=CERTIFICATE, file=pdf_upload("代码证.pdf"))
    unit = world.units["a"]

    html = client_for(world.users["auditor"]).get(unit.get_absolute_url()).content.decode()

    assert "已上传" in html and "未上传" in html
    assert f"/filing/materials/{material.pk}/download/" not in html
    assert "代码证.pdf" not in html
    assert f'action="/filing/units/{unit.pk}/materials/"' not in html


def test_materials_page_lists_the_kinds(world: World, client_for) -> None:
    unit = world.units["b"]

    response = client_for(world.users["sec_b"]).get(f"/filing/units/{unit.pk}/materials/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "机械学院" in html and html.count("未上传") == 2
    assert "no-store" in response["Cache-Control"]
