"""Passwords (argon2), API tokens (only their sha256 is stored), roles and tenant scope."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ROLES = ("viewer", "oncall", "admin")
# What each role may do; every write path re-checks this on the server side.
PERMISSIONS = {
    "viewer": {"read"},
    "oncall": {"read", "recover"},
    "admin": {"read", "recover", "ingest", "admin", "export", "catalog"},
}
TOKEN_PREFIX = "fct_"

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """Slow salted hash of a password (argon2id)."""
    if len(password) < 8:
        raise ValueError("password must have at least 8 characters")
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when the password matches the stored hash."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


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

    def can(self, action: str) -> bool:
        """True when the role allows `action` (read, recover, ingest, admin, export, catalog)."""
        return action in PERMISSIONS.get(self.role, set())

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
