"""Known data for the on-call, trends, catalog and promotion tests, stored through the real ingest path.

t1 (current week): 3 NET_TIMEOUT, 2 NET_CONNECTION_REFUSED, 4 unmatched "frobnicator" messages,
1 unmatched ZEBRA_NEW code; t1 (week before): 5 NET_CONNECTION_REFUSED, 1 NET_TIMEOUT;
t2 (current week): 2 NET_TIMEOUT, 3 "frobnicator" messages, 1 T2_SECRET_CODE.
Then in t1 two NET_TIMEOUT are marked recovered and one NET_CONNECTION_REFUSED failed.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from core.schema import failure_matches as fm
from core.schema import users
from core.security import Principal
from core.types import utcnow
from loaders.ingest.pipeline import IngestPipeline
from queries.accounts import create_user
from queries.failures.recovery import mark_recoveries

FROB = "frobnicator widget exploded at stage {n} on shard {s}"
SECRET_CODE = "T2_SECRET_CODE"
PASSWORD = "correct-horse-9"


@dataclass(frozen=True)
class Seeded:
    """Where the seeded window lies."""

    now: datetime
    start: datetime
    end: datetime


def seed(engine: Engine) -> Seeded:
    """Store the data described in the module docstring; returns the current window [start, end)."""
    now = utcnow().replace(minute=30, second=0, microsecond=0) - timedelta(hours=1)
    ev = []

    def add(tenant: str, hours_ago: float, message: str, code: str | None = None, run: str = "r") -> None:
        item = {"tenant_id": tenant, "run_id": f"{run}{len(ev)}", "error_message": message,
                "occurred_at": (now - timedelta(hours=hours_ago)).isoformat(), "skill_id": "s1"}
        if code:
            item["error_code"] = code
        ev.append(item)

    for h in (1, 5, 30):
        add("t1", h, "upstream read timed out", "NET_TIMEOUT")
    for h in (2, 50):
        add("t1", h, "connect ECONNREFUSED 10.0.0.1:5432", "NET_CONNECTION_REFUSED")
    for i, h in enumerate((3, 4, 26, 75)):
        add("t1", h, FROB.format(n=i, s=10 + i))
    add("t1", 6, "zebra gizmo wobbled 7 times", "ZEBRA_NEW")
    for h in (24 * 8, 24 * 9, 24 * 9 + 1, 24 * 10, 24 * 11):
        add("t1", h, "connect ECONNREFUSED 10.0.0.2:5432", "NET_CONNECTION_REFUSED")
    add("t1", 24 * 8 + 3, "read timed out", "NET_TIMEOUT")
    for h in (2, 40):
        add("t2", h, "read timed out", "NET_TIMEOUT")
    for i, h in enumerate((1, 7, 8)):
        add("t2", h, FROB.format(n=100 + i, s=i))
    add("t2", 9, "secret thing happened 42", SECRET_CODE)
    report = IngestPipeline(engine).ingest(ev)
    assert report.inserted == len(ev), report.errors
    with engine.begin() as conn:
        ids = lambda code: [  # noqa: E731
            (r.id, r.version) for r in conn.execute(
                select(fm.c.id, fm.c.version).where(fm.c.tenant_id == "t1", fm.c.error_code == code,
                                                    fm.c.created_at >= now - timedelta(days=7))
                .order_by(fm.c.created_at)
            )
        ]
        mark_recoveries(conn, items=ids("NET_TIMEOUT")[:2], succeeded=True, recovered_by="seed")
        mark_recoveries(conn, items=ids("NET_CONNECTION_REFUSED")[:1], succeeded=False, recovered_by="seed")
    return Seeded(now=now, start=now - timedelta(days=7), end=now + timedelta(hours=1))


def add_user(engine: Engine, name: str, role: str, tenant: str | None) -> Principal:
    """Create a dashboard account (the session re-reads it from the users table) and return its principal."""
    with engine.begin() as conn:
        if conn.execute(select(func.count()).select_from(users).where(users.c.name == name)).scalar() == 0:
            create_user(conn, name=name, password=PASSWORD, role=role, tenant_id=tenant)
    return Principal(name=name, role=role, tenant_id=tenant)


def page_buttons(at) -> list:  # type: ignore[no-untyped-def]
    """Buttons a page drew, without the app frame's own Sign out button."""
    return [b for b in at.button if b.key != "sign_out"]


@pytest.fixture(autouse=True)
def app_navigation_mode(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run app.py's st.navigation from each AppTest run's start (import this fixture into a page test module).

    AppTest resets Streamlit's pages-folder mode before every run, so without this each run first executes
    the page alone, dashboard.session.require() reruns through app.py, and the rerun drops the click being
    tested (form submits, buttons). The app always uses st.navigation, so the pages-folder mode never applies.
    """
    from streamlit.runtime.pages_manager import PagesManager

    original = PagesManager.__init__

    def init(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(self, *args, **kwargs)
        PagesManager.uses_pages_directory = False

    monkeypatch.setattr(PagesManager, "__init__", init)
    yield
