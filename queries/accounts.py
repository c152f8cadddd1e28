"""Users and API tokens: create, list, authenticate, change, revoke."""
from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from core.schema import api_tokens, dashboard_sessions, users
from core.security import Principal, check_role, hash_password, new_token, token_hash, verify_password
from core.types import utcnow
from core.vocabulary import is_tenant_id

LAST_USED_RESOLUTION = timedelta(minutes=1)


class AccountError(ValueError):
    """A user or token operation was refused (duplicate name, unknown id, ...)."""


# Fixed text without names, so a page may show the message as it is.
class AdminLockout(AccountError):
    """Refused: the change would take an admin's rights from that admin, or leave no enabled all-tenant admin."""


# Names are shown on pages and in logs: letters, digits and a little punctuation (an e-mail address fits).
USER_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$")
TOKEN_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@+:/ -]{0,127}$")


def _check_tenant(tenant_id: str | None) -> None:
    if tenant_id is not None and not is_tenant_id(tenant_id):
        raise AccountError("tenant: letters, digits and _ . : @ / - only, starting with a letter or digit, "
                           "at most 64 characters")


def create_user(conn: Connection, *, name: str, password: str, role: str, tenant_id: str | None) -> int:
    """Add a local account; tenant_id None means all tenants."""
    _check_tenant(tenant_id)
    name = name.strip()
    if not name:
        raise AccountError("user name is required")
    if not USER_NAME_RE.match(name):
        raise AccountError("user name: letters, digits and _ . @ + - only, starting with a letter or digit, "
                           "at most 128 characters")
    check_role(role)
    try:
        return int(conn.execute(
            users.insert().values(
                name=name, password_hash=hash_password(password), role=role, tenant_id=tenant_id,
                created_at=utcnow(),
            ).returning(users.c.id)
        ).scalar_one())
    except IntegrityError as exc:
        raise AccountError(f"user {name!r} already exists") from exc


def set_password(conn: Connection, *, name: str, password: str) -> None:
    """Replace a user's password; the user's dashboard sessions end."""
    result = conn.execute(users.update().where(users.c.name == name).values(password_hash=hash_password(password)))
    if result.rowcount == 0:
        raise AccountError(f"no user {name!r}")
    revoke_user_sessions(conn, name=name)


def authenticate_user(conn: Connection, *, name: str, password: str) -> Principal | None:
    """The user's principal when name and password match an enabled account.

    An unknown or disabled name costs one password hash too, so timing does not tell which names exist.
    """
    row = conn.execute(select(users).where(users.c.name == name.strip())).mappings().first()
    if row is None or row["disabled"]:
        verify_password(None, password)  # as slow as a real check
        return None
    if not verify_password(row["password_hash"], password):
        return None
    return Principal(name=row["name"], role=row["role"], tenant_id=row["tenant_id"])


