"""Groups on the pages: On-call's queue of groups and Explore's Groups and New views, checked against raw rows."""
from __future__ import annotations

from datetime import timedelta

import streamlit as st
from sqlalchemy import func, select

from core.ids import group_id
from core.schema import failure_matches as fm
from core.types import utcnow
from dashboard.ui import fmt_int
from loaders.ingest.pipeline import IngestPipeline
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
