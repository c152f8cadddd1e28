"""The dashboard against an attacker: global catalog writes, guessed passwords, sessions that end, CSV cells."""
from __future__ import annotations

import csv
import io
import time

import pytest
from sqlalchemy import func, select

from core.schema import catalog_entries, dashboard_sessions, users
from core.security import Principal
from core.types import utcnow
from dashboard.admin import switch_catalog_flag
from dashboard.catalog import promote
from dashboard.explore import export_csv
from dashboard.text import lit
from loaders.ingest.pipeline import IngestPipeline
from queries.accounts import (
    AccountError,
    authenticate_user,
    create_token,
    create_user,
    end_session,
    session_principal,
    set_password,
    set_user_disabled,
    start_session,
)
from queries.failures.filters import FailureFilter
from tests.support.apptest import PRINCIPAL_KEY, app_for, shown_text, signed_in

FORM = {"code": "WIDGET_FROBNICATION", "category": "TOOL", "severity": "critical", "recovery_mode": "ESCALATE",
        "message": "widgets fail", "patterns": ["widget frobnication failed"], "keywords": [],
        "recovery_suggestions": []}


def test_a_tenant_bound_admin_cannot_change_the_catalog(engine, seeded):
    scoped = signed_in(engine, "acme-admin", "admin", "acme")
    done = promote(scoped, FORM)
    assert not done.ok and "every tenant" in done.message
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(catalog_entries)
                            .where(catalog_entries.c.code == FORM["code"])).scalar_one() == 0
    assert not switch_catalog_flag(scoped, enabled=False).ok
    at = app_for("pages/catalog.py", scoped).run()
    at.tabs[1].run() if at.tabs else None
    assert not at.exception
    assert not [f for f in at.button if "Promote" in str(f.label)]
    assert "an admin of all tenants" in shown_text(at)


def test_an_all_tenant_admin_still_promotes(engine, seeded):
    admin = signed_in(engine, "root", "admin", None)
    done = promote(admin, FORM)
    assert done.ok, done.message
    assert done.result is not None and done.result.rematched > 0


def _sign_in(at, name: str, password: str):  # type: ignore[no-untyped-def]
    at.text_input(key="sign_in_name").input(name)
    at.text_input(key="sign_in_password").input(password)
    at.button[0].click().run()
    return at


def test_guessed_passwords_are_throttled_per_account(engine, seeded, monkeypatch, metrics):
    monkeypatch.setattr("dashboard.session.get_metrics", lambda: metrics)
    signed_in(engine, "ana", "oncall")
    at = app_for("app.py", None).run()
    for _ in range(5):
        _sign_in(at, "ana", "wrong password!")
        assert any("Wrong user name or password" in e.value for e in at.error)
    _sign_in(at, "ana", "correct horse battery")  # the right password, but too late: the account waits
    assert not at.exception
    assert any("Too many failed sign-ins" in e.value for e in at.error)
    assert PRINCIPAL_KEY not in at.session_state
    sample = metrics.registry.get_sample_value
    assert sample("failcat_auth_failures_total", {"channel": "dashboard", "outcome": "bad_credentials"}) == 5
    assert sample("failcat_auth_failures_total", {"channel": "dashboard", "outcome": "throttled"}) == 1


def test_a_correct_password_after_a_few_mistakes_signs_in(engine, seeded):
    signed_in(engine, "ana", "oncall")
    at = app_for("app.py", None).run()
    for _ in range(3):
        _sign_in(at, "ana", "wrong password!")
    _sign_in(at, "ana", "correct horse battery")
    assert at.session_state[PRINCIPAL_KEY].name == "ana"


def test_unknown_names_cost_as_much_as_known_ones(engine):
    signed_in(engine, "ana", "oncall")

    def seconds(name: str) -> float:
        with engine.connect() as conn:
            started = time.perf_counter()
            assert authenticate_user(conn, name=name, password="not the password") is None
            return time.perf_counter() - started

    seconds("ana"), seconds("nobody")  # warm both paths
    # The fastest of several runs: the least disturbed by whatever else the machine is doing.
    known = min(seconds("ana") for _ in range(7))
    unknown = min(seconds("nobody-at-all") for _ in range(7))
    assert unknown > 0.5 * known, (known, unknown)  # both pay an argon2 check (tens of ms), not 0.1 ms


