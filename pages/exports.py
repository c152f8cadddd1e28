"""Exports (admin): run an export to R2, the audit trail, retry fallbacks, download any export's JSON."""
from __future__ import annotations

import streamlit as st

from dashboard.exports import (
    RETRYABLE,
    audit_table,
    do_export,
    do_retry,
    export_label,
    fallback_dir,
    file_name,
    load_export_body,
    load_exports,
    r2_target,
)
from dashboard.session import require
from dashboard.text import lit, text_frame
from dashboard.ui import empty_state, fmt_int, guarded, page_header
from dashboard.viewer_time import time_column
from dashboard.widgets import tenant_picker

OUTCOME = "exports_outcome"

principal = require("export")
page_header("Exports", "Aggregated candidate patterns stored in R2; kept locally and retried when R2 fails.")

outcome = st.session_state.pop(OUTCOME, None)
if outcome is not None:
    show = st.warning if outcome.warning else st.success if outcome.ok else st.error
    good = outcome.ok and not outcome.warning
    show(outcome.message, icon=":material/cloud_done:" if good else ":material/cloud_off:")

target = r2_target()
if target:
    st.caption(f":material/cloud: Uploads go to {lit(target)}; fallbacks are kept in {lit(fallback_dir())}.")
else:
    st.info(f"R2 is not configured (R2_ENDPOINT_URL, R2_BUCKET): exports are written locally to "
            f"{lit(fallback_dir())} and uploaded once R2 is set up.", icon=":material/cloud_off:")

with st.form("exports_run", border=True):
    st.markdown("**Run an export**")
    c1, c2, c3 = st.columns(3)
    tenant = tenant_picker(principal, key="exports_tenant", container=c1)
    days = c2.number_input("Days", min_value=1, max_value=366, value=7, step=1, key="exports_days")
    min_occ = c3.number_input("Min occurrences", min_value=1, max_value=10_000, value=3, step=1, key="exports_min")
    run = st.form_submit_button("Run export", type="primary", icon=":material/cloud_upload:")
if run:
    actor = require("export")  # re-checked on the server right before the write
    with st.spinner("Exporting…"):
        st.session_state[OUTCOME] = do_export(actor, tenant_id=tenant, days=int(days), min_occurrences=int(min_occ))
    st.rerun()

with guarded():
    audit = load_exports(principal.tenant_id)

tiles = st.columns(4)
tiles[0].metric("Exports", fmt_int(len(audit)))
tiles[1].metric("Uploaded", fmt_int((audit["status"] == "uploaded").sum()))
tiles[2].metric("Waiting locally", fmt_int(audit["status"].isin(["fallback_local", "retrying"]).sum()))
tiles[3].metric("Failed", fmt_int((audit["status"] == "failed").sum()))
if audit.empty:
    empty_state("No exports yet.", "Run one above, or `failcat export` from the command line.")
    st.stop()

st.dataframe(
    text_frame(audit_table(audit)), hide_index=True, width="stretch", height=min(420, 38 + 35 * len(audit)),
    column_config={
        "id": "Id", "created_at": time_column("Created", format="YYYY-MM-DD HH:mm:ss"),
        "status": "Status", "tenant_id": "Tenant", "size_bytes": st.column_config.NumberColumn("Size (bytes)"),
        "sha256": "sha256", "retry_count": "Retries",
        "last_retry_at": time_column("Last retry", format="YYYY-MM-DD HH:mm:ss"),
        "location": "Key / local path", "uploader": "By", "notes": "Notes",
    },
)

waiting = audit[audit["status"].isin(RETRYABLE)]
if not waiting.empty:
    rows = {int(r["id"]): r for r in waiting.to_dict("records")}
    with st.form("exports_retry", border=True):
        st.markdown("**Retry fallbacks**")
        chosen = st.multiselect("Exports", list(rows), format_func=lambda i: export_label(rows[i]),
                                key="exports_retry_ids", placeholder="All waiting exports")
        retry = st.form_submit_button("Retry upload", icon=":material/replay:")
    if retry:
        actor = require("export")
        with st.spinner("Uploading…"):
            st.session_state[OUTCOME] = do_retry(actor, ids=chosen or None)
        st.rerun()

st.markdown("**Download an export**")
records = {int(r["id"]): r for r in audit.to_dict("records")}
pick = st.selectbox("Export", list(records), format_func=lambda i: export_label(records[i]), key="exports_pick")
if pick is not None:
    row = records[pick]
    try:
        body = load_export_body(pick, row["sha256"])
    except Exception as exc:  # noqa: BLE001 - a missing file or unreachable R2 is shown, never a traceback
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        st.warning(f"Export #{int(pick)} cannot be read right now: {lit(reason)}", icon=":material/cloud_off:")
    else:
        st.download_button("Download JSON", body, file_name=file_name(row), mime="application/json",
                           icon=":material/download:", key="exports_download", on_click="ignore")
