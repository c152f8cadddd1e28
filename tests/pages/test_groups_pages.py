"""Groups on the pages: On-call's queue of groups and Explore's Groups and New views (their filters, the notice
of filters groups cannot take, their CSV), checked against raw rows."""
from __future__ import annotations

import io
from datetime import timedelta

import pandas as pd
import streamlit as st
from sqlalchemy import func, select

from core.ids import group_id
from core.schema import failure_groups as g
from core.schema import failure_matches as fm
from core.types import utcnow
from dashboard.explore import GROUPS_CSV_COLUMNS, export_groups_csv
from dashboard.ui import fmt_int
from loaders.ingest.pipeline import IngestPipeline
from queries.groups.reads import GroupFilter
from queries.groups.triage import Triage, update_group
from tests.support.apptest import app_for, signed_in
from tests.support.ops_seed import app_navigation_mode, seed  # noqa: F401  (autouse)


def _raw_groups(engine, *conds):
    """(tenant, signature) -> (count, first seen, last seen), counted from failure_matches alone."""
    q = (select(fm.c.tenant_id, fm.c.signature, func.count(), func.min(fm.c.created_at), func.max(fm.c.created_at))
         .group_by(fm.c.tenant_id, fm.c.signature))
    if conds:
        q = q.having(*conds)
    with engine.connect() as conn:
        return {(t, s): (n, lo, hi) for t, s, n, lo, hi in conn.execute(q)}


def _shown(at):
    table = at.dataframe[0].value
    return {(t, s): n for t, s, n in zip(table["tenant_id"], table["signature"], table["failures"], strict=True)}


def test_oncall_opens_on_the_groups_of_every_unresolved_failure(engine):
    seed(engine)
    at = app_for("pages/oncall.py", signed_in(engine, "olga", "oncall")).run()
    assert not at.exception, at.exception
    raw = _raw_groups(engine)
    assert {k: v[0] for k, v in raw.items()} == _shown(at)
    assert {m.label: m.value for m in at.metric}["Unresolved groups"] == fmt_int(len(raw))
    table = at.dataframe[0].value
    assert table["severity_rank"].tolist() == sorted(table["severity_rank"])  # most severe first
    assert table["title"].str.len().min() > 0 and not table["title"].str.fullmatch(r"[0-9a-f]{16,}").any()


def test_a_regressed_group_heads_the_queue_and_says_so(engine):
    seed(engine)
    key = ("t1", _signature_of(engine, "t1", "upstream read timed out"))
    with engine.begin() as conn:
        update_group(conn, group_id=group_id(*key), tenant_id=None, triage=Triage(state="resolved"),
                     actor="olga", source="test", now=utcnow())
    olga = signed_in(engine, "olga", "oncall")
    at = app_for("pages/oncall.py", olga).run()
    assert key not in _shown(at)  # resolved groups leave the queue
    IngestPipeline(engine).ingest([{"tenant_id": "t1", "run_id": "again", "error_code": "NET_TIMEOUT",
                                    "error_message": "upstream read timed out",
                                    "occurred_at": utcnow().isoformat()}])  # after the resolution
    st.cache_data.clear()  # the queue is cached for 15 s; the next load after that sees the new failure
    at = app_for("pages/oncall.py", olga).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert (table["tenant_id"].iloc[0], table["signature"].iloc[0]) == key
    assert table["flag"].iloc[0] == "regressed" and table["flag"].iloc[1:].eq("").all()
    assert {m.label: m.value for m in at.metric}["Regressed"] == "1"


def test_oncall_groups_of_a_tenant_bound_person_are_its_own(engine):
    seed(engine)
    at = app_for("pages/oncall.py", signed_in(engine, "tom", "oncall", tenant_id="t2")).run()
    assert not at.exception, at.exception
    assert set(_shown(at)) == {k for k in _raw_groups(engine) if k[0] == "t2"}


def test_explore_new_lists_the_groups_whose_first_failure_is_in_the_range(engine):
    seeded = seed(engine)
    at = app_for("pages/explore.py", signed_in(engine), {"view": "new"}).run()
    assert not at.exception, at.exception
    # The 7-day preset is whole UTC days ending with today (dashboard.widgets.time_range).
    start = seeded.now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=6)
    raw = _raw_groups(engine, func.min(fm.c.created_at) >= start)
    old = _raw_groups(engine, func.min(fm.c.created_at) < start)
    assert raw and old  # both kinds exist, so the view really selects
    assert _shown(at) == {k: v[0] for k, v in raw.items()}
    assert at.metric[0].label == "New groups" and at.metric[0].value == fmt_int(len(raw))
    table = at.dataframe[0].value
    assert list(table["first_seen"]) == sorted(table["first_seen"], reverse=True)


