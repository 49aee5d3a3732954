"""Offices for filing tests: Binzhou's municipal office and one district office."""

from __future__ import annotations

import pytest

from campusmedia.models import MediaAccount, Office


@pytest.fixture
def offices(db) -> dict[str, Office]:
    municipal = Office.objects.create(
        city="binzhou",
        name="滨州市网络文化办公室",
        address="滨州市黄河五路385号420室",
        duty_phone="0543-3162200",
        email="bzwlb@example.cn",
    )
    district = Office.objects.create(
        city="binzhou",
        name="滨城区网络文化办公室",
        parent=municipal,
        duty_phone="0543-3336610",
        email="bcwwb@example.cn",
        sort_order=1,
    )
    return {"municipal": municipal, "district": district}


@pytest.fixture
def filing_world(world, offices):
    MediaAccount.objects.filter(pk=world.accounts["b"].pk).update(filing_office=offices["district"])
    return world


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed():`` runs at the end of the block what the services leave for after the
    commit (the generation task, the e-mails), as the commit of a real request would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)
