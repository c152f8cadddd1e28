"""Times in the viewer's time zone: a browser in Tokyo sees the Overview's hours in Asia/Tokyo, and says so."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import PASSWORDS, wait_idle

pytestmark = pytest.mark.e2e


@pytest.fixture
def tokyo_page(browser):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, timezone_id="Asia/Tokyo")
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


def test_overview_hours_are_drawn_in_the_browsers_zone_with_titled_axes(live_app, tokyo_page):
    page = tokyo_page
    page.goto(f"{live_app.url}/?range=24h")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password", exact=True).fill(PASSWORDS["admin"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()
    wait_idle(page, settle=1.5)
    page.locator('[data-testid="stVegaLiteChart"] .role-axis-title').first.wait_for()
    texts = "els => els.map(e => e.textContent)"  # SVG text: no innerText
    titles = page.locator('[data-testid="stVegaLiteChart"] .role-axis-title text').evaluate_all(texts)
    assert {"hour (Asia/Tokyo)", "failures in the range"} <= set(titles), titles
    assert {"matched failures (%)", "successful recoveries (%)", "failures per hour"} <= set(titles), titles
    # The hours on the axis are Tokyo's: the axis runs to the range's end, the end of Tokyo's hour now (also when
    # the last hours had no failure).
    axis = page.locator('[data-testid="stVegaLiteChart"][aria-label^="Hit rate"] [aria-label^="X-axis"]')
    end = axis.get_attribute("aria-label").rsplit(" to ", 1)[1].removesuffix(" UTC")
    last = datetime.strptime(end, "%A, %d %B %Y, %I:%M:%S %p")
    tokyo = datetime.now(ZoneInfo("Asia/Tokyo")).replace(tzinfo=None)
    assert timedelta(0) < last - tokyo <= timedelta(hours=1), (end, tokyo)  # UTC's would be 9 hours off
