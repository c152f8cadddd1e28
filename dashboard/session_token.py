"""Signed, expiring session tokens for the dashboard's sign-in cookie (HMAC-SHA256; no Streamlit here)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

from core.settings import ROOT, get_settings

COOKIE_NAME = "failcat_session"
SECRET_FILE = ROOT / "data" / "session_secret"


def session_secret(path: Path = SECRET_FILE) -> bytes:
    """SESSION_SECRET, or a random key kept in data/session_secret (created on first use, mode 0600)."""
    configured = get_settings().session_secret
    if configured:
        return configured.encode()
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        key = secrets.token_hex(32).encode()
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process won the race: use its key
            return path.read_bytes().strip()
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        return key


def _sign(payload: str, key: bytes) -> str:
    return base64.urlsafe_b64encode(hmac.new(key, payload.encode(), hashlib.sha256).digest()).decode().rstrip("=")


def make_token(name: str, *, hours: int | None = None, key: bytes | None = None, now: float | None = None) -> str:
    """A token naming the user, valid for `hours` (default SESSION_HOURS): b64(name).expiry.signature."""
    expiry = int((now or time.time()) + 3600 * (hours or get_settings().session_hours))
    payload = f"{base64.urlsafe_b64encode(name.encode()).decode().rstrip('=')}.{expiry}"
    return f"{payload}.{_sign(payload, key or session_secret())}"


def read_token(token: str | None, *, key: bytes | None = None, now: float | None = None) -> str | None:
    """The user name in a valid, unexpired token; None for anything else (forged, expired, malformed)."""
    if not token or token.count(".") != 2:
        return None
    b64name, expiry, signature = token.split(".")
    payload = f"{b64name}.{expiry}"
    if not hmac.compare_digest(signature, _sign(payload, key or session_secret())):
        return None
    try:
        if int(expiry) < (now or time.time()):
            return None
        return base64.urlsafe_b64decode(b64name + "=" * (-len(b64name) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
