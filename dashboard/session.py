"""Who is signed in to the dashboard: local accounts with a server-side session, or OIDC via st.login.

The principal lives in ``st.session_state[PRINCIPAL_KEY]``. Production sign-in (password form, cookie
restore, OIDC) stores it there, and AppTest tests place a ``core.security.Principal`` there before
``at.run()`` (the documented test path). Every run re-checks the session or the account in the database
(cached for a few seconds), so a sign-out elsewhere, a disabled account or a changed role takes effect
without a new sign-in.

The cookie holds a random session token; the server keeps only its hash (queries.accounts). Streamlit lets
a page set cookies only from the browser, so the cookie cannot be httpOnly: it is SameSite=Strict, Secure
over https, lives no longer than the session, and is worthless once the session is revoked.
"""
from __future__ import annotations

import json
import logging

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from core.db import DatabaseUnavailable, describe_db_error
from core.metrics import get_metrics
from core.security import Principal
from core.settings import get_settings
from core.throttle import Throttle
from dashboard.cache import cached_loader
from dashboard.db import Database, database
from dashboard.text import lit
from queries.accounts import (
    authenticate_user,
    end_session,
    get_user_principal,
    session_principal,
    start_session,
)

log = logging.getLogger("failcat.dashboard")

PRINCIPAL_KEY = "failcat_principal"
COOKIE_NAME = "failcat_session"
_TOKEN_KEY = "failcat_session_token"
_SIGNED_OUT_KEY = "failcat_signed_out"
_COOKIE_SENT_KEY = "failcat_cookie_sent"
MAX_NAME = 128


@cached_loader(ttl=15)
def _lookup_user(db: Database, name: str) -> Principal | None:
    with db.connect() as conn:
        return get_user_principal(conn, name=name)


@cached_loader(ttl=15)
def _lookup_session(db: Database, token: str) -> Principal | None:
    with db.connect() as conn:
        return session_principal(conn, token=token)


@st.cache_resource(show_spinner=False)
def _throttles() -> tuple[Throttle, Throttle]:
    """Failed sign-ins per account and per client address, for this dashboard process."""
    settings = get_settings()
    window = settings.auth_failure_window_seconds
    return (Throttle(settings.auth_max_failures_per_account, window),
            Throttle(settings.auth_max_failures_per_address, window))


def oidc_configured() -> bool:
    """True when an [auth] section is present in secrets.toml (then st.login replaces passwords)."""
    try:
        return "auth" in st.secrets
    except (FileNotFoundError, KeyError, ValueError):
        return False
    except Exception:  # noqa: BLE001 - a broken secrets file must not lock everyone out of local sign-in
        return False


def _oidc_name() -> str | None:
    if not getattr(st.user, "is_logged_in", False):
        return None
    name = st.user.get("email") or st.user.get("preferred_username") or st.user.get("sub")
    return str(name) if name else None


def _cookie() -> str | None:
    """The session cookie the browser sent when it connected (None when there is none, or no browser)."""
    value = st.context.cookies.get(COOKIE_NAME)
    return value if isinstance(value, str) and value else None


def _restore() -> Principal | None:
    """Principal from session state, OIDC or the session cookie, checked against the database."""
    state = st.session_state
    held = state.get(PRINCIPAL_KEY)
    token = state.get(_TOKEN_KEY)
    if token:
        principal = _lookup_session(token)
    elif held is not None:
        principal = _lookup_user(held.name)
    elif oidc_configured():
        name = _oidc_name()
        principal = _lookup_user(name) if name else None
    elif not state.get(_SIGNED_OUT_KEY):
        cookie = _cookie()
        principal = _lookup_session(cookie) if cookie else None
        if principal is not None:
            state[_TOKEN_KEY] = state[_COOKIE_SENT_KEY] = cookie
    else:
        principal = None
    if principal is None:
        state.pop(PRINCIPAL_KEY, None)
        state.pop(_TOKEN_KEY, None)
        return None
    state[PRINCIPAL_KEY] = principal
    return principal


def _leave_pages_directory_mode() -> None:
    """Make sure app.py's st.navigation decides which page runs, even on a fresh server's first request.

    Streamlit treats a `pages/` folder as old-style multipage app until st.navigation has run once in the
    process, so the first request for /explore would run pages/explore.py alone (no gate, a wrong menu).
    Switching that mode off and rerunning sends the request through app.py.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def current_principal() -> Principal | None:
    """The signed-in principal, or None. A database failure stops the page with a clear message."""
    try:
        return _restore()
    except (DatabaseUnavailable, SQLAlchemyError) as exc:
        # Before sign-in nobody is known: the database's address goes to the log, not to the page.
        log.warning("cannot check a sign-in: %s", describe_db_error(exc, database().url))
        st.error("Cannot check your sign-in: the database is unreachable. Try again in a minute; if it lasts, "
                 "the operator's log has the details.", icon=":material/error:")
        st.stop()
    return None  # unreachable; st.stop raises


def require(action: str = "read") -> Principal:
    """The signed-in principal allowed to `action`; otherwise the page stops with a clear message."""
    _leave_pages_directory_mode()  # pages call this first; app.py's own run never needs it
    principal = current_principal()
    if principal is None:
        st.warning("Please sign in to use the Failure Catalog.", icon=":material/lock:")
        st.stop()
    assert principal is not None
    refusal = principal.refusal(action)
    if refusal is not None:
        st.error(refusal[0].upper() + refusal[1:] + ".", icon=":material/block:")
        st.stop()
    return principal


def client_address() -> str:
    """The browser's address as this server sees it (the proxy's, behind one)."""
    try:
        return st.context.ip_address or "unknown"
    except Exception:  # noqa: BLE001 - AppTest has no request
        return "unknown"


class SignInThrottled(Exception):
    """Too many failed sign-ins for this account or from this address; `retry_after` in seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"retry in {retry_after} s")
        self.retry_after = retry_after


