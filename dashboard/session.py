"""Who is signed in to the dashboard: local accounts with a signed cookie, or OIDC via st.login.

The principal lives in ``st.session_state[PRINCIPAL_KEY]``. Production sign-in (password form, cookie
restore, OIDC) stores it there, and AppTest tests place a ``core.security.Principal`` there before
``at.run()`` (the documented test path). Every run re-reads the account from the database (cached
for a few seconds), so a disabled account or a changed role takes effect without a new sign-in.
"""
from __future__ import annotations

import json

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from core.db import DatabaseUnavailable, describe_db_error
from core.security import Principal
from dashboard.db import connect, database_url
from dashboard.session_token import COOKIE_NAME, make_token, read_token
from queries.accounts import authenticate_user, get_user_principal

PRINCIPAL_KEY = "failcat_principal"
_TOKEN_KEY = "failcat_session_token"
_SIGNED_OUT_KEY = "failcat_signed_out"

ACTION_WORDS = {
    "read": "view failures", "recover": "mark recoveries", "ingest": "ingest events",
    "admin": "administer the catalog", "export": "run exports", "catalog": "change the catalog",
}


@st.cache_data(ttl=15, show_spinner=False)
def _lookup_user(url: str, name: str) -> Principal | None:
    with connect(url) as conn:
        return get_user_principal(conn, name=name)


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
    return st.user.get("email") or st.user.get("preferred_username") or st.user.get("sub")


def _restore() -> Principal | None:
    """Principal from session state, OIDC or the signed cookie, refreshed from the users table."""
    state = st.session_state
    held = state.get(PRINCIPAL_KEY)
    if held is not None:
        name = held.name
    elif oidc_configured():
        name = _oidc_name()
    elif not state.get(_SIGNED_OUT_KEY):
        name = read_token(st.context.cookies.get(COOKIE_NAME))
    else:
        name = None
    if not name:
        return None
    principal = _lookup_user(database_url(), name)
    if principal is None:
        state.pop(PRINCIPAL_KEY, None)
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
        st.error(f"Cannot check your sign-in: {describe_db_error(exc, database_url())}", icon=":material/error:")
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
    if not principal.can(action):
        st.error(
            f"Your role ({principal.role}) does not allow you to {ACTION_WORDS.get(action, action)}.",
            icon=":material/block:",
        )
        st.stop()
    return principal


def sign_in(name: str, password: str) -> Principal | None:
    """Check a local account's password; on success the session holds the principal and a fresh cookie."""
    with connect() as conn:
        principal = authenticate_user(conn, name=name, password=password)
    if principal is None:
        return None
    st.session_state[PRINCIPAL_KEY] = principal
    st.session_state[_TOKEN_KEY] = make_token(principal.name)
    st.session_state.pop(_SIGNED_OUT_KEY, None)
    _lookup_user.clear()
    return principal


def sign_out() -> None:
    """Forget the principal and delete the cookie (OIDC sessions are ended with st.logout)."""
    st.session_state.pop(PRINCIPAL_KEY, None)
    st.session_state.pop(_TOKEN_KEY, None)
    # The browser's cookie stays in st.context.cookies until a reload, so remember the sign-out.
    st.session_state[_SIGNED_OUT_KEY] = True
    if oidc_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()


def sync_cookie() -> None:
    """Write (after a sign-in) or delete (after a sign-out) the session cookie in the browser."""
    token = st.session_state.get(_TOKEN_KEY)
    sent = st.context.cookies.get(COOKIE_NAME)
    if token and token != sent:
        value, max_age = token, 3600 * 24 * 30  # the token carries its own shorter expiry
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
                st.error(f"No Failure Catalog account for {_oidc_name()}. Ask an admin to add one.")
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
            except (DatabaseUnavailable, SQLAlchemyError) as exc:
                st.error(f"Cannot sign in: {describe_db_error(exc, database_url())}")
                return
            if ok is None:
                st.error("Wrong user name or password.")
            else:
                st.rerun()
        st.caption("Accounts are created with `failcat users add NAME --role viewer|oncall|admin`.")
