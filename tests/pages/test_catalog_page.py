"""Catalog page: hit counts equal the rows, candidates, promotion by an admin, roles and tenant scope."""
from __future__ import annotations

from collections import Counter

import streamlit as st
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from core.schema import catalog_entries
from core.schema import failure_matches as fm
from core.schema import failure_rollups as fr
from dashboard.ui import fmt_int
from tests.support.apptest import app_for, shown_text, signed_in
from tests.support.ops_seed import (
    SECRET_CODE,
    app_navigation_mode,  # noqa: F401  (autouse)
    page_buttons,
    seed,
)

PAGE = "pages/catalog.py"


def _frob(engine, tenant=None, matched=None):
    q = select(func.count()).select_from(fm).where(fm.c.error_message.like("frobnicator%"))
    if tenant:
        q = q.where(fm.c.tenant_id == tenant)
    if matched is not None:
        q = q.where(fm.c.catalog_entry_id.is_not(None) if matched else fm.c.catalog_entry_id.is_(None))
    with engine.connect() as conn:
        return conn.execute(q).scalar()


def _submit(at, **values):
    sig = at.selectbox(key="catalog_candidate").value
    for name, value in values.items():
        widget = {"code": at.text_input, "regex": at.text_area, "category": at.text_input}[name]
        widget(key=f"promote_{name}_{sig}").set_value(value)
    at.button(key=f"FormSubmitter:promote_{sig}-Promote and re-match").click().run()
    return sig


def test_entries_show_hits_equal_to_matched_rows(engine):
    seed(engine)
    at = app_for(PAGE, signed_in(engine, "vic", "viewer"), {"range": "30d"}).run()
    assert not at.exception, at.exception
    with engine.connect() as conn:
        want = Counter(conn.execute(select(fm.c.error_code).where(fm.c.catalog_entry_id.is_not(None))).scalars())
        n_entries = conn.execute(select(func.count()).select_from(catalog_entries)).scalar()
    table = at.dataframe[0].value.set_index("code")
    assert len(table) == n_entries
    for code, hits in table["hits"].items():
        assert hits == want.get(code, 0)
    assert {m.label: m.value for m in at.metric}["Matched failures"] == fmt_int(sum(want.values()))
    cands = at.dataframe[1].value
    assert list(cands["occurrences"]) == [_frob(engine)]
    # A viewer sees the candidates but no promotion controls.
    assert not page_buttons(at) and not at.text_area
    assert not [s for s in at.selectbox if s.key == "catalog_candidate"]


def test_admin_promotes_candidate_and_past_failures_are_rematched(engine):
    seed(engine)
    before = _frob(engine)
    at = app_for(PAGE, signed_in(engine, "ada", "admin")).run()
    assert not at.exception
    regex = at.text_area(key=f"promote_regex_{at.selectbox(key='catalog_candidate').value}").value
    assert "frobnicator" in regex and "\\d" in regex
    _submit(at, code="WIDGET_FROBNICATOR")
    assert not at.exception, at.exception
    assert any(f"re-matched {before} past" in s.value for s in at.success), [e.value for e in at.error]
    assert _frob(engine, matched=True) == before and _frob(engine, matched=False) == 0
    with engine.connect() as conn:
        entry = conn.execute(select(catalog_entries).where(catalog_entries.c.code == "WIDGET_FROBNICATOR")).one()
        assert entry.created_by == "ada" and entry.patterns == [regex]
        total = conn.execute(select(func.count()).select_from(fm)).scalar()
        assert conn.execute(select(func.sum(fr.c.failures))).scalar() == total
        assert conn.execute(select(func.sum(fr.c.failures)).where(
            fr.c.error_code == "WIDGET_FROBNICATOR", fr.c.matched.is_(True))).scalar() == before
    # The entry now has hits and the candidate is gone.
    table = at.dataframe[0].value.set_index("code")
    assert table.loc["WIDGET_FROBNICATOR", "hits"] == before
    assert any("No unmatched message recurred" in i.value for i in at.info)


def test_bad_regex_and_code_are_refused_clearly(engine):
    seed(engine)
    at = app_for(PAGE, signed_in(engine, "ada", "admin")).run()
    _submit(at, code="WIDGET_X", regex="frob(")
    assert not at.exception
    assert any("not a valid regular expression" in e.value for e in at.error)
    _submit(at, code="widget x", regex="frobnicator")
    assert any("UPPER_SNAKE_CASE" in e.value for e in at.error)
    _submit(at, code="NET_TIMEOUT", regex="frobnicator")
    assert any("already in the catalog" in e.value for e in at.error)
    _submit(at, code="WIDGET_X", regex="gizmo wobbled")
    assert any("match none of the candidate's example messages" in e.value for e in at.error)
    assert _frob(engine, matched=True) == 0


def test_scoped_admin_sees_and_counts_only_its_tenant(engine):
    seed(engine)
    at = app_for(PAGE, signed_in(engine, "tia", "admin", "t1"), {"tenant": "t2"}).run()
    assert not at.exception
    cands = at.dataframe[1].value
    assert list(cands["occurrences"]) == [_frob(engine, "t1")] and "tenants" not in cands
    assert "created_by" not in at.dataframe[0].value
    text = shown_text(at)
    assert SECRET_CODE not in text and "t2" not in text
    # The catalog is shared by every tenant, so a tenant-bound admin may look but not promote.
    assert "catalog_candidate" not in [w.key for w in at.selectbox]
    assert "admin of all tenants" in text


def test_empty_and_database_down(engine, monkeypatch):
    at = app_for(PAGE, signed_in(engine, "vic", "viewer")).run()
    assert not at.exception
    assert any("No unmatched message recurred" in i.value for i in at.info)

    def down(*_a, **_k):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr("dashboard.catalog.get_catalog_usage", down)
    st.cache_data.clear()
    at = app_for(PAGE, signed_in(engine, "vic2", "viewer")).run()
    assert not at.exception
    assert any("database is not reachable" in e.value for e in at.error)
