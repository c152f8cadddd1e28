"""On-call page: queue equals the query, marks by failure id with the displayed version, conflicts, roles."""
from __future__ import annotations

import uuid

import streamlit as st
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from streamlit.testing.v1 import AppTest

from core.schema import failure_matches as fm
from core.schema import recovery_events
from dashboard.oncall import mark
from dashboard.ui import fmt_int
from queries.failures.recovery import mark_recoveries
from tests.support.apptest import PRINCIPAL_KEY, ROOT, app_for, shown_text, signed_in
from tests.support.ops_seed import (
    SECRET_CODE,
    app_navigation_mode,  # noqa: F401  (autouse)
    page_buttons,
    seed,
)

PAGE = "pages/oncall.py"
FAILURES = {"view": "failures"}  # the failure-by-failure view (groups come first)


def _unrecovered(engine, tenant=None):
    q = select(fm.c.id, fm.c.version).where(fm.c.recovery_succeeded.is_not(True))
    if tenant:
        q = q.where(fm.c.tenant_id == tenant)
    with engine.connect() as conn:
        return {str(i): v for i, v in conn.execute(q)}


def _row(engine, failure_id):
    with engine.connect() as conn:
        return conn.execute(select(fm).where(fm.c.id == uuid.UUID(failure_id))).mappings().one()


def _form(at):
    n = at.session_state["oncall_form_n"]
    return n, at.multiselect(key=f"oncall_ids_{n}")


def test_queue_and_tiles_equal_the_database(engine):
    seed(engine)
    want = _unrecovered(engine)
    at = app_for(PAGE, signed_in(engine, "olga", "oncall"), FAILURES).run()
    assert not at.exception, at.exception
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Unrecovered"] == fmt_int(len(want))
    table = at.dataframe[0].value
    assert sorted(table["link"].str.removeprefix("failure?id=")) == sorted(want)
    _, box = _form(at)
    assert sorted(o.split(" · ")[0] for o in box.options) == sorted(i.split("-")[0] for i in want)


def test_mark_many_by_id_in_one_transaction(engine):
    seed(engine)
    at = app_for(PAGE, signed_in(engine, "olga", "oncall", "t1"), FAILURES).run()
    n, box = _form(at)
    t1 = _unrecovered(engine, "t1")
    chosen = sorted(t1)[:3]
    # Options are failure ids (labels only decorate them), so the selection survives any reordering.
    box.set_value(chosen)
    at.radio(key=f"oncall_result_{n}").set_value("succeeded")
    at.text_area(key=f"oncall_notes_{n}").set_value("restarted the worker")
    at.button(key=f"FormSubmitter:oncall_mark_{n}-Mark recovery").click().run()
    assert not at.exception, at.exception
    assert any("Marked 3 failures" in s.value and "→ recovered" in s.value for s in at.success), at.success
    for fid in chosen:
        row = _row(engine, fid)
        assert row["recovery_succeeded"] is True and row["recovered_by"] == "olga"
        assert row["recovery_notes"] == "restarted the worker" and row["version"] == t1[fid] + 1
    remaining = set(at.dataframe[0].value["link"].str.removeprefix("failure?id="))
    assert remaining == set(_unrecovered(engine, "t1")) and not remaining & set(chosen)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(recovery_events).where(
            recovery_events.c.actor == "olga")).scalar() == 3


def test_bulk_mark_is_all_or_nothing_and_second_marker_is_told(engine):
    seed(engine)
    first = app_for(PAGE, signed_in(engine, "olga", "oncall"), FAILURES).run()
    second = app_for(PAGE, signed_in(engine, "paul", "oncall"), FAILURES).run()
    ids = sorted(_unrecovered(engine, "t2"))[:2]
    n1, box1 = _form(first)
    box1.set_value(ids[:1])
    first.button(key=f"FormSubmitter:oncall_mark_{n1}-Mark recovery").click().run()
    assert any("Marked 1 failure" in s.value for s in first.success)
    # paul still has the old page: he marks both, one of which olga changed meanwhile.
    n2, box2 = _form(second)
    box2.set_value(ids)
    second.radio(key=f"oncall_result_{n2}").set_value("failed")
    second.button(key=f"FormSubmitter:oncall_mark_{n2}-Mark recovery").click().run()
    assert not second.exception, second.exception
    errors = " ".join(e.value for e in second.error)
    assert "Nothing was changed" in errors and "by `olga`" in errors, errors
    kept = _row(engine, ids[0])
    assert kept["recovery_succeeded"] is True and kept["recovered_by"] == "olga"
    untouched = _row(engine, ids[1])
    assert untouched["recovery_attempted"] is False and untouched["version"] == 1


