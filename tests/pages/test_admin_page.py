"""Admin page: flag switch (ingest refuses), users (add, disable), tokens (shown once, revoke), scope, roles."""
from __future__ import annotations

import pytest
import streamlit as st
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from streamlit.testing.v1 import AppTest

from core.schema import api_tokens, users
from core.security import token_hash
from dashboard.admin import add_user, change_role, change_user, switch_catalog_flag
from loaders.ingest.pipeline import IngestDisabled, IngestPipeline
from queries.accounts import authenticate_token, create_token
from queries.flags import is_enabled
from tests.support.apptest import PRINCIPAL_KEY, ROOT, app_for, shown_text, signed_in
from tests.support.ops_seed import (
    app_navigation_mode,  # noqa: F401  (autouse)
    page_buttons,
)

PAGE = "pages/admin.py"


def test_flag_switch_off_makes_ingest_refuse_and_back_on(engine):
    at = app_for(PAGE, signed_in(engine, "ada", "admin")).run()
    assert not at.exception, at.exception
    at.checkbox(key="admin_flag_confirm").check().run()
    at.button(key="admin_flag_switch").click().run()
    assert not at.exception
    with engine.connect() as conn:
        assert is_enabled(conn) is False
    assert any("is off" in s.value for s in at.success)
    with pytest.raises(IngestDisabled):
        IngestPipeline(engine).ingest([{"tenant_id": "t1", "run_id": "r", "error_message": "x"}])
    at.button(key="admin_flag_switch").click().run()
    with engine.connect() as conn:
        assert is_enabled(conn) is True


def test_switching_the_flag_off_asks_to_confirm_and_says_what_it_does(engine):
    ada = signed_in(engine, "ada", "admin")
    at = app_for(PAGE, ada).run()
    assert "503" in shown_text(at) and "every ingest request" in shown_text(at)
    assert at.checkbox(key="admin_flag_confirm").value is False
    assert at.button(key="admin_flag_switch").disabled
    # The write itself refuses an unconfirmed switch-off, whatever drew the button.
    refused = switch_catalog_flag(ada, enabled=False)
    assert not refused.ok and "confirm" in refused.message
    with engine.connect() as conn:
        assert is_enabled(conn) is True
    at.checkbox(key="admin_flag_confirm").check().run()
    assert not at.button(key="admin_flag_switch").disabled
    at.button(key="admin_flag_switch").click().run()
    with engine.connect() as conn:
        assert is_enabled(conn) is False
    # Switching it back on takes one click and asks nothing.
    assert not [c for c in at.checkbox if c.key == "admin_flag_confirm"]
    at.button(key="admin_flag_switch").click().run()
    with engine.connect() as conn:
        assert is_enabled(conn) is True


def test_add_user_and_disable_it(engine):
    at = app_for(PAGE, signed_in(engine, "ada", "admin")).run()
    at.text_input(key="admin_user_name").set_value("bob")
    at.text_input(key="admin_user_password").set_value("long-enough-pw")
    at.selectbox(key="admin_user_role").set_value("oncall")
    at.text_input(key="admin_user_tenant").set_value("t1")
    at.button(key="FormSubmitter:admin_add_user-Add user").click().run()
    assert not at.exception, at.exception
    with engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.name == "bob")).mappings().one()
    assert (row["role"], row["tenant_id"], row["disabled"]) == ("oncall", "t1", False)
    assert row["password_hash"] != "long-enough-pw"
    at.selectbox(key="admin_user_pick").set_value("bob").run()
    at.button(key="admin_user_toggle").click().run()
    with engine.connect() as conn:
        assert conn.execute(select(users.c.disabled).where(users.c.name == "bob")).scalar() is True
    # Short passwords and self-disable are refused with a message.
    at.text_input(key="admin_user_name").set_value("carl")
    at.text_input(key="admin_user_password").set_value("short")
    at.button(key="FormSubmitter:admin_add_user-Add user").click().run()
    assert any("at least 8 characters" in e.value for e in at.error)
    at.selectbox(key="admin_user_pick").set_value("ada").run()
    at.button(key="admin_user_toggle").click().run()
    assert any("cannot disable your own account" in e.value for e in at.error)


def test_token_is_shown_once_and_can_be_revoked(engine):
    at = app_for(PAGE, signed_in(engine, "ada", "admin")).run()
    at.text_input(key="admin_token_name").set_value("ci")
    at.selectbox(key="admin_token_role").set_value("viewer")
    at.button(key="FormSubmitter:admin_add_token-Create token").click().run()
    assert not at.exception, at.exception
    token = at.code[0].value
    with engine.connect() as conn:
        stored = conn.execute(select(api_tokens).where(api_tokens.c.name == "ci")).mappings().one()
    assert stored["token_hash"] == token_hash(token) and token not in str(dict(stored))
    at.run()
    assert not at.code  # shown once only
    at.selectbox(key="admin_token_pick").set_value(stored["id"]).run()
    at.button(key="admin_token_revoke").click().run()
    with engine.begin() as conn:
        assert authenticate_token(conn, token) is None


