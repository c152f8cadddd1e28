"""Catalog: entries with their hit counts, candidate patterns from unmatched signatures, and (admins) the
form that promotes a candidate into the catalog and re-matches the past unmatched failures it covers."""
from __future__ import annotations

import streamlit as st

from dashboard.catalog import (
    PAGE_SAMPLE_ROWS,
    RECOVERY_MODES,
    SEVERITIES,
    load_candidates,
    load_catalog_usage,
    promote,
    suggest_code,
    template_to_regex,
)
from dashboard.links import explore_link
from dashboard.session import require
from dashboard.text import text_frame
from dashboard.ui import empty_state, fmt_int, guarded, page_header
from dashboard.viewer_time import time_column
from dashboard.widgets import range_params, tenant_picker, time_range, url_warnings

OUTCOME = "catalog_outcome"

principal = require("read")
page_header("Catalog", "Known failure patterns and how often they matched; recurring unmatched messages "
            "grouped into candidates that can be promoted into the catalog.")
c1, c2, _ = st.columns([1, 1, 1])
tenant = tenant_picker(principal, key="catalog_tenant", container=c1)
window = time_range(key="catalog_range", container=c2, default="30d")
links_range = {**range_params("catalog_range"), **({"tenant": tenant} if tenant else {})}
url_warnings()

outcome = st.session_state.pop(OUTCOME, None)
if outcome is not None:
    (st.success if outcome.ok else st.error)(outcome.message)

entries_tab, candidates_tab = st.tabs(["Entries", "Candidate patterns"])

with entries_tab:
    with guarded():
        entries, other = load_catalog_usage(tenant, window.start, window.end)
    if entries.empty:
        empty_state("The catalog is empty.", "Run `failcat migrate` to load the shipped catalog.")
    else:
        tiles = st.columns(3)
        tiles[0].metric("Entries", fmt_int(len(entries)))
        tiles[1].metric("Entries with hits", fmt_int(int((entries["hits"] > 0).sum())))
        tiles[2].metric("Matched failures", fmt_int(int(entries["hits"].sum()) + other))
        if other:
            st.caption(f"{other:,} matched failures carry a runtime's own error code (matched by message), "
                       "so they are not counted under a catalog code below.")
        search = st.text_input("Search code, category or message", key="catalog_search")
        shown = entries
        if search:
            hay = entries["code"] + " " + entries["category"] + " " + entries["message"]
            shown = entries[hay.str.contains(search, case=False, regex=False)]
        shown = shown.assign(link=[explore_link(code=c, **links_range) for c in shown["code"]])
        # The entry and what it means first (code, category, hits, message); how it matches after them.
        columns = ["code", "category", "hits", "link", "message", "severity", "recovery_mode", "last_hit",
                   "is_retryable", "patterns", "keywords", "created_by", "enabled"]
        if tenant is not None and principal.tenant_id is not None:
            columns.remove("created_by")  # who promoted an entry may be another tenant's admin
        st.dataframe(
            text_frame(shown[columns]),
            hide_index=True, width="stretch",
            column_config={
                "code": st.column_config.TextColumn("Code", width=220, pinned=True),
                "category": st.column_config.TextColumn("Category", width=155),
                "severity": st.column_config.TextColumn("Severity", width=70),
                "recovery_mode": st.column_config.TextColumn("Recovery", width=160),
                "hits": st.column_config.NumberColumn("Hits", help=f"Matched failures in {window.label.lower()}",
                                                      width=65),
                "link": st.column_config.LinkColumn("Failures", display_text="List", width=65,
                                                    help="Its failures in Explore, same range"),
                "last_hit": time_column("Last hit", format="MM-DD HH:mm", width=115),
                "is_retryable": "Retryable", "patterns": st.column_config.ListColumn("Patterns"),
                "keywords": st.column_config.ListColumn("Keywords"), "created_by": "Added by",
                "enabled": "Enabled", "message": st.column_config.TextColumn("Message", width=330),
            },
        )