def test_mark_all_shown_after_narrowing(engine):
    seed(engine)
    at = app_for(PAGE, signed_in(engine, "olga", "admin"), FAILURES).run()
    at.multiselect(key="oncall_codes").set_value(["NET_TIMEOUT"]).run()
    n, _ = _form(at)
    shown = set(at.dataframe[0].value["link"].str.removeprefix("failure?id="))
    with engine.connect() as conn:
        want = {str(i) for i in conn.execute(select(fm.c.id).where(
            fm.c.error_code == "NET_TIMEOUT", fm.c.recovery_succeeded.is_not(True))).scalars()}
    assert shown == want
    at.checkbox(key=f"oncall_all_{n}").check()
    at.radio(key=f"oncall_result_{n}").set_value("failed")
    at.text_input(key=f"oncall_by_{n}").set_value("night shift")
    at.button(key=f"FormSubmitter:oncall_mark_{n}-Mark recovery").click().run()
    assert not at.exception
    assert any(f"Marked {len(want)} failures" in s.value for s in at.success)
    for fid in want:
        row = _row(engine, fid)
        assert row["recovery_attempted"] is True and row["recovery_succeeded"] is False
        assert row["recovered_by"] == "night shift"


def test_viewer_gets_no_write_controls(engine):
    seed(engine)
    viewer = signed_in(engine, "vic", "viewer")
    at = app_for(PAGE, viewer, FAILURES).run()
    assert not at.exception
    # The app's navigation does not offer On-call to a viewer: the link lands elsewhere, without controls.
    assert "On-call" not in [t.value for t in at.title]
    assert not [b for b in at.button if "oncall" in (b.key or "")]
    assert not [m for m in at.multiselect if (m.key or "").startswith("oncall_")]
    # Run on its own, the page refuses a viewer before drawing anything.
    direct = AppTest.from_file(str(ROOT / PAGE), default_timeout=60)
    direct.session_state[PRINCIPAL_KEY] = viewer
    direct.run()
    assert not direct.exception
    assert any("does not allow" in e.value for e in direct.error)
    assert not page_buttons(direct) and not direct.multiselect and not direct.text_area and not direct.dataframe
    # And the write itself re-checks the role.
    fid, version = next(iter(_unrecovered(engine).items()))
    outcome = mark(viewer, items=[(fid, version)], succeeded=True, recovered_by="vic", notes=None)
    assert not outcome.ok and "does not allow" in outcome.message
    assert _row(engine, fid)["version"] == version


def test_tenant_scoped_sees_only_its_tenant(engine):
    seed(engine)
    at = app_for(PAGE, signed_in(engine, "tina", "oncall", "t1"), {"tenant": "t2", **FAILURES}).run()
    assert not at.exception
    want = _unrecovered(engine, "t1")
    assert {m.label: m.value for m in at.metric}["Unrecovered"] == fmt_int(len(want))
    assert set(at.dataframe[0].value["link"].str.removeprefix("failure?id=")) == set(want)
    text = shown_text(at)
    assert "t2" not in text and SECRET_CODE not in text


def test_scoped_user_cannot_mark_another_tenants_failure(engine):
    seed(engine)
    other = sorted(_unrecovered(engine, "t2"))[0]
    at = app_for(PAGE, signed_in(engine, "tina", "oncall", "t1"), FAILURES).run()
    # A forged snapshot (as if the id had been shown) still cannot reach outside the tenant.
    at.session_state["oncall_shown"] = {other: {"version": 1, "label": "x"}}
    at.session_state["oncall_failures_shown"] = [other]
    n, _ = _form(at)
    at.checkbox(key=f"oncall_all_{n}").check()
    at.button(key=f"FormSubmitter:oncall_mark_{n}-Mark recovery").click().run()
    assert not at.exception
    assert any("not found" in e.value for e in at.error)
    assert _row(engine, other)["recovery_attempted"] is False


def test_empty_queue_and_database_down(engine, monkeypatch):
    at = app_for(PAGE, signed_in(engine, "olga", "oncall"), FAILURES).run()
    assert not at.exception
    assert any("Nothing to recover" in i.value for i in at.info)
    seed(engine)
    with engine.begin() as conn:
        items = [(i, None) for i in conn.execute(select(fm.c.id).where(fm.c.recovery_succeeded.is_not(True))).scalars()]
        mark_recoveries(conn, items=items, succeeded=True, recovered_by="x")
    at = app_for(PAGE, signed_in(engine, "olga2", "oncall"), FAILURES).run()
    assert not at.exception and any("Nothing to recover" in i.value for i in at.info)

    def down(*_a, **_k):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr("dashboard.oncall.get_unrecovered_summary", down)
    st.cache_data.clear()
    at = app_for(PAGE, signed_in(engine, "olga3", "oncall"), FAILURES).run()
    assert not at.exception
    assert any("database is not reachable" in e.value for e in at.error)
    assert not page_buttons(at)


def test_describe_changes_names_counts_and_states():
    from dashboard.oncall import describe_changes
    from queries.failures.recovery import RecoveryChange

    def ch(a, b, changed=True):
        return RecoveryChange(uuid.uuid4(), "t1", "X", None, a, b, 2, changed)

    text = describe_changes([ch("unrecovered", "recovered"), ch("unrecovered", "recovered"),
                             ch("failed", "recovered"), ch("recovered", "recovered", changed=False)])
    assert text.startswith("Marked 3 failures: 1 failed → recovered, 2 unrecovered → recovered.")
    assert "1 already had exactly this mark" in text