def test_scoped_admin_manages_only_its_tenant(engine):
    with engine.begin() as conn:
        create_token(conn, name="other-tenant-token", role="viewer", tenant_id="t2")
    signed_in(engine, "zed", "viewer", "t2")
    at = app_for(PAGE, signed_in(engine, "tia", "admin", "t1")).run()
    assert not at.exception
    text = shown_text(at)
    assert "zed" not in text and "other-tenant-token" not in text and "t2" not in text
    assert not [b for b in at.button if b.key == "admin_flag_switch"]
    at.text_input(key="admin_user_name").set_value("tim")
    at.text_input(key="admin_user_password").set_value("long-enough-pw")
    at.button(key="FormSubmitter:admin_add_user-Add user").click().run()
    with engine.connect() as conn:
        assert conn.execute(select(users.c.tenant_id).where(users.c.name == "tim")).scalar() == "t1"


@pytest.mark.parametrize("role", ["viewer", "oncall"])
def test_non_admin_sees_no_controls(engine, role):
    user = signed_in(engine, "vic", role)
    at = app_for(PAGE, user).run()
    assert not at.exception
    assert "Admin" not in [t.value for t in at.title]
    assert not [b for b in at.button if (b.key or "").startswith(("admin_", "FormSubmitter:admin_"))]
    direct = AppTest.from_file(str(ROOT / PAGE), default_timeout=60)
    direct.session_state[PRINCIPAL_KEY] = user
    direct.run()
    assert not direct.exception
    assert not page_buttons(direct) and not direct.text_input and not direct.dataframe
    assert any("does not allow" in e.value for e in direct.error)
    # The writes re-check the role themselves.
    assert not switch_catalog_flag(user, enabled=False).ok
    assert not add_user(user, name="x", password="long-enough-pw", role="admin", tenant_id=None).ok
    with engine.connect() as conn:
        assert is_enabled(conn) is True
        assert conn.execute(select(users.c.id).where(users.c.name == "x")).first() is None


def test_database_down(engine, monkeypatch):
    def down(*_a, **_k):
        raise OperationalError("SELECT 1", {}, Exception("connection refused"))

    monkeypatch.setattr("dashboard.admin.get_flags", down)
    st.cache_data.clear()
    at = app_for(PAGE, signed_in(engine, "ada", "admin")).run()
    assert not at.exception
    assert any("database is not reachable" in e.value for e in at.error)


def _user(engine, name):
    with engine.connect() as conn:
        return conn.execute(select(users.c.role, users.c.disabled).where(users.c.name == name)).one()


def test_an_admin_cannot_disable_or_demote_their_own_account(engine):
    signed_in(engine, "bea", "admin")  # another all-tenant admin: only the own-account rule applies
    at = app_for(PAGE, signed_in(engine, "ada", "admin")).run()
    at.selectbox(key="admin_user_pick").set_value("ada").run()
    at.button(key="admin_user_toggle").click().run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["You cannot disable your own account."]
    at.selectbox(key="admin_user_new_role").set_value("viewer").run()
    at.button(key="admin_user_set_role").click().run()
    assert [e.value for e in at.error] == ["You cannot take the admin role from your own account."]
    assert tuple(_user(engine, "ada")) == ("admin", False)
    # Another admin's role and account can be changed.
    at.selectbox(key="admin_user_pick").set_value("bea").run()
    assert at.selectbox(key="admin_user_new_role").value == "admin"
    at.selectbox(key="admin_user_new_role").set_value("oncall").run()
    at.button(key="admin_user_set_role").click().run()
    assert not at.error and tuple(_user(engine, "bea")) == ("oncall", False)
    at.button(key="admin_user_toggle").click().run()
    assert not at.error and tuple(_user(engine, "bea")) == ("oncall", True)


def test_the_last_all_tenant_admin_is_refused_through_the_glue_too(engine):
    ada = signed_in(engine, "ada", "admin")
    signed_in(engine, "tia", "admin", "t1")  # a tenant's admin does not count: it cannot manage other tenants
    # A principal acting under another name (an SSO account, a script) still cannot remove the last one.
    other = ada.__class__(name="ops-script", role="admin", tenant_id=None)
    for outcome in (change_user(other, name="ada", disabled=True), change_role(other, name="ada", role="oncall")):
        assert not outcome.ok and "only enabled admin of all tenants" in outcome.message
    assert tuple(_user(engine, "ada")) == ("admin", False)


def test_accounts_of_all_tenants_say_so_in_the_tables(engine):
    with engine.begin() as conn:
        create_token(conn, name="ci", role="viewer", tenant_id=None)
        create_token(conn, name="t1-ci", role="viewer", tenant_id="t1")
    signed_in(engine, "tom", "viewer", "t1")
    at = app_for(PAGE, signed_in(engine, "ada", "admin")).run()
    users_table, tokens_table = (d.value for d in at.dataframe)
    assert dict(zip(users_table["name"], users_table["tenant_id"], strict=True)) == {"ada": "All tenants",
                                                                                     "tom": "t1"}
    assert dict(zip(tokens_table["name"], tokens_table["tenant_id"], strict=True)) == {"ci": "All tenants",
                                                                                      "t1-ci": "t1"}
    assert "None" not in shown_text(at)
