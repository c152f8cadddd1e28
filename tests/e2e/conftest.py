"""The real dashboard (`streamlit run app.py`) on a seeded test database, driven by headless Chromium."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from cli.dashboard import streamlit_command, streamlit_environment
from core.db import make_engine
from loaders.migrate import migrate
from queries.accounts import create_user
from queries.tenants import list_tenants
from tests.support.servers import free_port as _free_port

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORDS = {"admin": "admin-e2e-pass", "oncall": "oncall-e2e-pass", "viewer": "viewer-e2e-pass"}


@dataclass(frozen=True)
class LiveApp:
    """A running dashboard: its base URL, its database and the tenants it holds."""

    url: str
    engine: Engine
    tenants: list[str]
    viewer_tenant: str


def _wait_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"the dashboard exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - loopback test server
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"the dashboard did not answer {url} within {timeout}s:\n{log.read_text()[-3000:]}")


@contextmanager
def serve_dashboard(db_url: str, tmp: Path) -> Iterator[str]:
    """`failcat dashboard` (streamlit run app.py) on DATABASE_URL=db_url and a free loopback port; yields its URL."""
    env = streamlit_environment({**os.environ, "DATABASE_URL": db_url, "SPOOL_DIR": str(tmp / "spool"),
                                 "EXPORT_FALLBACK_DIR": str(tmp / "fallback")})
    for var in ("PROMETHEUS_URL", "PUSHGATEWAY_URL", "R2_ENDPOINT_URL", "R2_BUCKET"):
        env.pop(var, None)
    port = _free_port()
    log = tmp / "streamlit.log"
    with log.open("w") as out:
        # The command `failcat dashboard` runs, on a free port.
        proc = subprocess.Popen(streamlit_command("127.0.0.1", port), cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        _wait_http(f"http://127.0.0.1:{port}/_stcore/health", proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def add_demo_users(engine: Engine, viewer_tenant: str) -> None:
    """The admin, oncall and viewer accounts the tests sign in with (PASSWORDS)."""
    with engine.begin() as conn:
        create_user(conn, name="admin", password=PASSWORDS["admin"], role="admin", tenant_id=None)
        create_user(conn, name="oncall", password=PASSWORDS["oncall"], role="oncall", tenant_id=None)
        create_user(conn, name="viewer", password=PASSWORDS["viewer"], role="viewer", tenant_id=viewer_tenant)


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    """Migrate and seed a SQLite database (failcat seed), add admin/oncall/viewer, serve app.py on a free port."""
    tmp = tmp_path_factory.mktemp("e2e")
    db_url = f"sqlite:///{tmp / 'failcat.db'}"
    engine = make_engine(db_url)
    migrate(engine)
    env = {**os.environ, "DATABASE_URL": db_url, "SPOOL_DIR": str(tmp / "spool")}
    seed = subprocess.run(
        [str(Path(sys.executable).parent / "failcat"), "seed", "--events", "2000", "--tenants", "3", "--days", "14",
         "--seed", "42", "--no-progress"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert seed.returncode == 0, seed.stderr
    with engine.connect() as conn:
        tenants = list_tenants(conn, tenant_id=None)
    add_demo_users(engine, tenants[0])
    try:
        with serve_dashboard(db_url, tmp) as url:
            yield LiveApp(url=url, engine=engine, tenants=tenants, viewer_tenant=tenants[0])
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Headless Debian Chromium through Playwright (no downloaded browser)."""
    from playwright.sync_api import Error, sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/ensure_services.sh)")
    with sync_playwright() as pw:
        try:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except Error as exc:
            pytest.fail(f"cannot start {CHROMIUM}: {exc}")
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):  # type: ignore[no-untyped-def]
    """A fresh browser context (own cookies) and page, wide enough for the dashboard."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


def wait_idle(page, settle: float = 0.8) -> None:  # type: ignore[no-untyped-def]
    """Wait until the Streamlit script run is over (no running indicator) and charts had time to draw."""
    page.wait_for_selector('[data-testid="stApp"]')
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        running = page.locator('[data-testid="stStatusWidget"]').count()
        if not running:
            break
        time.sleep(0.2)
    time.sleep(settle)


def sign_in(page, base: str, user: str, path: str = "") -> None:  # type: ignore[no-untyped-def]
    """Sign in through the form (the session cookie is set by the app)."""
    page.goto(f"{base}/{path}")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password", exact=True).fill(PASSWORDS[user])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Sign out").wait_for()
    wait_idle(page)


def screenshot(page, name: str) -> Path:  # type: ignore[no-untyped-def]
    """Save the whole page (the main area scrolls inside the app, so grow the viewport to fit it)."""
    wait_idle(page, settle=1.5)
    height = page.evaluate(
        "() => { const m = document.querySelector('[data-testid=\"stMain\"]');"
        " const b = m && m.querySelector('[data-testid=\"stMainBlockContainer\"]');"
        " return Math.ceil((b || m || document.body).scrollHeight) + 40; }"
    )
    page.set_viewport_size({"width": 1440, "height": max(900, min(int(height), 4000))})
    time.sleep(1.0)
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    page.set_viewport_size({"width": 1440, "height": 1000})
    return path