with candidates_tab:
    min_occ = st.columns([1, 3])[0].number_input("Minimum occurrences", min_value=1, max_value=1000, value=3,
                                                key="catalog_min_occ")
    with guarded():
        candidates = load_candidates(tenant, window.start, window.end, int(min_occ))
    if candidates.empty:
        empty_state(f"No unmatched message recurred {int(min_occ)} or more times in {window.label.lower()}.")
        st.stop()
    # The template, how often, an example and the suggestion first; when and where after them.
    columns = ["template", "occurrences", "link", "examples", "suggested_category", "error_codes",
               *(["tenants"] if tenant is None else []), "last_seen", "first_seen", "affected_skills",
               "suggested_recovery_mode"]
    candidates = candidates.assign(link=[explore_link(sig=s, matched="unmatched", **links_range)
                                         for s in candidates["signature"]])
    st.dataframe(text_frame(candidates[columns]), hide_index=True, width="stretch", column_config={
        "template": st.column_config.TextColumn("Message template", width=330, pinned=True),
        "occurrences": st.column_config.NumberColumn("Count", width=65),
        "link": st.column_config.LinkColumn("Failures", display_text="List", width=65,
                                            help="Its failures in Explore, same range"),
        "first_seen": time_column("First seen", format="MM-DD HH:mm", width=115),
        "last_seen": time_column("Last seen", format="MM-DD HH:mm", width=115),
        "error_codes": st.column_config.ListColumn("Codes"), "affected_skills": st.column_config.ListColumn(
            "Recent skills", help=f"Skills of the latest {PAGE_SAMPLE_ROWS} failures of the pattern in the range"),
        "tenants": st.column_config.ListColumn("Tenants"),
        "examples": st.column_config.ListColumn("Examples", width=300),
        "suggested_category": "Suggested category", "suggested_recovery_mode": "Suggested recovery",
    })
    if not principal.can("catalog"):
        st.caption("Promoting a candidate changes the catalog of every tenant: an admin of all tenants can do it.")
        st.stop()

    # Candidates are chosen by signature (a stable id), never by row position.
    by_sig = {r["signature"]: r for r in candidates.to_dict("records")}
    sig = st.selectbox("Promote candidate", list(by_sig), key="catalog_candidate",
                       format_func=lambda s: f"{by_sig[s]['occurrences']}× {by_sig[s]['template'][:90]}")
    cand = by_sig[sig]
    with st.form(f"promote_{sig}", border=True):
        st.markdown("**New catalog entry**")
        a, b = st.columns(2)
        code = a.text_input("Code (UPPER_SNAKE_CASE)", value=suggest_code(cand["template"], cand["suggested_category"]),
                            max_chars=128, key=f"promote_code_{sig}")
        category = b.text_input("Category", value=cand["suggested_category"], key=f"promote_category_{sig}")
        a, b, c = st.columns(3)
        severities = list(SEVERITIES)
        severity = a.selectbox("Severity", severities, index=severities.index("medium"), key=f"promote_sev_{sig}")
        modes = list(RECOVERY_MODES)
        mode = b.selectbox("Recovery mode", modes, key=f"promote_mode_{sig}",
                           index=modes.index(cand["suggested_recovery_mode"])
                           if cand["suggested_recovery_mode"] in modes else 0)
        retryable = c.checkbox("Retryable", value=mode.startswith("RETRY"), key=f"promote_retry_{sig}")
        regex = st.text_area("Pattern (regular expression, case-insensitive; one per line)",
                             value=template_to_regex(cand["template"]), key=f"promote_regex_{sig}")
        keywords = st.text_input("Keywords (comma-separated, optional)", key=f"promote_kw_{sig}")
        message = st.text_input("Description", value=cand["template"][:200], key=f"promote_msg_{sig}")
        suggestions = st.text_area("Recovery suggestions (one per line)", key=f"promote_sugg_{sig}")
        submitted = st.form_submit_button("Promote and re-match", type="primary", icon=":material/add_task:")
    if submitted:
        actor = require("catalog")  # re-checked on the server right before the write
        form = {
            "code": code, "category": category, "severity": severity, "recovery_mode": mode,
            "is_retryable": retryable, "message": message,
            "patterns": [p.strip() for p in regex.splitlines() if p.strip()],
            "keywords": [k.strip() for k in keywords.split(",") if k.strip()],
            "recovery_suggestions": [s.strip() for s in suggestions.splitlines() if s.strip()],
        }
        with guarded():
            done = promote(actor, form, examples=list(cand["examples"]))
        if done.ok:
            st.session_state[OUTCOME] = done
            st.rerun()
        st.error(done.message)
