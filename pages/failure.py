"""Failure detail (?id=<uuid>): every field, its group (notes, history, triage), the catalog entry and suggestions,
context, history, relatives."""
from __future__ import annotations

import pandas as pd
import streamlit as st
from streamlit.elements.lib.column_types import ColumnConfig  # st.column_config does not re-export the type

from dashboard.detail import failure_fields, load_failure_detail, why_matched
from dashboard.groups import (
    Triage,
    TriageOutcome,
    failures_query,
    group_panel,
    load_group_of,
    load_open_failures,
    state_text,
    triage,
)
from dashboard.links import detail_links, explore_back
from dashboard.oncall import mark
from dashboard.session import current_principal, require
from dashboard.text import lit, plain_heading, plain_table, plain_text, text_frame
from dashboard.ui import BadgeColor, bad_link, empty_state, guarded

SEVERITY_COLOR: dict[str, BadgeColor] = {
    "critical": "red", "high": "orange", "medium": "yellow", "low": "blue", "info": "gray",
}
RECOVERY_COLOR: dict[str, BadgeColor] = {"recovered": "green", "failed": "red"}
GROUP_STATE_COLOR: dict[str, BadgeColor] = {"resolved": "green", "ignored": "gray"}
RELATED: dict[str, ColumnConfig | str] = {
    "link": st.column_config.LinkColumn("Failure", display_text="Open", width="small"),
    "created_at": st.column_config.DatetimeColumn("When (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "error_code": "Code", "severity": "Severity", "skill_id": "Skill", "step_index": "Step",
    "error_message": st.column_config.TextColumn("Message", width="large"),
}

# The outcome of the last group action (group id, where it was asked, outcome) and a resolve awaiting its
# confirmation (group id, the version the person saw).
G_OUTCOME, G_PENDING = "detail_g_outcome", "detail_g_pending"

principal = require("read")
failure_id = (st.query_params.get("id") or "").strip()
# The Explore view this failure was opened from (validated: only Explore's own parameters, or none).
back = explore_back(st.query_params.get("back"))


def _back_link() -> None:
    st.page_link("pages/explore.py", label="Back to Explore", icon=":material/arrow_back:", query_params=back)


if not failure_id:
    _back_link()
    bad_link("No failure id in this link. Open a failure from Explore or On-call.")

with guarded():
    try:
        detail = load_failure_detail(failure_id, principal.tenant_id)
    except ValueError:
        detail = None
        _back_link()
        bad_link(f"{lit(failure_id, limit=80)} is not a failure id (ids look like 3f2b…-…-…).")
if detail is None:
    _back_link()
    bad_link(f"No failure {lit(failure_id, limit=80)} here: it does not exist, was removed by retention, "
             "or belongs to a tenant you cannot see.")
    st.stop()

f = detail.failure
state = "unrecovered" if not f["recovery_attempted"] else ("recovered" if f["recovery_succeeded"] else "failed")
_back_link()
plain_heading(f["error_code"])
badges = st.container(horizontal=True)
badges.badge(lit(f["severity"]) if f["severity"] else "no severity",
             color=SEVERITY_COLOR.get(f["severity"] or "", "gray"))
badges.badge(lit(f["category"]) if f["category"] else "uncategorised", color="violet")
badges.badge("matched" if f["catalog_entry_id"] else "unmatched", color="green" if f["catalog_entry_id"] else "red",
             icon=":material/link:" if f["catalog_entry_id"] else ":material/link_off:")
badges.badge(state, color=RECOVERY_COLOR.get(state, "orange"))
st.code(f["error_message"], language=None, wrap_lines=True)
if f.get("match_reason"):
    plain_text(why_matched(f["match_type"], f["match_reason"], matched=f["catalog_entry_id"] is not None),
               muted=True, small=True)



def _after(gid: str, place: str, outcome: TriageOutcome) -> None:
    st.session_state[G_OUTCOME] = (gid, place, outcome)
    st.rerun()  # the whole page again: the group, and this failure when resolving marked it recovered


def _show(outcome: TriageOutcome) -> None:
    (st.success if outcome.ok else st.error)(
        outcome.message, icon=":material/check_circle:" if outcome.ok else ":material/sync_problem:")


def _group_actions(group: dict, shown: TriageOutcome | None) -> None:
    """Assign to me and Resolve group (confirmed first), with the version of the group shown; results under them."""
    gid, version = str(group["id"]), int(group["version"])
    b1, b2 = st.columns(2)
    if b1.button("Assign to me", key="detail_g_assign", icon=":material/person_add:", width="stretch",
                 disabled=group["assignee"] == principal.name):
        _after(gid, "actions", triage(require("recover"), items=[(gid, version)],
                                      change=Triage(assignee=principal.name), verb="assigned"))
    if b2.button("Resolve group", key="detail_g_resolve", icon=":material/task_alt:", width="stretch",
                 disabled=group["state"] == "resolved"):
        st.session_state[G_PENDING] = (gid, version)
    pending = st.session_state.get(G_PENDING)
    if pending and pending[0] == gid:
        with st.container(border=True):
            open_failures = load_open_failures(((group["tenant_id"], group["signature"]),))
            st.markdown("**Resolve this group?** A new failure in a resolved group reopens it as regressed.")
            recover = st.checkbox(f"Also mark its {open_failures:,} open failure{'' if open_failures == 1 else 's'} "
                                  "recovered", value=False, disabled=open_failures == 0, key="detail_g_recover")
            c1, c2 = st.columns(2)
            if c1.button("Confirm: resolve", type="primary", icon=":material/check:", key="detail_g_confirm"):
                st.session_state.pop(G_PENDING, None)
                _after(gid, "actions", triage(require("recover"), items=[pending], verb="resolved",
                                              change=Triage(state="resolved", recover_failures=recover)))
            if c2.button("Cancel", key="detail_g_cancel"):
                st.session_state.pop(G_PENDING, None)
                st.rerun()
    if shown is not None:
        _show(shown)


left, right = st.columns([3, 2])
with left:
    st.subheader("Fields", anchor=False)
    fields = failure_fields(f)
    st.dataframe(text_frame(fields), hide_index=True, width="stretch", height=35 * len(fields) + 38,
                 column_config={"field": st.column_config.TextColumn("Field", width=170), "value": "Value"})
with right:
    st.subheader("Group", anchor=False)
    group = load_group_of(f["tenant_id"], f["signature"])
    if group is None:
        st.caption("This failure's group is not there any more.")
    else:
        gid = str(group["id"])
        said = st.session_state.pop(G_OUTCOME, None)
        place, said = (said[1], said[2]) if said is not None and said[0] == gid else (None, None)
        with st.container(border=True):
            plain_text(group["title"])
            info = st.container(horizontal=True)
            info.badge(state_text(group) + (" · regressed" if group["regressed"] else ""),
                       color=GROUP_STATE_COLOR.get(group["state"], "orange"))
            info.badge(f"assigned to {lit(group['assignee'], limit=40)}" if group["assignee"] else "unassigned",
                       color="blue" if group["assignee"] else "gray", icon=":material/person:")
            st.caption(f"{group['failures']:,} failures · first seen {group['first_seen']:%Y-%m-%d %H:%M} · "
                       f"last seen {group['last_seen']:%Y-%m-%d %H:%M} UTC")
            st.page_link("pages/explore.py", label="All its failures", icon=":material/list:",
                         query_params=failures_query(f["tenant_id"], f["signature"]))
            if principal.can("recover"):
                _group_actions(group, said if place == "actions" else None)
            saved = group_panel(principal, group, key="detail_gp")
            if saved is not None:
                _after(gid, "notes", saved)
            if said is not None and place == "notes":
                _show(said)
    st.subheader("Catalog entry", anchor=False)
    e = detail.entry
    if e is None:
        empty_state("No catalog entry matched this failure.",
                    f"{detail.signature_count} failure(s) share its signature; recurring ones are candidate "
                    "patterns on the Catalog page.")
    else:
        with st.container(border=True):
            st.markdown(f"{lit(e['code'])} · {lit(e['category'])} · {lit(e['severity'])}")
            plain_text(e["message"])
            retry = "yes" if e["is_retryable"] else "no"
            st.markdown(f"Recovery mode: {lit(e['recovery_mode'])} · retryable: **{retry}**"
                        + (f" · HTTP {int(e['http_status'])}" if e.get("http_status") else ""))
            st.markdown("**Recovery suggestions**")
            suggestions = e.get("recovery_suggestions") or []
            plain_text("\n".join(f"{i}. {s}" for i, s in enumerate(suggestions, 1)) or "none")
    if f.get("recovery_suggestion"):
        st.caption("Suggestion stored with the failure:")
        plain_text(f["recovery_suggestion"], muted=True, small=True)
    st.subheader("Context", anchor=False)
    if f.get("context"):
        st.json(f["context"], expanded=2)
    else:
        st.caption("No context was sent with this failure.")

viewer = current_principal()
if viewer is not None and viewer.can("recover"):
    with st.form("detail_mark", border=True):
        st.markdown("**Mark this failure's recovery**")
        c1, c2 = st.columns([1, 2])
        outcome_choice = c1.radio("Recovery", ["succeeded", "failed"], horizontal=True, key="detail_result")
        by = c2.text_input("Recovered by", value=viewer.name, max_chars=128, key="detail_by")
        mark_notes = st.text_area("Notes", max_chars=2000, key="detail_notes", placeholder="What was done")
        if st.form_submit_button("Mark recovery", type="primary", icon=":material/task_alt:"):
            done = mark(require("recover"), items=[(f["id"], int(f["version"]))],
                        succeeded=outcome_choice == "succeeded", recovered_by=by, notes=mark_notes)
            (st.success if done.ok else st.error)(done.message)
            if done.ok:
                load_failure_detail.clear()

st.subheader("Recovery history", anchor=False)
if detail.history.empty:
    st.caption("No recovery has been recorded for this failure yet.")
else:
    history = detail.history.assign(at=detail.history["at"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    history = history[["at", "from_state", "to_state", "actor", "notes", "source"]].fillna("")
    history.columns = ["When (UTC)", "From", "To", "By", "Notes", "Via"]
    plain_table(history)  # a few rows; actor and notes are people's text


def _related(title: str, df: pd.DataFrame, none: str, *, about: str | None = None) -> None:
    st.subheader(title, anchor=False)
    if about:
        st.caption(lit(about, limit=128))
    if df.empty:
        st.caption(none)
        return
    st.dataframe(text_frame(df.assign(link=detail_links(df["id"], back))), hide_index=True, width="stretch",
                 column_order=list(RELATED), column_config=RELATED)


a, b = st.columns(2)
with a:
    _related("Same run", detail.same_run, "No other failure in this run.", about=f["run_id"])
with b:
    _related(f"Same signature · {detail.signature_count} in total", detail.same_signature,
             "No other failure with this message signature.")