def start_session(conn: Connection, *, name: str, hours: int) -> str:
    """A new dashboard session for the user; returns its token (the cookie value, never stored)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    # Expired sessions are of no use to anyone; each sign-in clears those of its user.
    conn.execute(dashboard_sessions.delete().where(dashboard_sessions.c.user_name == name,
                                                   dashboard_sessions.c.expires_at < now))
    conn.execute(dashboard_sessions.insert().values(
        token_hash=token_hash(token), user_name=name, created_at=now, expires_at=now + timedelta(hours=hours)))
    return token


def session_principal(conn: Connection, *, token: str) -> Principal | None:
    """The principal of a live session (not expired, not revoked, account enabled), or None."""
    if not token or len(token) > 128:
        return None
    row = conn.execute(
        select(users.c.name, users.c.role, users.c.tenant_id)
        .select_from(dashboard_sessions.join(users, users.c.name == dashboard_sessions.c.user_name))
        .where(dashboard_sessions.c.token_hash == token_hash(token), dashboard_sessions.c.revoked_at.is_(None),
               dashboard_sessions.c.expires_at > utcnow(), users.c.disabled.is_(False))
    ).first()
    return None if row is None else Principal(name=row.name, role=row.role, tenant_id=row.tenant_id)


def end_session(conn: Connection, *, token: str) -> None:
    """Revoke one dashboard session (sign-out)."""
    conn.execute(dashboard_sessions.update().where(dashboard_sessions.c.token_hash == token_hash(token),
                                                   dashboard_sessions.c.revoked_at.is_(None))
                 .values(revoked_at=utcnow()))


def revoke_user_sessions(conn: Connection, *, name: str) -> int:
    """Revoke every live dashboard session of a user; returns how many."""
    return int(conn.execute(dashboard_sessions.update().where(dashboard_sessions.c.user_name == name,
                                                              dashboard_sessions.c.revoked_at.is_(None))
                            .values(revoked_at=utcnow())).rowcount)


def get_user_principal(conn: Connection, *, name: str) -> Principal | None:
    """The principal of an enabled user by name (for restoring a session)."""
    row = conn.execute(select(users).where(users.c.name == name)).mappings().first()
    if row is None or row["disabled"]:
        return None
    return Principal(name=row["name"], role=row["role"], tenant_id=row["tenant_id"])


def list_users(conn: Connection, *, tenant_id: str | None = None) -> pd.DataFrame:
    """Users (never their hashes): id, name, role, tenant_id, created_at, disabled."""
    query = select(users.c.id, users.c.name, users.c.role, users.c.tenant_id, users.c.created_at, users.c.disabled)
    if tenant_id is not None:
        query = query.where(users.c.tenant_id == tenant_id)
    rows = conn.execute(query.order_by(users.c.name)).mappings().all()
    return pd.DataFrame(rows, columns=["id", "name", "role", "tenant_id", "created_at", "disabled"])


def _keep_an_admin(conn: Connection, *, name: str) -> None:
    """Refuse when `name` is the only enabled all-tenant admin (its rows locked until the caller commits)."""
    # FOR UPDATE makes two admins disabling each other at once wait for one another (PostgreSQL; SQLite
    # writers are serialised anyway), so the second sees the first's change and is refused.
    admins = conn.execute(
        select(users.c.name).where(users.c.role == "admin", users.c.tenant_id.is_(None),
                                   users.c.disabled.is_(False)).with_for_update()
    ).scalars().all()
    if list(admins) == [name]:
        raise AdminLockout("it is the only enabled admin of all tenants, and without one nobody could manage "
                           "accounts or switch the feature flag; add or enable another all-tenant admin first")


def set_user_disabled(conn: Connection, *, name: str, disabled: bool, actor: str | None = None) -> None:
    """Disable or re-enable a user (disabling ends its sessions); never `actor` itself nor the last all-tenant admin."""
    if disabled:
        if actor is not None and name == actor:
            raise AdminLockout("you cannot disable your own account")
        _keep_an_admin(conn, name=name)
    if conn.execute(users.update().where(users.c.name == name).values(disabled=disabled)).rowcount == 0:
        raise AccountError(f"no user {name!r}")
    if disabled:
        revoke_user_sessions(conn, name=name)


def set_user_role(conn: Connection, *, name: str, role: str, actor: str | None = None) -> None:
    """Change a user's role; never taking admin from `actor` itself nor from the last all-tenant admin."""
    check_role(role)
    if role != "admin":
        if actor is not None and name == actor:
            raise AdminLockout("you cannot take the admin role from your own account")
        _keep_an_admin(conn, name=name)
    if conn.execute(users.update().where(users.c.name == name).values(role=role)).rowcount == 0:
        raise AccountError(f"no user {name!r}")


def create_token(conn: Connection, *, name: str, role: str, tenant_id: str | None) -> tuple[int, str]:
    """Create an API token; returns (id, token). Only the hash is stored."""
    check_role(role)
    _check_tenant(tenant_id)
    if not name.strip():
        raise AccountError("token name is required")
    if not TOKEN_NAME_RE.match(name.strip()):
        raise AccountError("token name: letters, digits, spaces and _ . @ + : / - only, at most 128 characters")
    token = new_token()
    token_id = conn.execute(
        api_tokens.insert().values(
            name=name.strip(), token_hash=token_hash(token), role=role, tenant_id=tenant_id, created_at=utcnow()
        ).returning(api_tokens.c.id)
    ).scalar_one()
    return int(token_id), token


def authenticate_token(conn: Connection, token: str) -> Principal | None:
    """The token's principal when it exists and is not revoked; records last use (to the minute)."""
    row = conn.execute(select(api_tokens).where(api_tokens.c.token_hash == token_hash(token))).mappings().first()
    if row is None or row["revoked_at"] is not None:
        return None
    now = utcnow()
    # Writing last_used_at on every request made every API read a write transaction (a commit flush per
    # request, bench api.*.p95); once a minute is as useful for spotting unused tokens.
    if row["last_used_at"] is None or now - row["last_used_at"] >= LAST_USED_RESOLUTION:
        conn.execute(api_tokens.update().where(api_tokens.c.id == row["id"]).values(last_used_at=now))
    return Principal(name=f"token:{row['name']}", role=row["role"], tenant_id=row["tenant_id"], token_id=row["id"])


def list_tokens(conn: Connection) -> pd.DataFrame:
    """Tokens without secrets: id, name, role, tenant_id, created_at, last_used_at, revoked_at."""
    cols = ["id", "name", "role", "tenant_id", "created_at", "last_used_at", "revoked_at"]
    rows = conn.execute(select(*[api_tokens.c[c] for c in cols]).order_by(api_tokens.c.id)).mappings().all()
    return pd.DataFrame(rows, columns=cols)


def revoke_token(conn: Connection, *, token_id: int | None = None, name: str | None = None) -> int:
    """Revoke tokens by id or name; returns how many were revoked."""
    if token_id is None and not name:
        raise AccountError("give a token id or name")
    cond = api_tokens.c.id == token_id if token_id is not None else api_tokens.c.name == name
    n = conn.execute(
        api_tokens.update().where(cond, api_tokens.c.revoked_at.is_(None)).values(revoked_at=utcnow())
    ).rowcount
    if n == 0:
        raise AccountError(f"no active token {token_id if token_id is not None else name!r}")
    return int(n)
