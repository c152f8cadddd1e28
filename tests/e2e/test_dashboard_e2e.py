"""What a person sees and clicks in the real dashboard (headless Chromium); also takes the README screenshots."""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from core.schema import failure_matches as fm
from core.schema import recovery_events as re_
from tests.e2e.conftest import screenshot, sign_in, wait_idle

pytestmark = pytest.mark.e2e


def _seven_days() -> tuple[datetime, datetime]:
    # Multi-day presets are whole UTC days ending with today (dashboard.widgets.time_range).
    now = datetime.now(UTC)
    end = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return end - timedelta(days=7), end


def _metric(page, label: str) -> str:  # type: ignore[no-untyped-def]
    tile = page.locator('[data-testid="stMetric"]').filter(has_text=label).first
    return tile.locator('[data-testid="stMetricValue"]').inner_text().strip()


def test_sign_in_overview_hit_rate_and_reload(live_app, page):
    page.goto(live_app.url)
    wait_idle(page)
    screenshot(page, "sign-in")
    sign_in(page, live_app.url, "admin")
    start, end = _seven_days()
    with live_app.engine.connect() as conn:
        window = (fm.c.created_at >= start, fm.c.created_at < end)
        total = conn.execute(select(func.count()).select_from(fm).where(*window)).scalar_one()
        matched = conn.execute(select(func.count()).select_from(fm).where(
            *window, fm.c.catalog_entry_id.is_not(None))).scalar_one()
    assert _metric(page, "Hit rate") == f"{matched / total * 100:.1f}%"
    assert _metric(page, "Failures") == f"{total:,}"
    screenshot(page, "overview")
    page.reload()  # the signed cookie restores the session
    page.get_by_role("button", name="Sign out").wait_for()
    wait_idle(page)
    assert _metric(page, "Hit rate") == f"{matched / total * 100:.1f}%"
    page.get_by_role("button", name="Sign out").click()
    page.get_by_label("User name").wait_for()
    page.reload()  # the cookie is gone too
    page.get_by_label("User name").wait_for()
    assert page.locator('[data-testid="stMetric"]').count() == 0


def test_deep_link_survives_sign_in(live_app, page):
    with live_app.engine.connect() as conn:
        failure_id, code = conn.execute(select(fm.c.id, fm.c.error_code).limit(1)).one()
    sign_in(page, live_app.url, "admin", f"failure?id={failure_id}")
    page.get_by_role("heading", name=code).first.wait_for()
    assert f"id={failure_id}" in page.url


def test_explore_filtered_by_code_in_url(live_app, page):
    start, end = _seven_days()
    with live_app.engine.connect() as conn:
        code, n = conn.execute(
            select(fm.c.error_code, func.count()).where(fm.c.created_at >= start, fm.c.created_at < end,
                                                        fm.c.catalog_entry_id.is_not(None))
            .group_by(fm.c.error_code).order_by(func.count().desc()).limit(1)).one()
    sign_in(page, live_app.url, "admin", f"explore?code={code}")
    page.get_by_text("Failures selected").wait_for()
    wait_idle(page)
    assert _metric(page, "Failures selected") == f"{n:,}"
    assert f"code={code}" in page.url
    page.goto(f"{live_app.url}/explore")
    wait_idle(page)
    screenshot(page, "explore")
    page.goto(f"{live_app.url}/explore?view=list&status=open")
    wait_idle(page)
    screenshot(page, "explore-list")


def test_mark_recovered_on_call_then_detail_history(live_app, page):
    sign_in(page, live_app.url, "oncall", "oncall?view=failures")
    page.get_by_text("Mark recovery").first.wait_for()
    wait_idle(page)
    form = page.locator('[data-testid="stForm"]')
    form.locator('[data-testid="stMultiSelect"] input').first.click()
    page.keyboard.press("ArrowDown")  # opens the list when the click only focused the box
    page.locator('[role="option"]').first.click()
    page.keyboard.press("Escape")
    form.locator('[data-testid="stTextArea"] textarea').first.fill("e2e: restarted the worker")
    form.get_by_role("button", name="Mark recovery").click()
    page.locator('[data-testid="stAlertContentSuccess"]').wait_for()
    wait_idle(page)
    with live_app.engine.connect() as conn:
        event = conn.execute(select(re_).where(re_.c.notes == "e2e: restarted the worker")).mappings().one()
    assert event["actor"] == "oncall" and event["to_state"] == "recovered"
    page.goto(f"{live_app.url}/failure?id={event['failure_id']}")
    page.get_by_text("Recovery history").wait_for()
    wait_idle(page)
    history = page.locator('[data-testid="fc-plain-table"]').first.inner_text()
    assert "e2e: restarted the worker" in history and "recovered" in history and "oncall" in history
    screenshot(page, "failure-detail")


def test_other_pages_render_for_admin(live_app, page):
    sign_in(page, live_app.url, "admin")
    for path, name, text in (("trends", "trends", "Trends"), ("catalog", "catalog", "Catalog"),
                             ("exports", "exports", "Exports"), ("admin", "admin", "Admin")):
        page.goto(f"{live_app.url}/{path}")
        page.get_by_role("heading", name=text).first.wait_for()
        wait_idle(page)
        assert page.locator('[data-testid="stException"]').count() == 0, path
        screenshot(page, name)


WRITE_WORDS = re.compile(r"\b(mark|promote|save|create|revoke|disable|enable|upload|retry|turn|add|delete)", re.I)


def test_tenant_viewer_sees_only_own_tenant_and_no_write_controls(live_app, page):
    own = live_app.viewer_tenant
    others = [t for t in live_app.tenants if t != own]
    assert others, "the seed must hold more than one tenant"
    sign_in(page, live_app.url, "viewer")
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "On-call" not in nav and "Admin" not in nav and "Exports" not in nav
    for path in ("", "explore", "explore?view=list", "trends", "catalog", "oncall", "admin", "exports"):
        page.goto(f"{live_app.url}/{path}")
        wait_idle(page, settle=1.5)
        body = page.locator('[data-testid="stMain"]').inner_text()
        for other in others:
            assert other not in body, (path, other)
        buttons = [b.inner_text().strip() for b in page.locator('[data-testid="stMain"] button').all()]
        assert not [b for b in buttons if WRITE_WORDS.search(b)], (path, buttons)
        assert page.locator('[data-testid="stException"]').count() == 0, path
    # What the viewer can download is their tenant's rows only.
    page.goto(f"{live_app.url}/explore?view=list&range=30d")
    page.get_by_role("button", name="Download CSV").wait_for()
    wait_idle(page)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    rows = list(csv.DictReader(io.StringIO(open(info.value.path()).read())))
    assert rows and {r["tenant_id"] for r in rows} == {own}
    with live_app.engine.connect() as conn:
        start = (datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
                 - timedelta(days=30))
        expected = conn.execute(select(func.count()).select_from(fm).where(
            fm.c.tenant_id == own, fm.c.created_at >= start)).scalar_one()
    assert len(rows) == expected
