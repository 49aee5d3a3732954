"""Who reaches the statistics page and its downloads: the propaganda department and the auditor
read them; secretaries, unit heads and the Youth League get 403; anonymous visitors go to the
login page. Only GET."""

from __future__ import annotations

import pytest

from campusmedia.models import AuditEvent
from campusmedia.models.audit import AuditAction
from tests.stats.conftest import EXPORTS, PAGE, export_url

pytestmark = pytest.mark.django_db

URLS = [PAGE, *(export_url(table) for table in EXPORTS)]
READERS = ("propaganda", "auditor")
OUTSIDERS = ("sec_a", "head_a", "sec_b", "league")


def test_every_table_has_an_export():
    expected = [
        "accounts-by-platform",
        "accounts-by-tier",
        "accounts-by-unit",
        "followers",
        "late-filings",
        "requests-by-month",
        "review-outcomes",
    ]
    assert expected == EXPORTS


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("persona", READERS)
def test_department_and_auditor_read(world, client_for, persona, url):
    response = client_for(world.users[persona]).get(url)
    assert response.status_code == 200
    if url == PAGE:
        assert response.templates[0].name == "stats/index.html"
    else:
        assert response["Content-Type"].startswith("application/vnd.openxmlformats")


@pytest.mark.parametrize("url", URLS)
@pytest.mark.parametrize("persona", OUTSIDERS)
def test_units_and_league_are_refused(world, client_for, persona, url):
    response = client_for(world.users[persona]).get(url)
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


@pytest.mark.parametrize("url", URLS)
def test_anonymous_goes_to_login(world, client_for, url):
    response = client_for(None).get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", URLS)
def test_only_get(world, client_for, url):
    client = client_for(world.users["propaganda"])
    assert client.post(url).status_code == 405
    assert client.put(url).status_code == 405
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_unknown_table_is_404(world, client_for):
    response = client_for(world.users["propaganda"]).get("/stats/passwords.xlsx")
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action=AuditAction.EXPORT).exists()


def test_nav_link_only_for_readers(world, client_for):
    for persona, shown in (("propaganda", True), ("auditor", True), ("sec_a", False)):
        page = client_for(world.users[persona]).get("/").content.decode()
        assert ('href="/stats/"' in page) is shown, persona
