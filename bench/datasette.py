"""Explore beside Datasette: the same three views of the same SQLite file, each opened as a link in a new tab of
headless Chromium, the dashboard's Explore against Datasette's faceted table page.

Views (the time windows are Explore's presets: whole UTC days ending with today):
  tenant_week  one tenant, 7 days         Datasette: tenant_id, created_at >= start, facet on error_code
  all_30d      all tenants, 30 days       Datasette: created_at >= start, facet on error_code
  tenant_code  one tenant and one code, 7 days  Datasette: the same filters, facet on error_code
Both sides are cold in each round: a fresh dashboard (its cached loaders empty) and a fresh Datasette process.
Datasette's SQL and facet time limits are raised so that it computes its whole page (counts and facets) instead
of giving up on them, as the dashboard does.
"""
from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.engine import Engine

from bench import browser
from bench.servers import free_port, serving

DATASETTE = str(Path(sys.executable).with_name("datasette"))
LIMIT_MS = 60_000
# Datasette's page is drawn by the server: it is ready when it has loaded, shows its table and has not changed
# for QUIET_MS; the figure is the later of its load event and its last change.
_STATE = """() => ({
  now: performance.now(), last: window.__fcLast,
  loaded: document.readyState === 'complete',
  load_end: (performance.getEntriesByType('navigation')[0] || {}).loadEventEnd || 0,
  drawn: !!document.querySelector('table.rows-and-columns, .facet-results'),
})"""


def views(tenant: str, code: str, today: date) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
    """View name -> (Explore's URL query, Datasette's URL query) for the same rows."""
    week = (today - timedelta(days=6)).isoformat()
    month = (today - timedelta(days=29)).isoformat()
    facet = {"_facet": "error_code"}
    return {
        "tenant_week": ({"tenant": tenant}, {"tenant_id": tenant, "created_at__gte": week, **facet}),
        "all_30d": ({"range": "30d"}, {"created_at__gte": month, **facet}),
        "tenant_code": ({"tenant": tenant, "code": code},
                        {"tenant_id": tenant, "error_code": code, "created_at__gte": week, **facet}),
    }


@contextmanager
def running_datasette(path: Path) -> Iterator[str]:
    """Address of the failure table in `datasette serve` of the SQLite file at `path`, on a free port."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with serving([DATASETTE, "serve", str(path), "--host", "127.0.0.1", "--port", str(port),
                  "--setting", "sql_time_limit_ms", str(LIMIT_MS), "--setting", "facet_time_limit_ms", str(LIMIT_MS)],
                 f"{base}/-/versions.json", env=dict(os.environ), timeout_s=60):
        yield f"{base}/{path.stem}/failure_matches"


def _datasette_ready(context: Any, address: str, timeout_s: float = 120) -> float:
    page = context.new_page()
    try:
        page.goto(address, wait_until="commit")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = page.evaluate(_STATE)
            if state["loaded"] and state["drawn"] and state["now"] - state["last"] >= browser.QUIET_MS:
                return float(max(state["last"], state["load_end"]))
            time.sleep(0.03)
        raise TimeoutError(f"datasette page {address} not ready within {timeout_s} s")
    finally:
        page.close()


def measure(path: Path, engine: Engine, *, tenant: str, code: str, rounds: int = 3,
            today: date | None = None) -> dict[str, tuple[list[float], list[float]]]:
    """View name -> (Explore's cold link times, Datasette's) over `rounds` rounds, each with fresh servers."""
    from playwright.sync_api import sync_playwright

    browser.ensure_user(engine)
    chosen = views(tenant, code, today or datetime.now(UTC).date())
    out: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in chosen}
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=browser.CHROMIUM,
                                      args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            for _ in range(rounds):
                with browser.running_dashboard(str(engine.url)) as base, running_datasette(path) as table:
                    context = chromium.new_context(viewport=browser.VIEWPORT)
                    context.add_init_script(browser.OBSERVE)
                    browser.sign_in(context, base)
                    for name, (ours, theirs) in chosen.items():
                        out[name][0].append(browser.open_link(context, f"{base}/explore?{urlencode(ours)}"))
                        out[name][1].append(_datasette_ready(context, f"{table}?{urlencode(theirs)}"))
                    context.close()
        finally:
            chromium.close()
    return out
