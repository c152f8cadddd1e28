"""Failure Catalog dashboard: sign-in gate, then pages chosen by role with st.navigation."""
from __future__ import annotations

import streamlit as st

from dashboard import session
from dashboard.assets import FAVICON
from dashboard.metrics_server import ensure_metrics_server
from dashboard.navigation import operation_pages, page_refused_notice
from dashboard.scope import catalog_is_off
from dashboard.text import lit
from dashboard.ui import apply_layout

# A file of ours: a :material/...: page icon makes every browser fetch it from fonts.gstatic.com.
st.set_page_config(page_title="Failure Catalog", page_icon=FAVICON, layout="wide")
apply_layout()
# This process's counters (recoveries marked in forms) for Prometheus on METRICS_PORT; starts once per process.
ensure_metrics_server()

principal = session.current_principal()
session.sync_cookie()

URL_PATHS = ("overview", "explore", "trends", "catalog", "failure", "oncall", "exports", "admin")

if principal is None:
    # The sign-in form answers at every page's address, so a deep link (/failure?id=...) or a reload
    # after the session expired lands on the page asked for once signed in.
    st.navigation(
        [st.Page(session.sign_in_form, title="Sign in", icon=":material/login:", default=True)]
        + [st.Page(session.sign_in_form, title="Sign in", url_path=p) for p in URL_PATHS],
        position="hidden",
    ).run()
    st.stop()

# Pages by role; Failure detail is reached through links (?id=...) and stays out of the menu.
analysis = [
    st.Page("pages/overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page("pages/explore.py", title="Explore", icon=":material/manage_search:", url_path="explore"),
    st.Page("pages/trends.py", title="Trends", icon=":material/trending_up:", url_path="trends"),
    st.Page("pages/catalog.py", title="Catalog", icon=":material/menu_book:", url_path="catalog"),
    st.Page("pages/failure.py", title="Failure detail", icon=":material/description:",
            url_path="failure", visibility="hidden"),
]
operations, stand_ins = operation_pages(principal)

sections = {"Analysis": analysis + stand_ins}
if operations:
    sections["Operations"] = operations
page = st.navigation(sections)

with st.sidebar:
    scope = lit(principal.tenant_id) if principal.tenant_id else "all tenants"
    st.caption(f":material/account_circle: {lit(principal.name)} · {principal.role} · {scope}")
    st.button("Sign out", icon=":material/logout:", on_click=session.sign_out, key="sign_out", type="tertiary")

if catalog_is_off():
    st.warning(
        "The failure catalog is switched **off** (feature flag `failure_catalog_m9`): ingest refuses "
        "new events until an admin turns it back on. The figures below show data stored before.",
        icon=":material/toggle_off:",
    )

page_refused_notice()
page.run()
