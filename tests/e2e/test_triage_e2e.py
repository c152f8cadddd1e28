"""Triage by group in Chromium: select rows in the On-call table, assign them, resolve one; a new failure of the
resolved group brings it back as regressed; a click on an Overview top code opens Explore filtered to it."""
from __future__ import annotations

import time
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from core.metrics import FailcatMetrics
from core.schema import failure_groups as g
from core.schema import failure_matches as fm
from loaders.ingest.pipeline import IngestPipeline
from tests.e2e.conftest import screenshot, sign_in, wait_idle

pytestmark = pytest.mark.e2e
ROW = 35  # glide data grid row height in Streamlit's dataframe


def _tick_rows(page, *rows: int) -> None:  # type: ignore[no-untyped-def]
    """Tick the selection checkboxes of these rows (the grid is a canvas: click where they are drawn)."""
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    for row in rows:
        page.mouse.click(box["x"] + 18, box["y"] + ROW + ROW * row + ROW / 2)
        wait_idle(page, settle=0.6)


def _outcome(page) -> str:  # type: ignore[no-untyped-def]
    alert = page.locator('[data-testid="stAlertContentSuccess"], [data-testid="stAlertContentError"]').first
    alert.wait_for()
    return alert.inner_text()


def test_select_assign_resolve_and_see_the_regression(live_app, page):
    sign_in(page, live_app.url, "oncall", "oncall")
    page.get_by_text("Unresolved groups").wait_for()
    wait_idle(page)
    screenshot(page, "on-call")
    _tick_rows(page, 0, 1)
    page.get_by_text("2 selected").wait_for()
    page.get_by_role("button", name="Assign to me").click()
    page.get_by_role("button", name="Confirm: assign 2 groups").click()
    assert "Assigned 2 groups" in _outcome(page)
    wait_idle(page)
    with live_app.engine.connect() as conn:
        mine = conn.execute(select(g.c.id, g.c.tenant_id, g.c.signature).where(g.c.assignee == "oncall")).all()
    assert len(mine) == 2
    # The table was redrawn with the selection cleared; pick the first row again and resolve it.
    assert page.get_by_text("Tick rows in the table").count() == 1
    _tick_rows(page, 0)
    page.get_by_role("button", name="Resolve").click()
    page.get_by_role("button", name="Confirm: resolve 1 group").click()
    assert "Resolved 1 group" in _outcome(page)
    with live_app.engine.connect() as conn:
        resolved = conn.execute(select(g.c.id, g.c.tenant_id, g.c.signature, g.c.title)
                                .where(g.c.state == "resolved")).one()
        latest = conn.execute(select(fm.c.error_message, fm.c.error_code).where(
            fm.c.tenant_id == resolved.tenant_id, fm.c.signature == resolved.signature)
            .order_by(fm.c.created_at.desc()).limit(1)).one()
    # The same error again, now: the group comes back, flagged regressed.
    report = IngestPipeline(live_app.engine, metrics=FailcatMetrics()).ingest([{
        "tenant_id": resolved.tenant_id, "run_id": "e2e-regression", "error_code": latest.error_code,
        "error_message": latest.error_message}])
    assert report.inserted == 1 and report.regressed == 1
    # The dashboard caches group reads for 15 seconds: reload until the regression shows.
    deadline = time.monotonic() + 40
    while True:
        page.goto(f"{live_app.url}/oncall?state=regressed")
        page.get_by_text("Regressed groups").first.wait_for()
        wait_idle(page)
        tile = page.locator('[data-testid="stMetric"]').filter(has_text="Regressed").first.inner_text()
        if tile.endswith("1") or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert tile.endswith("1"), tile
    assert page.locator('[data-testid="stDataFrame"]').count() == 1  # the regressed group's row (a canvas)
    screenshot(page, "on-call-regressed")


def test_a_filter_change_clears_the_ticked_rows(live_app, page):
    sign_in(page, live_app.url, "oncall", "oncall")
    page.get_by_text("Unresolved groups").wait_for()
    wait_idle(page)
    _tick_rows(page, 1)
    page.get_by_text("1 selected").wait_for()
    # Another list: the tick must not move onto whatever group is second there.
    page.get_by_role("radio", name="Nobody").click()  # the ticked group's panel may say "Nobody" too
    wait_idle(page)
    assert page.get_by_text("Tick rows in the table to act on them.").count() == 1
    assert page.get_by_role("button", name="Resolve").is_disabled()


def test_a_click_on_a_top_code_opens_explore_filtered_to_it(live_app, page):
    sign_in(page, live_app.url, "admin", "?range=30d")
    chart = page.locator('[data-testid="stVegaLiteChart"][aria-label^="Top error codes"]')
    bars = chart.locator('path[aria-label*=" failures in the range"]')
    bars.first.wait_for()
    wait_idle(page, settle=1.5)
    top = bars.first  # the largest code, drawn on top
    top.click()
    page.wait_for_url("**/explore?**", timeout=30_000)
    wait_idle(page)
    code = parse_qs(urlsplit(page.url).query)["code"][0]
    assert code and page.locator('[data-testid="stMultiSelect"]').filter(has_text=code).count() >= 1
    assert parse_qs(urlsplit(page.url).query)["range"] == ["30d"]  # the Overview's range came along
