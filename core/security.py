"""Passwords (argon2), API tokens (only their sha256 is stored), roles and tenant scope."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ROLES = ("viewer", "oncall", "admin")
# What each role may do; every write path re-checks this on the server side.
PERMISSIONS = {
    "viewer": {"read"},
    "oncall": {"read", "recover"},
    "admin": {"read", "recover", "ingest", "admin", "export", "catalog", "flags"},
}
# Actions that change every tenant at once (the catalog re-matches all tenants' failures, a flag switches ingest
# for all): an account bound to one tenant may not take them, whatever its role.
GLOBAL_ACTIONS = {"catalog": "the catalog is shared by every tenant", "flags": "feature flags apply to every tenant"}
ACTION_WORDS = {
    "read": "view failures", "recover": "mark recoveries", "ingest": "ingest events",
    "admin": "administer accounts", "export": "run exports", "catalog": "change the catalog",
    "flags": "switch feature flags",
}
TOKEN_PREFIX = "fct_"

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """Slow salted hash of a password (argon2id)."""
    if len(password) < 8:
        raise ValueError("password must have at least 8 characters")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when the password matches the stored hash; with no hash (unknown user) it takes as long and is False."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Checking a password against this costs what a real check costs, so timing does not tell which names exist.
    return _hasher.hash(secrets.token_urlsafe(16))


def new_token() -> str:
    """A fresh random API token (shown once, never stored)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """The stored form of a token: hex sha256 (tokens are random, so a fast hash is enough)."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """Who is acting: a signed-in user or an API token, with a role and a tenant scope."""

    name: str
    role: str
    tenant_id: str | None  # None = all tenants
    token_id: int | None = None  # the API token acting, if any

    def can(self, action: str) -> bool:
        """True when the role allows `action` (read, recover, ingest, admin, export, catalog, flags) in this scope."""
        return self.refusal(action) is None

    def refusal(self, action: str) -> str | None:
        """Why this principal may not take `action`, or None when it may."""
        if action not in PERMISSIONS.get(self.role, set()):
            return f"your role ({self.role}) does not allow you to {ACTION_WORDS.get(action, action)}"
        if action in GLOBAL_ACTIONS and self.tenant_id is not None:
            return f"{GLOBAL_ACTIONS[action]}: only an account of all tenants may {ACTION_WORDS[action]}"
        return None

    @property
    def all_tenants(self) -> bool:
        """True for a principal not bound to one tenant."""
        return self.tenant_id is None

    def scope(self, requested: str | None = None) -> str | None:
        """Tenant filter to apply: the principal's own tenant, or the requested one if allowed."""
        if self.tenant_id is not None:
            if requested not in (None, "", self.tenant_id):
                raise PermissionError("this account is limited to its own tenant")
            return self.tenant_id
        return requested or None


def check_role(role: str) -> str:
    """Validate a role name."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    return role
