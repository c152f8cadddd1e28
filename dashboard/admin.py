"""Admin glue: cached loaders for flags, users and tokens, and the admin writes (each re-checks the role
and the tenant scope: a tenant-scoped admin manages only its own tenant and cannot flip global flags)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
from sqlalchemy.engine import Connection

from core.security import ROLES, Principal
from dashboard.cache import cached_loader, clear_caches
from dashboard.db import Database, database
from dashboard.text import lit
from queries.accounts import (
    AccountError,
    AdminLockout,
    create_token,
    create_user,
    list_tokens,
    list_users,
    revoke_token,
    set_user_disabled,
    set_user_role,
)
from queries.flags import CATALOG_FLAG, get_flags, set_flag

__all__ = ["CATALOG_FLAG", "ROLES"]  # for the Admin page, which imports only the glue

ALL_TENANTS = "All tenants"
SWITCH_OFF_EFFECT = ("While it is off, the API answers 503 Service Unavailable to every ingest request, for every "
                     "tenant, so new failures are not stored; the failures already stored stay readable.")


@cached_loader()
def load_flags(db: Database) -> pd.DataFrame:
    """All feature flags."""
    with db.connect() as conn:
        return get_flags(conn)


@cached_loader()
def load_users(db: Database, tenant_id: str | None) -> pd.DataFrame:
    """Users within the scope (never their password hashes)."""
    with db.connect() as conn:
        return list_users(conn, tenant_id=tenant_id)


@cached_loader()
def load_tokens(db: Database, tenant_id: str | None) -> pd.DataFrame:
    """API tokens within the scope (never the secrets)."""
    with db.connect() as conn:
        tokens = list_tokens(conn)
    return tokens if tenant_id is None else tokens[tokens["tenant_id"] == tenant_id].reset_index(drop=True)


@dataclass(frozen=True)
class AdminOutcome:
    """Result of an admin action; `secret` carries a new token to show once."""

    ok: bool
    message: str
    secret: str | None = None


def _refuse(principal: Principal) -> AdminOutcome | None:
    if not principal.can("admin"):
        return AdminOutcome(False, f"Your role ({principal.role}) does not allow administration.")
    return None


def _tenant_for(principal: Principal, requested: str | None) -> str | None:
    requested = (requested or "").strip() or None
    if principal.tenant_id is not None and requested not in (None, principal.tenant_id):
        raise PermissionError("you can only manage accounts of your own tenant")
    return principal.tenant_id or requested


def switch_catalog_flag(principal: Principal, *, enabled: bool, confirmed: bool = False) -> AdminOutcome:
    """Turn failure_catalog_m9 on, or off once `confirmed` (all-tenant admins only: off stops every tenant's ingest)."""
    refusal = principal.refusal("flags")
    if refusal is not None:
        return AdminOutcome(False, refusal[0].upper() + refusal[1:] + ".")
    if not enabled and not confirmed:
        return AdminOutcome(False, f"{CATALOG_FLAG} stays on: confirm first that ingest may stop. {SWITCH_OFF_EFFECT}")
    with database().begin() as conn:
        set_flag(conn, name=CATALOG_FLAG, enabled=enabled, updated_by=principal.name)
    clear_caches()
    if enabled:
        return AdminOutcome(True, f"{CATALOG_FLAG} is on: ingest accepts events again.")
    return AdminOutcome(True, f"{CATALOG_FLAG} is off: ingest refuses new events and every page shows a banner.")


def add_user(principal: Principal, *, name: str, password: str, role: str, tenant_id: str | None) -> AdminOutcome:
    """Create a local account (a scoped admin creates accounts of its own tenant only)."""
    if (refused := _refuse(principal)) is not None:
        return refused
    try:
        scope = _tenant_for(principal, tenant_id)
        with database().begin() as conn:
            create_user(conn, name=name, password=password, role=role, tenant_id=scope)
    except (AccountError, ValueError, PermissionError) as exc:
        return AdminOutcome(False, f"User not added: {lit(exc)}.")
    clear_caches(load_users)
    where = lit(scope) if scope else "all tenants"
    return AdminOutcome(True, f"User {lit(name.strip())} added as {role} for {where}.")


def accounts_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Users or tokens as the page shows them: an account of all tenants says so in its tenant column."""
    return frame.assign(tenant_id=frame["tenant_id"].astype(object).where(frame["tenant_id"].notna(), ALL_TENANTS))


def _refused_change(name: str, exc: AccountError) -> AdminOutcome:
    if isinstance(exc, AdminLockout):
        return AdminOutcome(False, f"{str(exc)[0].upper()}{str(exc)[1:]}.")
    return AdminOutcome(False, f"User {lit(name)} not changed: {lit(exc)}.")


def _change_in_scope(principal: Principal, name: str, change: Callable[[Connection], None]) -> AdminOutcome | None:
    """Apply `change` to a user in the admin's scope; the refusal, or None when it was made."""
    if (refused := _refuse(principal)) is not None:
        return refused
    try:
        with database().begin() as conn:
            if name not in set(list_users(conn, tenant_id=principal.tenant_id)["name"]):
                return AdminOutcome(False, f"No user {lit(name)} in your scope.")
            change(conn)
    except AccountError as exc:
        return _refused_change(name, exc)
    except ValueError as exc:  # check_role: not one of the roles
        return AdminOutcome(False, f"User {lit(name)} not changed: {lit(exc)}.")
    clear_caches()  # the session cache of that account too, so the change applies at once
    return None


def change_user(principal: Principal, *, name: str, disabled: bool) -> AdminOutcome:
    """Disable or re-enable a user in the admin's scope (refused for oneself and the last all-tenant admin)."""
    refused = _change_in_scope(principal, name, lambda conn: set_user_disabled(
        conn, name=name, disabled=disabled, actor=principal.name))
    return refused or AdminOutcome(True, f"User {lit(name)} {'disabled' if disabled else 'enabled'}.")


def change_role(principal: Principal, *, name: str, role: str) -> AdminOutcome:
    """Give a user in the admin's scope another role (admin is never taken from oneself or the last one)."""
    refused = _change_in_scope(principal, name, lambda conn: set_user_role(
        conn, name=name, role=role, actor=principal.name))
    return refused or AdminOutcome(True, f"User {lit(name)} is now {role}.")


def add_token(principal: Principal, *, name: str, role: str, tenant_id: str | None) -> AdminOutcome:
    """Create an API token; the secret is returned once and only its hash is stored."""
    if (refused := _refuse(principal)) is not None:
        return refused
    try:
        scope = _tenant_for(principal, tenant_id)
        with database().begin() as conn:
            _id, token = create_token(conn, name=name, role=role, tenant_id=scope)
    except (AccountError, ValueError, PermissionError) as exc:
        return AdminOutcome(False, f"Token not created: {lit(exc)}.")
    clear_caches(load_tokens)
    return AdminOutcome(True, f"Token {lit(name.strip())} created ({role}, {lit(scope) if scope else 'all tenants'}). "
                              "Copy it now: it is not shown again.", secret=token)


def revoke(principal: Principal, *, token_id: int) -> AdminOutcome:
    """Revoke one token in the admin's scope."""
    if (refused := _refuse(principal)) is not None:
        return refused
    try:
        with database().begin() as conn:
            tokens = list_tokens(conn)
            mine = tokens if principal.tenant_id is None else tokens[tokens["tenant_id"] == principal.tenant_id]
            if int(token_id) not in set(mine["id"]):
                return AdminOutcome(False, f"No token {token_id} in your scope.")
            revoke_token(conn, token_id=int(token_id))
    except AccountError as exc:
        return AdminOutcome(False, f"Not revoked: {lit(exc)}.")
    clear_caches(load_tokens)
    return AdminOutcome(True, f"Token {token_id} revoked.")