def test_explore_groups_sorted_by_count_sort_the_whole_result_on_the_server(engine):
    seed(engine)
    at = app_for("pages/explore.py", signed_in(engine), {"view": "groups", "gsort": "count"}).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    assert list(table["failures"]) == sorted(table["failures"], reverse=True)
    raw = _raw_groups(engine)
    # Lifetime counts: the connection-refused group of t1 has failures older than the 7-day range too.
    assert _shown(at) == {k: v[0] for k, v in raw.items() if k in _shown(at)}
    assert table["failures"].iloc[0] == max(v[0] for v in raw.values())


def test_explore_groups_state_filter_from_the_link(engine):
    seed(engine)
    key = ("t2", _signature_of(engine, "t2", "read timed out"))
    with engine.begin() as conn:
        update_group(conn, group_id=group_id(*key), tenant_id=None,
                     triage=Triage(state="ignored"), actor="olga", source="test", now=utcnow())
    at = app_for("pages/explore.py", signed_in(engine), {"view": "groups", "gstate": "ignored"}).run()
    assert not at.exception, at.exception
    assert list(_shown(at)) == [key]
    assert at.dataframe[0].value["state"].iloc[0].startswith("ignored")


def _signature_of(engine, tenant, message):
    with engine.connect() as conn:
        return conn.execute(select(fm.c.signature).where(fm.c.tenant_id == tenant, fm.c.error_message == message)
                            .limit(1)).scalar_one()


def test_oncall_ignored_tab_says_until_when_or_for_how_many_more_failures(engine):
    seed(engine)
    timed = ("t1", _signature_of(engine, "t1", "upstream read timed out"))
    counted = ("t2", _signature_of(engine, "t2", "read timed out"))
    forever = ("t1", _signature_of(engine, "t1", "zebra gizmo wobbled 7 times"))
    until = (utcnow() + timedelta(days=3)).replace(second=0, microsecond=0)
    with engine.begin() as conn:
        for key, change in ((timed, Triage(state="ignored", ignore_until=until)),
                            (counted, Triage(state="ignored", ignore_failures=100)),
                            (forever, Triage(state="ignored"))):
            update_group(conn, group_id=group_id(*key), tenant_id=None, triage=change, actor="olga", source="test",
                         now=utcnow())
        left = conn.execute(select(g.c.ignore_until_failures - g.c.failures)
                            .where(g.c.id == group_id(*counted))).scalar_one()
    at = app_for("pages/oncall.py", signed_in(engine, "olga", "oncall"), {"state": "ignored"}).run()
    assert not at.exception, at.exception
    table = at.dataframe[0].value
    states = dict(zip(zip(table["tenant_id"], table["signature"], strict=True), table["state"], strict=True))
    assert left == 100
    assert states == {timed: f"ignored until {until:%m-%d %H:%M} UTC",  # the viewer's zone: UTC in AppTest
                      counted: f"ignored for {left} more failures", forever: "ignored"}


def _latest(engine, column):
    """(tenant, signature) -> the column's value in the group's latest failure (what a group row carries)."""
    with engine.connect() as conn:
        rows = conn.execute(select(fm.c.tenant_id, fm.c.signature, column)
                            .order_by(fm.c.created_at, fm.c.id)).all()
    return {(t, s): v for t, s, v in rows}  # later rows overwrite earlier ones


def _week_start(seeded):
    # The 7-day preset is whole UTC days ending with today (dashboard.widgets.time_range).
    return seeded.now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=6)


def test_explore_groups_severity_filter_selects_the_groups_of_that_severity(engine):
    seeded = seed(engine)
    severity = _latest(engine, fm.c.severity)
    at = app_for("pages/explore.py", signed_in(engine), {"view": "groups", "severity": "medium"}).run()
    assert not at.exception, at.exception
    raw = _raw_groups(engine, func.max(fm.c.created_at) >= _week_start(seeded))
    expected = {k: v[0] for k, v in raw.items() if severity[k] == "medium"}
    assert expected and len(expected) < len(raw)  # the filter really selects
    assert _shown(at) == expected
    assert at.metric[0].value == fmt_int(len(expected))
    assert not at.info  # severity describes a group: nothing is reported as not applied


