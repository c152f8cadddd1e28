"""Times in the viewer's time zone: a browser in Tokyo sees the Overview's hours in Asia/Tokyo, and says so."""
from __future__ import annotations

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
    page.locator(".js-plotly-plot").first.wait_for()
    texts = "els => els.map(e => e.textContent)"  # SVG text: no innerText
    x_titles = page.locator(".js-plotly-plot .g-xtitle").evaluate_all(texts)
    y_titles = page.locator(".js-plotly-plot .g-ytitle").evaluate_all(texts)
    assert "hour (Asia/Tokyo)" in x_titles, x_titles
    assert {"matched failures (%)", "successful recoveries (%)", "failures per hour"} <= set(y_titles), y_titles
    assert "failures in the range" in x_titles, x_titles
