"""The dashboard's session cookie in a real browser: what it holds, how long it lives, and that it is worthless
once its session ends."""
from __future__ import annotations

import time

import pytest

from tests.e2e.conftest import sign_in, wait_idle

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
