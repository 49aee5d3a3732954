"""Hot paths run a fixed number of queries, however many rows there are (STYLE.md rule 2).

Each case is measured with 5 and with 60 extra accounts in college A (each with a supervising
leader and a graduating student administrator, so per-row lookups of teams, units or platforms
would show); the pinned number is the same for both. Counts are taken on the second request, with
the session, the platform cache and the content types warm, as in production.
"""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from campusmedia import services
from campusmedia.choices import TeamRole
from tests.conftest import SOURCE, World, make_account, next_mobile

URLS = {
    "registry": reverse("registry"),
    "home": reverse("home"),
    "unit_tree": reverse("unit_tree"),
    "api_accounts": "/api/v1/accounts/",
}
LIST_PAGES = {"registry", "unit_tree", "api_accounts"}

# (persona, page) → queries, all of them: session, user, the user's current roles (and for a
# secretary the permission rows of her groups), then the page's own reads. The propaganda
# reviewer reads everything, so no permission rows are looked up for her.
#   registry     units for the filter, count, one page of accounts (platform catalogue cached)
#   home         counts by status and kind, recent, not yet opened, graduating administrators
#                (the user's roles are the ones already read for access); requests waiting
#                for the user (six of them and the count; the department's look-up of its
#                groups' rows), open team changes, unread messages, and for the department the
#                per-unit counts; the latest annual review (none here: with one, the forms
#                waiting for the user and the open close orders follow, see
#                tests/annual_review/test_views.py); the alliance's panel: the accounts the
#                user administers, then its four counts in one query
#   unit_tree    visible units with their account counts
#   api_accounts count, one page of accounts
EXPECTED: dict[tuple[str, str], int] = {
    ("propaganda", "registry"): 6,
    ("propaganda", "home"): 17,
    ("propaganda", "unit_tree"): 4,
    ("propaganda", "api_accounts"): 5,
    ("sec_a", "registry"): 7,
    ("sec_a", "home"): 15,
    ("sec_a", "unit_tree"): 5,
    ("sec_a", "api_accounts"): 6,
}


def _grow(world: World, extra: int) -> None:
    soon = timezone.localdate() + datetime.timedelta(days=20)
    keys = ("a", "a_sub", "a_org")
    for i in range(extra):
        unit = world.units[keys[i % 3]]
        account = make_account(unit=unit, name=f"扩展账号{i:03d}")
        student = services.person_create(
            actor=None,
            name=f"学生管理员{i:03d}",
            unit=unit,
            mobile=next_mobile(),
            is_student=True,
            expected_end=soon,
        )
        for person, role in (
            (world.people["head_a"], TeamRole.SUPERVISOR),
            (student, TeamRole.ADMINISTRATOR),
        ):
            services.team_member_add(
                account=account, person=person, role=role, actor=None, source=SOURCE
            )


@pytest.mark.parametrize("extra", [5, 60])
@pytest.mark.parametrize("persona", ["propaganda", "sec_a"])
@pytest.mark.parametrize("page", list(URLS))
def test_query_count_does_not_grow_with_rows(
    world: World, client_for, django_assert_num_queries, page: str, persona: str, extra: int
) -> None:
    _grow(world, extra)
    client = client_for(world.users[persona])
    url = URLS[page]
    assert client.get(url).status_code == 200  # warm-up

    expected = EXPECTED[(persona, page)]
    if page in LIST_PAGES:
        assert expected <= 8
    with django_assert_num_queries(expected):
        response = client.get(url)

    assert response.status_code == 200
    visible = (8 if persona == "propaganda" else 3) + extra
    if page == "registry":
        assert len(response.context["page"].object_list) == min(visible, 50)
    elif page == "api_accounts":
        body = response.json()
        assert (body["count"], len(body["results"])) == (visible, min(visible, 50))
    elif page == "home":
        data = response.context["data"]
        assert data.total == visible
        assert len(data.due) == min(extra, 20) + min(
            extra + (2 if persona == "propaganda" else 1), 20
        )
