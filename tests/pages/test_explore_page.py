"""Explore on seeded data: URL filters, grouped counts, keyset list, CSV, tenant scope and bad links."""
from __future__ import annotations

import io
from datetime import UTC, timedelta

import pandas as pd
from sqlalchemy import func, select

from core.schema import failure_matches as fm
from dashboard.explore import export_csv
from dashboard.ui import fmt_int
from queries.failures.filters import FailureFilter
from tests.support.apptest import app_for, shown_text, signed_in


def _window(now):
    # Multi-day presets are whole UTC days ending with today (dashboard.widgets.time_range).
    end = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return fm.c.created_at >= end - timedelta(days=7), fm.c.created_at < end


def _count(engine, *conds):
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(fm).where(*conds)).scalar_one()


def test_explore_code_from_url_filters_counts_and_groups(engine, seeded):
    expected = _count(engine, *_window(seeded.now), fm.c.error_code == "NET_TIMEOUT")
    at = app_for("pages/explore.py", signed_in(engine), {"code": "NET_TIMEOUT"}).run()
    assert not at.exception, at.exception
    assert at.multiselect(key="f_code").value == ["NET_TIMEOUT"]
    assert at.metric[0].value == fmt_int(expected)
    groups = at.dataframe[0].value
    assert groups["key"].tolist() == ["NET_TIMEOUT"]
    assert groups["failures"].tolist() == [expected]
    assert sum(groups["sparkline"].iloc[0]) == expected
    assert at.query_params["code"] in ("NET_TIMEOUT", ["NET_TIMEOUT"])


def test_explore_grouped_by_category_and_list_view(engine, seeded):
    window = _window(seeded.now)
    at = app_for("pages/explore.py", signed_in(engine), {"group": "signature", "view": "grouped"}).run()
    assert not at.exception
    with engine.connect() as conn:
        n_sigs = conn.execute(select(func.count(func.distinct(fm.c.signature))).where(*window)).scalar_one()
    assert len(at.dataframe[0].value) == n_sigs
    at = app_for("pages/explore.py", signed_in(engine, "bo"), {"view": "list", "status": "recovered"}).run()
    assert not at.exception
    listed = at.dataframe[0].value
    assert sorted(listed["id"]) == sorted(seeded.recovered_ids)


def test_explore_keyset_pages_cover_all_rows(engine, seeded):
    total = _count(engine, *_window(seeded.now))
    at = app_for("pages/explore.py", signed_in(engine), {"view": "list"})
    at.session_state["x_size"] = 50
    at.run()
    assert not at.exception
    assert len(at.dataframe[0].value) == total  # 24 rows in range < 50: one page
    assert at.button[1].disabled  # "Older" has nowhere to go


def test_explore_csv_is_what_the_filter_selects(engine, seeded):
    filt = FailureFilter(tenant_id="globex")
    csv = pd.read_csv(io.StringIO(export_csv(filt)))
    assert len(csv) == _count(engine, fm.c.tenant_id == "globex")
    assert set(csv["tenant_id"]) == {"globex"}


def test_explore_scoped_viewer_never_sees_other_tenant(engine, seeded):
    expected = _count(engine, *_window(seeded.now), fm.c.tenant_id == "globex")
    at = app_for("pages/explore.py", signed_in(engine, "gina", "viewer", "globex"),
                 {"tenant": "acme", "view": "list"}).run()
    assert not at.exception
    assert at.metric[0].value == fmt_int(expected)
    assert "acme" not in shown_text(at)


def test_explore_bad_url_values_are_reported_not_raised(engine, seeded):
    at = app_for("pages/explore.py", signed_in(engine),
                 {"status": "sideways", "severity": "apocalyptic", "range": "custom", "from": "2026-99-01"}).run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "status=sideways" in warnings and "apocalyptic" in warnings and "from=2026-99-01" in warnings


def test_explore_empty_filter_says_so(engine, seeded):
    at = app_for("pages/explore.py", signed_in(engine), {"q": "no such text anywhere"}).run()
    assert not at.exception
    assert any("No failures match" in i.value for i in at.info)


def test_explore_and_detail_database_down_show_message(engine, seeded, monkeypatch):
    principal = signed_in(engine)
    fid = seeded.recovered_ids[0]
    monkeypatch.setenv("DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    from core.settings import get_settings
    get_settings.cache_clear()
    for page, params in (("pages/explore.py", {}), ("pages/failure.py", {"id": fid})):
        at = app_for(page, principal, params).run()
        assert not at.exception, page
        assert any("database" in e.value.lower() for e in at.error), page


def test_explore_custom_dates_from_url(engine, seeded):
    from datetime import datetime, time
    first = (seeded.now - timedelta(days=1)).date()
    last = seeded.now.date()
    start = datetime.combine(first, time.min, tzinfo=UTC)
    end = datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC)
    expected = _count(engine, fm.c.created_at >= start, fm.c.created_at < end)
    at = app_for("pages/explore.py", signed_in(engine),
                 {"range": "custom", "from": first.isoformat(), "to": last.isoformat()}).run()
    assert not at.exception
    assert at.metric[0].value == fmt_int(expected)
    assert at.date_input(key="f_range_dates").value == (first, last)


def _by_size(df):
    cols = ["key", "failures", "matched", "recovered", "first_seen", "last_seen", "category"]
    return sorted(df[cols].to_dict("records"), key=lambda r: (-r["failures"], str(r["key"])))


def test_grouped_view_from_rollups_equals_raw_rows(engine, seeded):
    from queries.failures.explore import _rollup_answerable, get_groups
    end = seeded.now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    tiny = timedelta(microseconds=1)
    cases = [FailureFilter(start=end - timedelta(days=7), end=end),
             FailureFilter(tenant_id="acme", matched=True, start=end - timedelta(days=30), end=end)]
    with engine.connect() as conn:
        for filt in cases:
            raw_filt = FailureFilter(tenant_id=filt.tenant_id, matched=filt.matched, start=filt.start - tiny,
                                     end=filt.end - tiny)  # not whole hours: forces the raw-row path
            assert _rollup_answerable(filt) and not _rollup_answerable(raw_filt)
            for by in ("error_code", "category"):
                fast = get_groups(conn, filt=filt, by=by).drop(columns="sparkline")
                raw = get_groups(conn, filt=raw_filt, by=by)
                assert [sum(s) for s in get_groups(conn, filt=filt, by=by)["sparkline"]] == raw["failures"].tolist()
                raw = raw.drop(columns="sparkline")
                assert _by_size(fast) == _by_size(raw), (filt, by)  # ties may come in another order


def test_explore_grouped_by_category_shows_misses_as_none(engine, seeded):
    at = app_for("pages/explore.py", signed_in(engine), {"group": "category"}).run()
    assert not at.exception
    table = at.dataframe[0].value
    with engine.connect() as conn:
        window = _window(seeded.now)
        misses = conn.execute(select(func.count()).select_from(fm).where(*window, fm.c.category.is_(None))).scalar()
    assert table.loc[table["key"] == "(none)", "failures"].tolist() == [misses]
