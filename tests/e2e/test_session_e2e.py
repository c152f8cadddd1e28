"""The dashboard's session cookie in a real browser: what it holds, how long it lives, and that it is worthless
once its session ends."""
from __future__ import annotations

import time

import pytest

from core.db import make_engine
from core.metrics import FailcatMetrics
from loaders.ingest.pipeline import IngestPipeline
from loaders.migrate import migrate
from tests.e2e.conftest import add_demo_users, serve_dashboard, sign_in, wait_idle

pytestmark = pytest.mark.e2e


def test_a_cookie_replayed_after_sign_out_signs_nobody_in(live_app, browser, page):
    sign_in(page, live_app.url, "oncall")
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "failcat_session"]
    assert "oncall" not in cookie["value"]  # a random token, not the user's name
    assert cookie["sameSite"] == "Strict"
    assert 0 < cookie["expires"] - time.time() <= 12 * 3600 + 60  # SESSION_HOURS, not a month

    other = browser.new_context(viewport={"width": 1440, "height": 1000})
    try:
        other.add_cookies([{**cookie}])
        replay = other.new_page()
        replay.goto(live_app.url)
        replay.get_by_role("button", name="Sign out").wait_for()  # the cookie works while the session lives
        page.get_by_role("button", name="Sign out").click()
        page.get_by_label("User name").wait_for()
        again = other.new_page()
        again.goto(live_app.url)
        wait_idle(again)
        again.get_by_label("User name").wait_for()
        assert again.get_by_role("button", name="Sign out").count() == 0
    finally:
        other.close()


@pytest.mark.parametrize("path", ["failure?id={fid}", "explore?view=list", "oncall", "overview"])
def test_a_fresh_servers_first_request_may_be_a_deep_link(tmp_path, page, path):
    db_url = f"sqlite:///{tmp_path / 'fresh.db'}"
    engine = make_engine(db_url)
    migrate(engine)
    report = IngestPipeline(engine, metrics=FailcatMetrics()).ingest(
        [{"tenant_id": "acme", "run_id": "r1", "error_message": "connect ECONNREFUSED 10.0.0.1:5432"}])
    add_demo_users(engine, "acme")
    try:
        with serve_dashboard(db_url, tmp_path) as url:
            page.goto(f"{url}/{path.format(fid=report.ids[0])}")
            page.get_by_label("User name").wait_for()
            wait_idle(page)
            # Streamlit would answer a path it does not know with a "Page not found" dialog over the form.
            assert page.get_by_role("dialog").count() == 0, page.get_by_role("dialog").all_inner_texts()
            sign_in(page, url, "admin", path.format(fid=report.ids[0]))
            assert not page.locator('[data-testid="stException"]').count()
            assert page.get_by_role("dialog").count() == 0, page.get_by_role("dialog").all_inner_texts()
            if path == "overview":  # the alias opens the Overview itself, which answers at /
                page.get_by_text("Failures").first.wait_for()
            else:
                assert path.split("?")[0] in page.url
    finally:
        engine.dispose()
