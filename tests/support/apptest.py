"""AppTest helpers: seeded failures for two tenants, signed-in principals, and an app runner per page."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy.engine import Engine
from streamlit.testing.v1 import AppTest

from core.security import Principal
from loaders.ingest.pipeline import IngestPipeline
from queries.accounts import create_user
from queries.failures.recovery import mark_recoveries

ROOT = Path(__file__).resolve().parents[2]
DETAIL_PAGE = "pages/failure.py"
PRINCIPAL_KEY = "failcat_principal"  # dashboard.session.PRINCIPAL_KEY, where production sign-in puts it too


@dataclass(frozen=True)
class Seeded:
    """What the seed put in the database (tests still count independently with SQL)."""

    now: datetime
    tenants: tuple[str, ...]
    recovered_ids: tuple[str, ...]
    failed_ids: tuple[str, ...]


def _events(now: datetime) -> list[dict]:
    events = []
    for i in range(24):
        tenant = "acme" if i % 3 else "globex"
        at = (now - timedelta(hours=2 + i * 2)).isoformat()
        if i % 4 == 0:
            events.append({"tenant_id": tenant, "run_id": f"run-{i % 5}", "error_code": "NET_TIMEOUT",
                           "error_message": f"read timed out after {30 + i}s", "skill_id": "web.fetch",
                           "occurred_at": at, "context": {"attempt": i, "url": "https://example.test/x"}})
        elif i % 4 == 1:
            events.append({"tenant_id": tenant, "run_id": f"run-{i % 5}",
                           "error_message": f"connect ECONNREFUSED 10.0.0.{i}:5432", "skill_id": "db.query",
                           "occurred_at": at})
        else:
            events.append({"tenant_id": tenant, "run_id": f"run-{i % 5}",
                           "error_message": f"widget frobnication failed for order {1000 + i}",
                           "skill_id": "shop.order", "occurred_at": at})
    # One failure outside the default 7-day range, so range filtering is exercised.
    events.append({"tenant_id": "acme", "run_id": "run-old", "error_message": "ancient failure 1",
                   "occurred_at": (now - timedelta(days=20)).isoformat()})
    return events


@pytest.fixture
def seeded(engine: Engine, metrics) -> Seeded:
    """24 failures over two days for tenants acme and globex (+1 older), some recovered or failed."""
    now = datetime.now(UTC)
    report = IngestPipeline(engine, metrics=metrics).ingest(_events(now))
    assert report.inserted == 25, report
    from sqlalchemy import select

    from core.schema import failure_matches as fm
    with engine.connect() as conn:
        ids = [str(r[0]) for r in conn.execute(
            select(fm.c.id).where(fm.c.run_id != "run-old").order_by(fm.c.created_at.desc()))]
    recovered, failed = ids[0:8:2], ids[1:6:2]
    with engine.begin() as conn:
        mark_recoveries(conn, items=[(i, None) for i in recovered], succeeded=True, recovered_by="seed",
                        notes="restarted", source="test")
        mark_recoveries(conn, items=[(i, None) for i in failed], succeeded=False, recovered_by="seed",
                        source="test")
    return Seeded(now=now, tenants=("acme", "globex"), recovered_ids=tuple(recovered), failed_ids=tuple(failed))


@pytest.fixture(autouse=True)
def _fresh_caches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cached query results from an earlier test (or engine) must not leak into this one."""
    monkeypatch.setenv("STREAMLIT_CLIENT_SHOW_ERROR_DETAILS", "full")  # real messages in at.exception
    st.cache_data.clear()
    from dashboard.session import _throttles

    _throttles.clear()  # failed sign-ins of an earlier test must not throttle this one


def signed_in(engine: Engine, name: str = "ana", role: str = "admin", tenant_id: str | None = None) -> Principal:
    """Create the account and return its principal (what the sign-in form would put in the session)."""
    with engine.begin() as conn:
        create_user(conn, name=name, password="correct horse battery", role=role, tenant_id=tenant_id)
    return Principal(name=name, role=role, tenant_id=tenant_id)


def app_for(page: str, principal: Principal | None, query_params: dict[str, str] | None = None) -> AppTest:
    """An AppTest of the real app (app.py, its navigation and role checks) opened on `page`
    (e.g. "pages/overview.py"), signed in as `principal`; not yet run."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    if principal is not None:
        at.session_state[PRINCIPAL_KEY] = principal
    if page != "app.py" and page != DETAIL_PAGE:
        at.switch_page(page)
    elif page == DETAIL_PAGE:
        # Its custom url_path ("failure") is only known to AppTest after one run of app.py.
        at.run()
        at.switch_page(page)
    for key, value in (query_params or {}).items():
        at.query_params[key] = value
    return at


def shown_text(at: AppTest) -> str:
    """All text the page shows in markdown, captions, metrics, alerts and badges (for 'never shows X' checks)."""
    parts: list[str] = []
    for kind in ("markdown", "caption", "title", "header", "subheader", "info", "warning", "error", "success"):
        parts.extend(str(e.value) for e in getattr(at, kind))
    parts.extend(f"{m.label} {m.value}" for m in at.metric)
    for df in at.dataframe:
        parts.append(df.value.to_csv())
    for sb in at.selectbox:
        parts.extend(str(o) for o in sb.options)
    for ms in at.multiselect:
        parts.extend(str(o) for o in ms.options)
    return "\n".join(parts)
