"""Admin: the failure_catalog_m9 feature flag, local users and API tokens."""
from __future__ import annotations

import streamlit as st

from dashboard.admin import (
    CATALOG_FLAG,
    ROLES,
    SWITCH_OFF_EFFECT,
    AdminOutcome,
    accounts_table,
    add_token,
    add_user,
    change_role,
    change_user,
    load_flags,
    load_tokens,
    load_users,
    revoke,
    switch_catalog_flag,
)
from dashboard.session import require
from dashboard.text import lit, text_frame
from dashboard.ui import empty_state, guarded, page_header

OUTCOME = "admin_outcome"

principal = require("admin")
scope = principal.tenant_id
page_header("Admin", "Feature flag, users and API tokens" + (f" of tenant {lit(scope)}." if scope else "."))

outcome = st.session_state.pop(OUTCOME, None)
if outcome is not None:
    (st.success if outcome.ok else st.error)(outcome.message)
    if outcome.secret:
        st.code(outcome.secret, language=None)


def _done(result: AdminOutcome) -> None:
    st.session_state[OUTCOME] = result
    st.rerun()


def _tenant_field(key: str) -> str | None:
    if scope is not None:
        st.text_input("Tenant", value=scope, disabled=True, key=f"{key}_fixed")
        return scope
    return st.text_input("Tenant (blank = all tenants)", key=key, max_chars=64)


flag_tab, users_tab, tokens_tab = st.tabs(["Feature flag", "Users", "API tokens"])

with flag_tab:
    with guarded():
        flags = load_flags()
    row = flags[flags["name"] == CATALOG_FLAG]
    enabled = bool(row["enabled"].iloc[0]) if not row.empty else True
    if enabled:
        st.success(f"`{CATALOG_FLAG}` is **on**: failures are ingested and matched.", icon=":material/toggle_on:")
    else:
        st.warning(f"`{CATALOG_FLAG}` is **off**: ingest refuses new events (the API answers 503).",
                   icon=":material/toggle_off:")
    if scope is None and not row.empty and row["updated_by"].iloc[0]:
        when = f"{row['updated_at'].iloc[0]:%Y-%m-%d %H:%M}"
        st.caption(f"Last changed by {lit(row['updated_by'].iloc[0])} at {when} UTC.")
    if scope is not None:
        st.caption("The flag affects every tenant; only an all-tenant admin can switch it.")
    elif enabled:
        with st.container(border=True):
            st.markdown("**Switch off (stop ingest)**")
            st.caption(SWITCH_OFF_EFFECT)
            sure = st.checkbox("Stop ingest for every tenant until the flag is switched back on",
                               key="admin_flag_confirm")
            if st.button("Switch off", key="admin_flag_switch", disabled=not sure):
                _done(switch_catalog_flag(require("admin"), enabled=False, confirmed=sure))
    elif st.button("Switch on (resume ingest)", key="admin_flag_switch", type="primary"):
        _done(switch_catalog_flag(require("admin"), enabled=True))

with users_tab:
    with guarded():
        users = load_users(scope)
    if users.empty:
        empty_state("No users yet.")
    else:
        st.dataframe(text_frame(accounts_table(users)), hide_index=True, width="stretch", column_config={
            "id": None, "name": "Name", "role": "Role", "tenant_id": "Tenant",
            "created_at": st.column_config.DatetimeColumn("Created (UTC)", format="YYYY-MM-DD HH:mm"),
            "disabled": "Disabled",
        })
        a, b, c, d = st.columns([2, 1, 1, 1], vertical_alignment="bottom")
        who = a.selectbox("User", list(users["name"]), key="admin_user_pick")
        picked = users[users["name"] == who].iloc[0]
        is_disabled = bool(picked["disabled"])
        # The role picker starts at the picked user's role, again whenever another user is picked.
        if st.session_state.get("admin_user_role_of") != who:
            st.session_state["admin_user_new_role"] = picked["role"]
            st.session_state["admin_user_role_of"] = who
        new_role = b.selectbox("Role", ROLES, key="admin_user_new_role")
        if c.button("Change role", key="admin_user_set_role", disabled=new_role == picked["role"], width="stretch"):
            _done(change_role(require("admin"), name=who, role=new_role))
        if d.button("Enable" if is_disabled else "Disable", key="admin_user_toggle", width="stretch"):
            _done(change_user(require("admin"), name=who, disabled=not is_disabled))
        st.caption("You cannot disable your own account or take the admin role from it, and the last enabled "
                   "admin of all tenants stays an enabled admin.")
    with st.form("admin_add_user", clear_on_submit=True):
        st.markdown("**Add user**")
        a, b = st.columns(2)
        name = a.text_input("Name", max_chars=128, key="admin_user_name")
        password = b.text_input("Password (at least 8 characters)", type="password", key="admin_user_password")
        a, b = st.columns(2)
        role = a.selectbox("Role", ROLES, key="admin_user_role")
        with b:
            tenant = _tenant_field("admin_user_tenant")
        if st.form_submit_button("Add user", type="primary"):
            _done(add_user(require("admin"), name=name, password=password, role=role, tenant_id=tenant))

with tokens_tab:
    with guarded():
        tokens = load_tokens(scope)
    if tokens.empty:
        empty_state("No API tokens yet.")
    else:
        st.dataframe(text_frame(accounts_table(tokens)), hide_index=True, width="stretch", column_config={
            "id": "Id", "name": "Name", "role": "Role", "tenant_id": "Tenant",
            "created_at": st.column_config.DatetimeColumn("Created (UTC)", format="YYYY-MM-DD HH:mm"),
            "last_used_at": st.column_config.DatetimeColumn("Last used (UTC)", format="YYYY-MM-DD HH:mm"),
            "revoked_at": st.column_config.DatetimeColumn("Revoked (UTC)", format="YYYY-MM-DD HH:mm"),
        })
        active = tokens[tokens["revoked_at"].isna()]
        if not active.empty:
            names = dict(zip(active["id"], active["name"], strict=True))
            a, b = st.columns([2, 1])
            pick = a.selectbox("Token", list(names), key="admin_token_pick", format_func=lambda i: f"{i} · {names[i]}")
            b.write("")
            if b.button("Revoke", key="admin_token_revoke"):
                _done(revoke(require("admin"), token_id=int(pick)))
    with st.form("admin_add_token", clear_on_submit=True):
        st.markdown("**Create token**")
        a, b, c = st.columns(3)
        tname = a.text_input("Name", max_chars=128, key="admin_token_name")
        trole = b.selectbox("Role", ROLES, key="admin_token_role")
        with c:
            ttenant = _tenant_field("admin_token_tenant")
        if st.form_submit_button("Create token", type="primary"):
            _done(add_token(require("admin"), name=tname, role=trole, tenant_id=ttenant))
