"""A real browser against a live server: a college secretary sees exactly her college's accounts.

Drives Debian's /usr/bin/chromium through Playwright (never a downloaded browser). A missing
Chromium fails the test: ``make test`` installs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ACCOUNTS, PASSWORD, World, build_world

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path("/tmp/e2e-registry.png")

pytestmark = [
    pytest.mark.browser,
    # live_server needs committed data; serialized_rollback restores the migration-loaded
    # platform catalogue after the flush.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


@pytest.fixture
def committed_world(transactional_db, _fast_hasher) -> World:
    return build_world()


@pytest.fixture
def page(committed_world: World) -> Iterator:
    assert CHROMIUM.exists(), f"{CHROMIUM} is missing: install Debian's chromium (make test)"
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are
    # synchronous and safe here.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        tab = context.new_page()
        tab.set_default_timeout(15_000)
        yield tab
        context.close()
        browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def test_secretary_sees_exactly_her_college(live_server, committed_world: World, page) -> None:
    world = committed_world
    page.goto(f"{live_server.url}/registry/")
    # Not logged in: the login form.
    assert "/accounts/login/" in page.url
    page.fill("input[name=username]", "sec_a")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form:has(input[name=password]) [type=submit]").click()
    page.wait_for_url(f"{live_server.url}/registry/")

    body = page.locator("body").inner_text()
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    for key, (name, *_rest) in ACCOUNTS.items():
        assert (name in body) == (key in ("a", "a_sub", "a_org")), name

    page.goto(f"{live_server.url}/registry/{world.accounts['a'].pk}/")
    text = page.locator("body").inner_text()
    admin = world.admins["a"]
    assert admin.mobile_masked in text
    assert admin.mobile not in page.content()

    # B's account is not found for her.
    response = page.goto(f"{live_server.url}/registry/{world.accounts['b'].pk}/")
    assert response is not None
    assert response.status == 404