def test_sessions_end_with_sign_out_disable_and_password_change(engine):
    signed_in(engine, "ana", "oncall")
    with engine.begin() as conn:
        tokens = [start_session(conn, name="ana", hours=12) for _ in range(3)]
    with engine.connect() as conn:
        assert all(session_principal(conn, token=t) == Principal("ana", "oncall", None) for t in tokens)
        stored = set(conn.execute(select(dashboard_sessions.c.token_hash)).scalars())
    assert not stored & set(tokens)  # only hashes are kept
    with engine.begin() as conn:
        end_session(conn, token=tokens[0])
    with engine.connect() as conn:
        assert session_principal(conn, token=tokens[0]) is None  # a replayed cookie after sign-out
        assert session_principal(conn, token=tokens[1]) is not None
    with engine.begin() as conn:
        set_password(conn, name="ana", password="another good password")
    with engine.connect() as conn:
        assert session_principal(conn, token=tokens[1]) is None
    with engine.begin() as conn:
        fresh = start_session(conn, name="ana", hours=12)
        set_user_disabled(conn, name="ana", disabled=True)
    with engine.connect() as conn:
        assert session_principal(conn, token=fresh) is None
        assert session_principal(conn, token="not-a-session") is None


def test_expired_sessions_do_not_sign_in(engine):
    signed_in(engine, "ana", "admin")
    with engine.begin() as conn:
        token = start_session(conn, name="ana", hours=1)
        conn.execute(dashboard_sessions.update().values(expires_at=utcnow()))
    with engine.connect() as conn:
        assert session_principal(conn, token=token) is None


def test_sign_out_in_the_app_revokes_the_session(engine, seeded):
    signed_in(engine, "ana", "oncall")
    at = _sign_in(app_for("app.py", None).run(), "ana", "correct horse battery")
    assert at.session_state[PRINCIPAL_KEY].name == "ana"
    with engine.connect() as conn:
        live = conn.execute(select(func.count()).select_from(dashboard_sessions)
                            .where(dashboard_sessions.c.revoked_at.is_(None))).scalar_one()
    assert live == 1
    at.button(key="sign_out").click().run()
    assert PRINCIPAL_KEY not in at.session_state
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(dashboard_sessions)
                            .where(dashboard_sessions.c.revoked_at.is_(None))).scalar_one() == 0


@pytest.mark.parametrize("cell", ['=HYPERLINK("http://attacker.invalid/x","click")', "+1+2", "-2+3", "@SUM(A1)",
                                  "\t=1", "\r=1"])
def test_csv_cells_that_a_spreadsheet_would_run_are_escaped(engine, metrics, cell):
    now = utcnow()
    IngestPipeline(engine, metrics=metrics).ingest([{
        "tenant_id": "acme", "run_id": cell, "skill_id": cell, "error_message": cell + " failed",
        "occurred_at": now.isoformat(), "step_index": 3}])
    text = export_csv(FailureFilter(start=now.replace(year=now.year - 1), end=now.replace(year=now.year + 1)))
    (row,) = list(csv.DictReader(io.StringIO(text)))
    for column in ("run_id", "skill_id", "error_message"):
        assert row[column].startswith("'") and row[column][1:].strip() == row[column][1:], (column, row[column])
    assert row["step_index"] == "3"


def test_the_admin_caption_shows_the_admin_tenant_as_text(engine, seeded):
    tenant = "![t](http://attacker.invalid/t.png)"  # a row written before tenant ids were checked
    with engine.begin() as conn:
        conn.execute(users.insert().values(name="root", password_hash="x", role="admin", tenant_id=tenant,
                                           created_at=utcnow()))
    at = app_for("pages/admin.py", Principal(name="root", role="admin", tenant_id=tenant)).run()
    assert not at.exception
    caption = " ".join(str(c.value) for c in at.caption)
    assert "of tenant " + lit(tenant) in caption and caption.count(tenant) == caption.count(lit(tenant))


@pytest.mark.parametrize("tenant", ["![t](http://attacker.invalid/t.png)", "a b", "-lead", "x" * 65, ""])
def test_accounts_take_only_well_formed_tenant_ids(engine, tenant):
    with engine.begin() as conn, pytest.raises(AccountError, match="tenant"):
        create_user(conn, name="t1", password="correct horse battery", role="viewer", tenant_id=tenant)
    with engine.begin() as conn, pytest.raises(AccountError, match="tenant"):
        create_token(conn, name="t1", role="viewer", tenant_id=tenant)


@pytest.mark.parametrize("page", ["pages/overview.py", "pages/trends.py", "pages/catalog.py", "pages/explore.py"])
@pytest.mark.parametrize(("first", "last"), [("2026-11-01", "2030-01-01"), ("0001-01-01", "0001-01-02"),
                                             ("9999-12-30", "9999-12-31")])
def test_crafted_date_links_are_refused_with_a_warning(engine, seeded, page, first, last):
    admin = signed_in(engine, "root", "admin", None)
    at = app_for(page, admin, {"range": "custom", "from": first, "to": last}).run()
    assert not at.exception, at.exception
    assert any("pick a date from" in str(w.value) for w in at.warning)
