"""On-call: the unrecovered queue, most severe first; mark recoveries by failure id, one or many at once."""
from __future__ import annotations

import streamlit as st

from dashboard.oncall import QUEUE_LIMIT, load_queue, load_queue_summary, mark, row_label, short_id
from dashboard.session import require
from dashboard.ui import empty_state, fmt_int, guarded, page_header
from dashboard.widgets import tenant_picker

# What this session displayed last run (id -> version, label): a mark carries the version the person saw,
# never a row position (dataframe selections keep positions across refreshes, streamlit issue 17026).
SHOWN, VIEW, OUTCOME, FORM_N = "oncall_shown", "oncall_view", "oncall_outcome", "oncall_form_n"

principal = require("recover")
page_header("On-call", "Failures not recovered yet, most severe first, newest next. "
            "Choose them by id and record whether the recovery succeeded.")
prev_shown: dict[str, dict] = st.session_state.get(SHOWN, {})
prev_view: list[str] = st.session_state.get(VIEW, [])

outcome = st.session_state.pop(OUTCOME, None)
if outcome is not None:
    (st.success if outcome.ok else st.error)(outcome.message, icon=":material/check_circle:" if outcome.ok
                                             else ":material/sync_problem:")

left, _ = st.columns([1, 3])
tenant = tenant_picker(principal, key="oncall_tenant", container=left)
with guarded():
    summary = load_queue_summary(tenant)
    queue = load_queue(tenant, QUEUE_LIMIT)

total = int(summary["failures"].sum()) if not summary.empty else 0
severe = int(summary.loc[summary["severity_rank"] <= 1, "failures"].sum()) if not summary.empty else 0
tiles = st.columns(3)
tiles[0].metric("Unrecovered", fmt_int(total))
tiles[1].metric("Critical or high", fmt_int(severe))
tiles[2].metric("Recovery attempted, failed", fmt_int(summary["failed_attempts"].sum() if total else 0))

if queue.empty:
    st.session_state[SHOWN], st.session_state[VIEW] = {}, []
    empty_state("Nothing to recover: every failure in scope has a successful recovery.")
    st.stop()

f1, f2 = st.columns(2)
severities = f1.multiselect("Severity", sorted(queue["severity"].fillna("unknown").unique()), key="oncall_sev")
codes = f2.multiselect("Error code", sorted(queue["error_code"].unique()), key="oncall_codes")
view = queue
if severities:
    view = view[view["severity"].fillna("unknown").isin(severities)]
if codes:
    view = view[view["error_code"].isin(codes)]
if total > len(queue):
    st.caption(f"Showing the {len(queue):,} most severe of {total:,} unrecovered failures.")

table = view.assign(link="failure?id=" + view["id"]).fillna(
    {"recovered_by": "—", "category": "—", "recovery_mode": "—", "recovery_suggestion": "—"})
columns = ["link", "severity", "error_code", "category", "created_at", "state", "recovered_by", "error_message",
           "recovery_mode", "recovery_suggestion", "version"]
if tenant is None:
    columns.insert(1, "tenant_id")
st.dataframe(
    table[columns], hide_index=True, width="stretch", height=min(420, 38 + 35 * len(table)),
    column_config={
        "link": st.column_config.LinkColumn("Failure", display_text=r"failure\?id=([0-9a-f]{8}).*", width="small"),
        "tenant_id": "Tenant", "severity": "Severity", "error_code": "Code", "category": "Category",
        "created_at": st.column_config.DatetimeColumn("Occurred (UTC)", format="YYYY-MM-DD HH:mm"),
        "state": "State", "recovered_by": "Last attempt by", "error_message": "Message",
        "recovery_mode": "Recovery mode", "recovery_suggestion": "Suggestion", "version": "Version",
    },
)

labels = {i: d["label"] for i, d in prev_shown.items()} | {r["id"]: row_label(r) for r in queue.to_dict("records")}
n = st.session_state.setdefault(FORM_N, 0)
view_ids = list(view["id"])
kept = [i for i in st.session_state.get(f"oncall_ids_{n}", []) if i not in set(view_ids)]
with st.form(f"oncall_mark_{n}", border=True):
    st.markdown("**Mark recovery**")
    chosen = st.multiselect("Failures", view_ids + kept, format_func=lambda i: labels.get(i, short_id(i)),
                            key=f"oncall_ids_{n}", placeholder="Choose failures by id, severity, code",
                            select_all=False)  # bulk is the explicit checkbox below, never a stray first option
    all_shown = st.checkbox(f"All {len(view_ids)} failures in the table", key=f"oncall_all_{n}")
    c1, c2 = st.columns([1, 2])
    result = c1.radio("Recovery", ["succeeded", "failed"], horizontal=True, key=f"oncall_result_{n}")
    recovered_by = c2.text_input("Recovered by", value=principal.name, max_chars=128, key=f"oncall_by_{n}")
    notes = st.text_area("Notes", max_chars=2000, key=f"oncall_notes_{n}", placeholder="What was done")
    submitted = st.form_submit_button("Mark recovery", type="primary", icon=":material/task_alt:")

if submitted:
    actor = require("recover")  # re-checked on the server right before the write
    ids = prev_view if all_shown else chosen
    missing = [i for i in ids if i not in prev_shown]
    if missing:
        st.error(f"{len(missing)} selected failures were not on the screen any more; reload and choose again.")
        st.stop()
    items = [(i, int(prev_shown[i]["version"])) for i in ids]
    done = mark(actor, items=items, succeeded=result == "succeeded", recovered_by=recovered_by, notes=notes)
    st.session_state[OUTCOME] = done
    if done.ok:
        st.session_state[FORM_N] = n + 1  # a fresh, empty form for the next mark
    st.rerun()

st.session_state[SHOWN] = {r["id"]: {"version": int(r["version"]), "label": row_label(r)}
                           for r in queue.to_dict("records")}
st.session_state[VIEW] = view_ids