def test_explore_groups_and_new_signature_filter_is_the_exact_fingerprint(engine):
    seeded = seed(engine)
    sig = _signature_of(engine, "t1", "upstream read timed out")
    for view, cond in (("groups", func.max(fm.c.created_at) >= _week_start(seeded)),
                       ("new", func.min(fm.c.created_at) >= _week_start(seeded))):
        at = app_for("pages/explore.py", signed_in(engine, f"ana_{view}"), {"view": view, "sig": sig}).run()
        assert not at.exception, at.exception
        expected = {k: v[0] for k, v in _raw_groups(engine, cond, fm.c.signature == sig).items()}
        assert expected and _shown(at) == expected, view
    at = app_for("pages/explore.py", signed_in(engine, "ana_prefix"), {"view": "groups", "sig": sig[:8]}).run()
    assert any("No groups match" in i.value for i in at.info)  # exact, not a prefix


def test_explore_groups_message_text_searches_titles_and_codes(engine):
    seeded = seed(engine)
    code = _latest(engine, fm.c.error_code)
    at = app_for("pages/explore.py", signed_in(engine), {"view": "groups", "q": "net_conn"}).run()
    assert not at.exception, at.exception
    raw = _raw_groups(engine, func.max(fm.c.created_at) >= _week_start(seeded))
    expected = {k: v[0] for k, v in raw.items() if code[k] == "NET_CONNECTION_REFUSED"}
    assert expected and _shown(at) == expected  # "_" is a literal character, not a wildcard
    assert any("titles (message templates) and error codes" in c.value for c in at.caption)


def test_explore_groups_report_failure_filters_they_cannot_apply(engine):
    seeded = seed(engine)
    at = app_for("pages/explore.py", signed_in(engine),
                 {"view": "groups", "run": "nonexistent", "status": "recovered"}).run()
    assert not at.exception, at.exception
    notices = " ".join(i.value for i in at.info)
    assert "Recovery status, Run id don't apply to groups" in notices and "switch to Failures" in notices
    raw = _raw_groups(engine, func.max(fm.c.created_at) >= _week_start(seeded))
    assert _shown(at) == {k: v[0] for k, v in raw.items()}  # shown unfiltered, and said so above
    assert at.metric[0].value == fmt_int(len(raw))
    # The tester's link: signature and severity select, the run id is named as not applied.
    sig = _signature_of(engine, "t1", "upstream read timed out")
    at = app_for("pages/explore.py", signed_in(engine, "ana2"),
                 {"view": "groups", "sig": sig, "severity": "critical", "run": "nonexistent"}).run()
    assert not at.exception, at.exception
    assert at.metric[0].value == "0"
    assert any("Run id doesn't apply to groups" in i.value for i in at.info)


def test_explore_groups_csv_holds_the_groups_in_the_sort_with_formula_cells_escaped(engine):
    seed(engine)
    IngestPipeline(engine).ingest([{"tenant_id": "t1", "run_id": "x", "error_code": "=HYPERLINK(1)",
                                    "error_message": "@SUM spreadsheet trick", "occurred_at": utcnow().isoformat()}])
    with engine.connect() as conn:
        titles = {(t, s): title for t, s, title in conn.execute(select(g.c.tenant_id, g.c.signature, g.c.title))}
    csv = pd.read_csv(io.StringIO(export_groups_csv(GroupFilter(), sort="count", now=utcnow())))
    raw = _raw_groups(engine)
    rows = {(t, s): n for t, s, n in zip(csv["tenant_id"], csv["signature"], csv["failures"], strict=True)}
    assert rows == {k: v[0] for k, v in raw.items()}
    assert list(csv["failures"]) == sorted(csv["failures"], reverse=True)
    trick = csv[csv["error_code"].str.contains("HYPERLINK")].iloc[0]
    assert trick["error_code"] == "'=HYPERLINK(1)"
    assert trick["title"] == "'" + titles[(trick["tenant_id"], trick["signature"])]
    assert trick["title"].startswith("'@")
    plain = csv[~csv["error_code"].str.contains("HYPERLINK")]
    assert list(plain["title"]) == [titles[(t, s)] for t, s in zip(plain["tenant_id"], plain["signature"],
                                                                    strict=True)]


def test_explore_groups_csv_stops_at_its_cap(engine):
    seed(engine)
    new = GroupFilter(first_seen_from=utcnow() - timedelta(days=7))
    csv = pd.read_csv(io.StringIO(export_groups_csv(new, sort="last_seen", now=utcnow(), max_rows=3)))
    with engine.connect() as conn:
        firsts = conn.execute(select(func.min(fm.c.created_at)).group_by(fm.c.tenant_id, fm.c.signature)).all()
    assert sum(1 for (f,) in firsts if f >= utcnow() - timedelta(days=7)) > 3
    assert len(csv) == 3
    empty = export_groups_csv(GroupFilter(signature="no-such-signature"), sort="count", now=utcnow())
    assert empty.splitlines() == [",".join(GROUPS_CSV_COLUMNS)]