def sign_in(name: str, password: str) -> Principal | None:
    """Check a local account's password; on success the session holds the principal and a new session token.

    Raises SignInThrottled, without checking the password, while the account or the address has failed too often.
    """
    by_account, by_address = _throttles()
    account, address = name.strip().lower()[:MAX_NAME], client_address()
    wait = max(by_account.retry_after(account), by_address.retry_after(address))
    metrics = get_metrics()
    if wait:
        metrics.count_auth_failure(channel="dashboard", outcome="throttled")
        log.warning("sign-in throttled: user=%r address=%s retry_after=%ss", account, address, wait)
        raise SignInThrottled(wait)
    with database().connect() as conn:
        principal = authenticate_user(conn, name=name[:MAX_NAME], password=password)
    if principal is None:
        by_account.failure(account)
        by_address.failure(address)
        metrics.count_auth_failure(channel="dashboard", outcome="bad_credentials")
        log.warning("sign-in refused: user=%r address=%s", account, address)
        return None
    by_account.success(account)
    with database().begin() as conn:
        token = start_session(conn, name=principal.name, hours=get_settings().session_hours)
    st.session_state[PRINCIPAL_KEY] = principal
    st.session_state[_TOKEN_KEY] = token
    st.session_state.pop(_SIGNED_OUT_KEY, None)
    return principal


def sign_out() -> None:
    """End the session on the server, forget the principal and delete the cookie (OIDC: st.logout)."""
    token = st.session_state.pop(_TOKEN_KEY, None)
    st.session_state.pop(PRINCIPAL_KEY, None)
    if token:
        try:
            with database().begin() as conn:
                end_session(conn, token=token)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            log.warning("could not end a dashboard session: %s", exc)
        _lookup_session.clear()
    # The browser's cookie stays in st.context.cookies until a reload, so remember the sign-out.
    st.session_state[_SIGNED_OUT_KEY] = True
    if oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def sync_cookie() -> None:
    """Write (after a sign-in) or delete (after a sign-out) the session cookie in the browser."""
    token = st.session_state.get(_TOKEN_KEY)
    sent = _cookie()
    if token and token != sent and st.session_state.get(_COOKIE_SENT_KEY) != token:
        value, max_age = token, 3600 * get_settings().session_hours
        st.session_state[_COOKIE_SENT_KEY] = token
    elif st.session_state.get(_SIGNED_OUT_KEY) and sent:
        value, max_age = "", 0
    else:
        return
    script = (
        "<script>(function(){var s=location.protocol==='https:'?'; Secure':'';"
        f"document.cookie={json.dumps(COOKIE_NAME + '=' + value)}+'; Path=/; Max-Age={max_age}; SameSite=Strict'+s;"
        "})();</script>"
    )
    st.html(script, unsafe_allow_javascript=True, width="content")


def sign_in_form() -> None:
    """The sign-in screen: SSO button when OIDC is configured, else a user name and password form."""
    _, mid, _ = st.columns([1, 1.2, 1])
    with mid:
        st.markdown("## :material/bug_report: Failure Catalog")
        st.caption("Failures of agent runs, matched against the catalog of known failure patterns.")
        if oidc_configured():
            if _oidc_name():
                st.error(f"No Failure Catalog account for {lit(_oidc_name())}. Ask an admin to add one.")
                st.button("Sign out", on_click=st.logout)
            else:
                st.button("Sign in with single sign-on", type="primary", on_click=st.login, width="stretch")
            return
        with st.form("sign_in", border=True):
            name = st.text_input("User name", key="sign_in_name", autocomplete="username")
            password = st.text_input("Password", type="password", key="sign_in_password",
                                     autocomplete="current-password")
            submitted = st.form_submit_button("Sign in", type="primary", width="stretch")
        if submitted:
            if not name or not password:
                st.error("Enter your user name and password.")
                return
            try:
                ok = sign_in(name, password)
            except SignInThrottled as exc:
                minutes = max(1, -(-exc.retry_after // 60))
                st.error(f"Too many failed sign-ins. Try again in {minutes} minute{'s' if minutes != 1 else ''}.")
                return
            except (DatabaseUnavailable, SQLAlchemyError) as exc:
                log.warning("cannot sign in %r: %s", name[:64], describe_db_error(exc, database().url))
                st.error("Cannot sign in: the database is unreachable. Try again in a minute; if it lasts, "
                         "the operator's log has the details.")
                return
            if ok is None:
                st.error("Wrong user name or password.")
            else:
                st.rerun()
        st.caption("Accounts are created with `failcat users add NAME --role viewer|oncall|admin`.")
