"""Overview page on seeded data: tiles equal independent counts, tenant scope, empty and broken database."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from core.schema import failure_matches as fm
from dashboard.ui import fmt_int, fmt_pct
from tests.support.apptest import app_for, shown_text, signed_in


def _range(now):
    # Multi-day presets are whole UTC days ending with today (dashboard.widgets.time_range).
    end = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return end - timedelta(days=7), end


def _count(engine, *conds):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(fm).where(*conds)).scalar_one()


def test_overview_tiles_equal_counts(engine, seeded):
    start, end = _range(seeded.now)
    window = (fm.c.created_at >= start, fm.c.created_at < end)
    total = _count(engine, *window)
    matched = _count(engine, *window, fm.c.catalog_entry_id.is_not(None))
    attempts = _count(engine, *window, fm.c.recovery_attempted.is_(True))
    successes = _count(engine, *window, fm.c.recovery_succeeded.is_(True))
    at = app_for("pages/overview.py", signed_in(engine)).run()
    assert not at.exception, at.exception
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Failures"] == fmt_int(total)
    assert tiles["Hit rate"] == fmt_pct(matched / total)
    assert tiles["Unmatched"] == fmt_int(total - matched)
    assert tiles["Recovery success"] == fmt_pct(successes / attempts)
    assert tiles["Recovery attempts"] == fmt_int(attempts)
    assert "Source: **database**" in shown_text(at)


def test_overview_scoped_viewer_sees_only_own_tenant(engine, seeded):
    start, end = _range(seeded.now)
    total = _count(engine, fm.c.created_at >= start, fm.c.created_at < end, fm.c.tenant_id == "acme")
    at = app_for("pages/overview.py", signed_in(engine, "vic", "viewer", "acme"),
                 {"tenant": "globex"}).run()
    assert not at.exception
    assert {m.label: m.value for m in at.metric}["Failures"] == fmt_int(total)
    assert "globex" not in shown_text(at)


def test_overview_empty_database_says_so(engine):
    at = app_for("pages/overview.py", signed_in(engine)).run()
    assert not at.exception
    assert any("No failures recorded" in i.value for i in at.info)


def test_overview_bad_range_in_link_is_ignored(engine, seeded):
    at = app_for("pages/overview.py", signed_in(engine), {"range": "forever"}).run()
    assert not at.exception
    assert any("range=forever" in w.value for w in at.warning)
    assert at.metric  # the default range is shown


def test_overview_database_down_shows_message(engine, seeded, monkeypatch):
    principal = signed_in(engine)
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    from core.settings import get_settings
    get_settings.cache_clear()
    at = app_for("pages/overview.py", principal).run()
    assert not at.exception
    assert any("database" in e.value.lower() for e in at.error)
