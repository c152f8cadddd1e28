"""Accounts: nobody disables their own account or takes admin from it, and one all-tenant admin always stays."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.schema import users
from queries.accounts import AccountError, create_user, set_user_disabled, set_user_role


def _add(engine, name, role, tenant=None):
    with engine.begin() as conn:
        create_user(conn, name=name, password="correct horse battery", role=role, tenant_id=tenant)


def _state(engine):
    with engine.connect() as conn:
        rows = conn.execute(select(users.c.name, users.c.role, users.c.disabled))
        return {r.name: (r.role, r.disabled) for r in rows}


def _change(engine, **kwargs):
    with engine.begin() as conn:
        if "role" in kwargs:
            set_user_role(conn, **kwargs)
        else:
            set_user_disabled(conn, **kwargs)


def test_an_admin_cannot_disable_or_demote_their_own_account(engine):
    _add(engine, "ada", "admin")
    _add(engine, "bea", "admin")
    before = _state(engine)
    with pytest.raises(AccountError, match="cannot disable your own account"):
        _change(engine, name="ada", disabled=True, actor="ada")
    for role in ("oncall", "viewer"):
        with pytest.raises(AccountError, match="cannot take the admin role from your own account"):
            _change(engine, name="ada", role=role, actor="ada")
    assert _state(engine) == before
    _change(engine, name="ada", role="admin", actor="ada")  # keeping one's own role is no change
    _change(engine, name="bea", role="oncall", actor="ada")
    assert _state(engine)["bea"] == ("oncall", False)


def test_the_last_enabled_all_tenant_admin_stays(engine):
    _add(engine, "ada", "admin")
    _add(engine, "tia", "admin", "t1")  # a tenant's admin cannot manage the other tenants: it does not count
    _add(engine, "old", "admin")
    _change(engine, name="old", disabled=True)  # a disabled admin does not count either
    before = _state(engine)
    for change in ({"disabled": True}, {"role": "oncall"}, {"role": "viewer"}):
        with pytest.raises(AccountError, match="only enabled admin of all tenants"):
            _change(engine, name="ada", **change)  # no actor: the command line
        with pytest.raises(AccountError, match="only enabled admin of all tenants"):
            _change(engine, name="ada", actor="someone-else", **change)
    assert _state(engine) == before
    # Once another all-tenant admin is enabled, either may go.
    _change(engine, name="old", disabled=False)
    _change(engine, name="ada", role="viewer")
    with pytest.raises(AccountError, match="only enabled admin of all tenants"):
        _change(engine, name="old", disabled=True)
    assert _state(engine)["ada"] == ("viewer", False) and _state(engine)["old"] == ("admin", False)


def test_other_accounts_change_freely(engine):
    _add(engine, "ada", "admin")
    _add(engine, "vic", "viewer", "t1")
    _add(engine, "tia", "admin", "t1")
    _change(engine, name="vic", disabled=True, actor="ada")
    _change(engine, name="tia", disabled=True, actor="ada")  # the last admin of one tenant: an all-tenant one remains
    _change(engine, name="vic", role="oncall", actor="ada")
    assert _state(engine) == {"ada": ("admin", False), "vic": ("oncall", True), "tia": ("admin", True)}
    with pytest.raises(AccountError, match="no user"):
        _change(engine, name="nobody", role="viewer")
    with pytest.raises(ValueError, match="role must be one of"):
        _change(engine, name="vic", role="root")
