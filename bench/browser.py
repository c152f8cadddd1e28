"""Pages in the browser: milliseconds from navigation until a page's content is drawn and nothing runs any more,
in headless Chromium (Debian's, driven by Playwright), signed in, at 1440x900.

A page is ready when Streamlit's running indicator is gone, the page's title is drawn and the document has not
changed for QUIET_MS; the figure is the time of its last change. Two ways in:
  link     the page's address opened in a new tab (a new document: sign-in cookie, websocket, first run);
  sidebar  a click on the page's entry in the sidebar of a page already open (the same document).
Cold is the first time a page runs after the dashboard started (its cached loaders empty); warm is the median of
the next `reps` times. A dashboard is started for each database and each cold pass.
"""
from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import Engine

from bench.servers import free_port, serving
from queries.accounts import create_user

ROOT = Path(__file__).resolve().parents[1]
FAILCAT = str(Path(sys.executable).with_name("failcat"))
CHROMIUM = "/usr/bin/chromium"
USER, PASSWORD = "bench-browser", "bench-browser-password-1"
SESSION_COOKIE = "failcat_session"  # dashboard.session.COOKIE_NAME (not imported: dashboard/ imports streamlit)
QUIET_MS = 300
VIEWPORT: Any = {"width": 1440, "height": 900}  # playwright's ViewportSize
# page name -> (address, sidebar label); the detail page is reached through links only.
PAGES: dict[str, tuple[str, str | None]] = {
    "overview": ("", "Overview"), "explore": ("explore", "Explore"), "trends": ("trends", "Trends"),
    "catalog": ("catalog", "Catalog"), "oncall": ("oncall", "On-call"), "exports": ("exports", "Exports"),
    "admin": ("admin", "Admin"), "failure_detail": ("failure?id={failure_id}", None),
}
# Every change to the document is time-stamped (performance.now(), from the navigation of this document).
OBSERVE = """
window.__fcLast = performance.now();
new MutationObserver(() => { window.__fcLast = performance.now(); })
  .observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
"""
_STATE = """() => ({
  now: performance.now(), last: window.__fcLast,
  running: document.querySelectorAll('[data-testid="stStatusWidget"]').length,
  title: document.querySelectorAll('[data-testid="stMain"] h1').length,
  signin: [...document.querySelectorAll('button')].some(b => b.innerText.trim() === 'Sign in'),
  error: (document.querySelector('[data-testid="stException"], [data-testid="stAlertContentError"]') || {}).innerText,
})"""


@dataclass
class PageFigures:
    """One page's times on one database."""

    link_cold: list[float] = field(default_factory=list)
    link_warm: list[float] = field(default_factory=list)
    sidebar_cold: list[float] = field(default_factory=list)
    sidebar_warm: list[float] = field(default_factory=list)


def ensure_user(engine: Engine) -> None:
    """The admin account the browser signs in with (all tenants)."""
    from sqlalchemy import select

    from core.schema import users

    with engine.begin() as conn:
        if conn.execute(select(users.c.id).where(users.c.name == USER)).first() is None:
            create_user(conn, name=USER, password=PASSWORD, role="admin", tenant_id=None)


@contextmanager
def running_dashboard(url: str) -> Iterator[str]:
    """Base URL of `failcat dashboard` serving `url` on a free port; stopped afterwards."""
    port = free_port()
    env = {**{k: v for k, v in os.environ.items() if k != "METRICS_PORT"}, "DATABASE_URL": url, "PROMETHEUS_URL": "",
           "SPOOL_DIR": tempfile.mkdtemp(prefix="failcat-bench-spool-")}
    base = f"http://127.0.0.1:{port}"
    with serving([FAILCAT, "dashboard", "--host", "127.0.0.1", "--port", str(port)], f"{base}/_stcore/health",
                 env=env, cwd=ROOT):
        yield base


def ready_at(page: Any, since: float, timeout_s: float = 60) -> float:
    """Milliseconds from `since` (performance.now() of the document) to the last change before the page settled;
    a change after `since` is required, so a page that has not started drawing yet is not taken as ready."""
    deadline = time.monotonic() + timeout_s
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = page.evaluate(_STATE)
        if state.get("error"):
            raise RuntimeError(f"page {page.url} shows an error: {state['error'][:300]}")
        settled = state["now"] - state["last"] >= QUIET_MS and state["last"] > since
        if settled and not state["running"] and state["title"] and not state["signin"]:
            return float(state["last"] - since)
        time.sleep(0.03)
    where = "the sign-in form" if state.get("signin") else "a page still drawing"
    raise TimeoutError(f"page {page.url} not ready within {timeout_s} s ({where})")


def sign_in(context: Any, base: str) -> None:
    """Sign the browser context in as the bench admin; new tabs of it carry the session cookie."""
    page = context.new_page()
    page.goto(base)
    page.get_by_label("User name").fill(USER)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for(timeout=60_000)
    # The session cookie is written by the page's script after the sign-in run: new tabs need it.
    deadline = time.monotonic() + 30
    while not any(c["name"] == SESSION_COOKIE for c in context.cookies()):
        if time.monotonic() > deadline:
            raise RuntimeError("the dashboard set no session cookie after signing in")
        time.sleep(0.1)
    page.close()


def open_link(context: Any, address: str) -> float:
    """Milliseconds until the dashboard page at `address`, opened in a new tab, is ready."""
    page = context.new_page()
    try:
        page.goto(address, wait_until="commit")
        return ready_at(page, 0.0)
    finally:
        page.close()


def _via_sidebar(page: Any, label: str, address: str) -> float:
    since = float(page.evaluate("() => performance.now()"))
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=label, exact=True).click()
    page.wait_for_url(lambda url: urlsplit(url).path.rstrip("/").endswith(address.split("?")[0]))
    return ready_at(page, since)


def measure(url: str, engine: Engine, *, failure_id: str, reps: int = 3) -> dict[str, PageFigures]:
    """Cold and warm, link and sidebar times of every page of the dashboard serving `url`."""
    from playwright.sync_api import sync_playwright

    ensure_user(engine)
    figures = {name: PageFigures() for name in PAGES}
    addresses = {name: path.format(failure_id=failure_id) for name, (path, _) in PAGES.items()}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            # Links: each page's first run after the start is its cold figure, the next ones warm.
            with running_dashboard(url) as base:
                context = browser.new_context(viewport=VIEWPORT)
                context.add_init_script(OBSERVE)
                sign_in(context, base)
                for name, address in addresses.items():
                    figures[name].link_cold.append(open_link(context, f"{base}/{address}"))
                for _ in range(reps):
                    for name, address in addresses.items():
                        figures[name].link_warm.append(open_link(context, f"{base}/{address}"))
                context.close()
            # Sidebar: a fresh dashboard, Overview opened, then every page clicked in turn (cold), then again.
            with running_dashboard(url) as base:
                context = browser.new_context(viewport=VIEWPORT)
                context.add_init_script(OBSERVE)
                sign_in(context, base)
                page = context.new_page()
                page.goto(f"{base}/{addresses['failure_detail']}")  # the one page outside the sidebar
                ready_at(page, 0.0)
                order = [n for n, (_, label) in PAGES.items() if label]
                for name in order:
                    figures[name].sidebar_cold.append(_via_sidebar(page, PAGES[name][1] or "", addresses[name]))
                for _ in range(reps):
                    for name in order:
                        figures[name].sidebar_warm.append(_via_sidebar(page, PAGES[name][1] or "", addresses[name]))
                context.close()
        finally:
            browser.close()
    return figures


def median(values: list[float]) -> float | None:
    """The median, or None for no values."""
    return statistics.median(values) if values else None
