"""The registry page and home page draw their rows, filters and badges by hand (the hot path of
``make bench``): these tests hold that markup to what the template engine would have produced."""

from __future__ import annotations

import re

import pytest

from campusmedia.choices import AccountStatus

pytestmark = pytest.mark.django_db


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def test_filters_in_force_are_selected_and_search_is_escaped(world, client_for):
    client = client_for(world.users["propaganda"])
    unit = world.units["a"]
    html = _page(client, f"/registry/?q=%3Cscript%3E&unit={unit.pk}&tier=2&status=active")
    assert '<input type="search" name="q" id="id_q" value="&lt;script&gt;"' in html
    assert "<script>" not in html.split("</header>", 1)[-1].split("<script", 1)[0]
    assert f'<option value="{unit.pk}" selected>{unit.name}</option>' in html
    assert '<option value="2" selected>' in html
    assert '<option value="active" selected>' in html
    # Exactly one option is selected per select.
    assert html.count(" selected>") == 4  # platform: the "all" option; unit, tier, status


def test_unknown_filter_values_are_ignored_not_shown_as_selected(world, client_for):
    client = client_for(world.users["propaganda"])
    html = _page(client, "/registry/?tier=9&status=nonsense")
    assert '<option value="" selected>' in html
    assert 'value="9"' not in html
    assert 'value="nonsense"' not in html


def test_rows_link_to_accounts_with_badges(world, client_for):
    client = client_for(world.users["sec_a"])
    html = _page(client, "/registry/")
    account = world.accounts["a"]
    assert f'<a href="/registry/{account.pk}/">{account.name}</a>' in html
    assert '<span class="badge status-active">运行中</span>' in html
    assert '<span class="badge tier tier-2" title="二级平台">二级</span>' in html
    suspended = world.accounts["a_org"]
    assert suspended.status == AccountStatus.SUSPENDED
    assert '<span class="badge status-suspended">' in html
    # Only college A's three accounts, each once.
    assert len(re.findall(r'<tr><td data-label="名称"', html)) == 3


def test_rows_follow_the_language(world, client_for, settings):
    client = client_for(world.users["sec_a"])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    html = _page(client, "/registry/")
    assert "运行中" not in html.split("<tbody>", 1)[1]


def test_home_lists_the_roles_held_today(world, client_for):
    client = client_for(world.users["head_a"])
    html = _page(client, "/")
    unit = world.units["a"]
    assert f'<a href="/units/{unit.pk}/">{unit.name}</a>' in html
    assert "单位负责人" in html
