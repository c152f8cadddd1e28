"""On-call: groups first (regressions, then the most severe), picked in the table and triaged in bulk; the failures
view marks recoveries one failure or many at a time."""
from __future__ import annotations

import hashlib
from typing import NamedTuple

import streamlit as st

from dashboard.groups import (
    GroupFilter,
    Triage,
    TriageOutcome,
    failures_link,
    group_panel,
    ignore_triage,
    load_count,
    load_group,
    load_open_failures,
    load_queue,
    now_minute,
    state_text,
    triage,
)
from dashboard.oncall import QUEUE_LIMIT, load_queue_summary, mark, row_label, short_id
from dashboard.oncall import load_queue as load_failure_queue
from dashboard.session import require
from dashboard.text import lit, text_frame
from dashboard.ui import empty_state, fmt_int, guarded, page_header
from dashboard.viewer_time import time_column
from dashboard.widgets import seed_state, set_url, tenant_picker, url_value

VIEWS = {"groups": "Groups", "failures": "Failures"}
STATES = {"open": "Unresolved", "regressed": "Regressed", "ignored": "Ignored", "resolved": "Resolved"}
OWNERS = {"any": "Anyone", "me": "Me", "nobody": "Nobody"}
# Group table: what the last run showed (id, version) in row order, the key counter that clears the selection,
# the action waiting for its confirmation, and the outcome of the last action (shown next to the buttons).
G_SHOWN, G_TABLE, G_PENDING, G_OUTCOME = "oncall_g_shown", "oncall_g_table", "oncall_g_pending", "oncall_g_outcome"
# Failure view: what this session displayed last run (id -> version, label): a mark carries the version the person
# saw, never a row position (dataframe selections keep positions across refreshes, streamlit issue 17026).
SHOWN, VIEW, OUTCOME, FORM_N = "oncall_shown", "oncall_failures_shown", "oncall_outcome", "oncall_form_n"


class Picked(NamedTuple):
    """A group as the person saw it in the table: what an action carries (its id and the version seen)."""

    id: str
    version: int
    title: str
    tenant_id: str
    signature: str
    state: str
    assignee: str | None


def _bad(value: str) -> str:
    raise ValueError("not a known value")


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


principal = require("recover")
page_header("On-call", "Groups of failures by state: unresolved ones first, regressions and the most severe on top. "
            "Select rows in the table to assign, resolve or ignore them; the failures view marks single recoveries.")
seed_state("oncall_view", url_value("view", "groups", lambda v: v if v in VIEWS else _bad(v)))
top_left, top_mid, _ = st.columns([1, 1.2, 1.8], vertical_alignment="bottom")
tenant = tenant_picker(principal, key="oncall_tenant", container=top_left)
view = top_mid.segmented_control("Work on", list(VIEWS), key="oncall_view", format_func=lambda v: VIEWS[v]) or "groups"
set_url(view=None if view == "groups" else view)


def _groups_view() -> None:
    f1, f2, _ = st.columns([1.6, 1.1, 1.3])
    seed_state("oncall_state", url_value("state", "open", lambda v: v if v in STATES else _bad(v)))
    state = f1.segmented_control("State", list(STATES), key="oncall_state", format_func=lambda v: STATES[v]) or "open"
    seed_state("oncall_owner", url_value("owner", "any", lambda v: v if v in OWNERS else _bad(v)))
    owner = f2.segmented_control("Assigned to", list(OWNERS), key="oncall_owner", format_func=lambda v: OWNERS[v]) \
        or "any"
    set_url(state=None if state == "open" else state, owner=None if owner == "any" else owner)
    assignee = {"any": None, "me": principal.name, "nobody": ""}[owner]
    filt = GroupFilter(tenant_id=tenant, state=state, assignee=assignee)
    now = now_minute()
    with guarded():
        total = load_count(filt, now)
        queue = load_queue(filt, now, QUEUE_LIMIT)
        regressed = load_count(GroupFilter(tenant_id=tenant, state="regressed"), now)
        mine = load_count(GroupFilter(tenant_id=tenant, state="open", assignee=principal.name), now)
        unassigned = load_count(GroupFilter(tenant_id=tenant, state="open", assignee=""), now)
    tiles = st.columns(4)
    tiles[0].metric(f"{STATES[state]} groups", fmt_int(total))
    tiles[1].metric("Regressed", fmt_int(regressed), help="Resolved groups a new failure reopened")
    tiles[2].metric("Unresolved, assigned to me", fmt_int(mine))
    tiles[3].metric("Unresolved, unassigned", fmt_int(unassigned))

    outcome = st.session_state.pop(G_OUTCOME, None)
    if queue.empty:
        st.session_state[G_SHOWN] = []
        if outcome is not None:
            (st.success if outcome.ok else st.error)(outcome.message)
        empty_state(f"No {STATES[state].lower()} groups here.",
                    "Pick another state or owner above." if state != "open" or owner != "any" else None)
        return
    if total > len(queue):
        st.caption(f"Showing the first {len(queue):,} of {total:,} groups.")
    table = queue.assign(
        failures_link=[failures_link(t, s) for t, s in zip(queue["tenant_id"], queue["signature"], strict=True)],
        flag=["regressed" if r else "" for r in queue["regressed"]],
        assignee=queue["assignee"].fillna("—"), severity=queue["severity"].fillna("—"),
        state=[state_text(r) for r in queue.to_dict("records")],  # with an ignore's end; Picked keeps the state
    )
    columns = ["severity", "title", "error_code", "failures", "sparkline", "last_seen", "assignee", "failures_link"]
    if table["regressed"].any():
        columns.insert(0, "flag")
    if state != "open":
        columns.insert(-1, "state")
    if tenant is None:
        columns.append("tenant_id")
    n = st.session_state.setdefault(G_TABLE, 0)
    # A table per filter: a selection is a list of row positions, which mean other groups once the filter changes.
    view_key = hashlib.sha256(repr((tenant, state, owner)).encode()).hexdigest()[:12]
    event = st.dataframe(
        text_frame(table), hide_index=True, width="stretch", key=f"oncall_groups_{n}_{view_key}", on_select="rerun",
        selection_mode="multi-row", height=min(38 + 35 * len(table), 560), column_order=columns,
        column_config={
            "flag": st.column_config.TextColumn("", width=75),
            "severity": st.column_config.TextColumn("Severity", width=65),
            "title": st.column_config.TextColumn("Group", width=300),
            "tenant_id": st.column_config.TextColumn("Tenant", width=75),
            "error_code": st.column_config.TextColumn("Code", width=165),
            "failures": st.column_config.NumberColumn("Failures", format="%d", width=70),
            "sparkline": st.column_config.BarChartColumn("14 days", y_min=0, width=80),
            "last_seen": time_column("Last seen", format="MM-DD HH:mm", width=110),
            "assignee": st.column_config.TextColumn("Assigned to", width=85),
            "state": st.column_config.TextColumn("State", width=85 if state != "ignored" else 190),
            "failures_link": st.column_config.LinkColumn("", display_text="List", width=45),
        },
    )
    # The rows the person ticked, by what the previous run showed them (id and version), not by position now.
    shown: list[Picked] = st.session_state.get(G_SHOWN, [])
    now_shown = [Picked(r["id"], int(r["version"]), r["title"], r["tenant_id"], r["signature"], r["state"],
                        r["assignee"] if isinstance(r["assignee"], str) else None) for r in queue.to_dict("records")]
    st.session_state[G_SHOWN] = now_shown
    if event.selection.rows and [p.id for p in shown] != [p.id for p in now_shown]:
        # The list moved under the ticks (new failures, another person's change): they would point at other rows.
        st.session_state[G_TABLE] = n + 1
        st.session_state[G_OUTCOME] = TableMoved()
        st.rerun()
    picked = [shown[i] for i in event.selection.rows if i < len(shown)]
    _actions(picked)
    if outcome is not None:  # said next to the buttons, where the person is looking
        icon = ":material/check_circle:" if outcome.ok else ":material/sync_problem:"
        (st.success if outcome.ok else st.error)(outcome.message, icon=icon)
    if len(picked) == 1:
        _one_group(picked[0])


def _one_group(picked: Picked) -> None:
    """The ticked group's notes, latest changes and notes editor (dashboard.groups.group_panel)."""
    with guarded():
        group = load_group(picked.id, principal.tenant_id)
    with st.container(border=True):
        if group is None:
            st.caption("This group is not there any more (retention removed it).")
            return
        st.markdown(f"{lit(group['title'], limit=80)} · {state_text(group)}"
                    + (f" · assigned to {lit(group['assignee'], limit=40)}" if group["assignee"] else ""))
        outcome = group_panel(principal, group, key="oncall_gp")
    if outcome is not None:
        _done(outcome, keep_selection=True)  # the same rows stay ticked: notes do not move a group in the list


def _done(outcome: TriageOutcome, *, keep_selection: bool = False) -> None:
    st.session_state[G_OUTCOME] = outcome
    st.toast(outcome.message, icon=":material/check_circle:" if outcome.ok else ":material/sync_problem:")
    if outcome.ok and not keep_selection:
        st.session_state[G_TABLE] = st.session_state.get(G_TABLE, 0) + 1  # a fresh table: the selection is cleared
    st.session_state.pop(G_PENDING, None)
    st.rerun()


class TableMoved:
    """The outcome shown when a selection was cleared because the list changed under it."""

    ok = False
    message = "The list changed since you ticked rows (new failures or another person's change): tick them again."


def _actions(picked: list[Picked]) -> None:
    n = len(picked)
    label = _plural(n, "group") if n else "selected groups"
    st.caption(f"{n} selected: {', '.join(lit(p.title, limit=40) for p in picked[:3])}"
               + (" …" if n > 3 else "") if n else "Tick rows in the table to act on them.")
    b = st.columns([1.1, 1, 1, 1, 1, 2.4])
    actor = principal
    closed = any(p.state != "unresolved" for p in picked)
    owned = any(p.assignee for p in picked)
    mine = all(p.assignee == actor.name for p in picked)
    if b[0].button("Assign to me", icon=":material/person_add:", disabled=not n or mine, width="stretch"):
        _act_or_confirm("assign", picked, Triage(assignee=actor.name), "assigned")
    if b[1].button("Resolve", icon=":material/task_alt:", disabled=not n, width="stretch", type="primary"):
        st.session_state[G_PENDING] = {"action": "resolve", "items": picked}
    if b[2].button("Ignore", icon=":material/notifications_off:", disabled=not n, width="stretch"):
        st.session_state[G_PENDING] = {"action": "ignore", "items": picked}
    if b[3].button("Reopen", icon=":material/replay:", disabled=not closed, width="stretch",
                   help="Resolved or ignored groups back to unresolved"):
        _act_or_confirm("reopen", picked, Triage(state="unresolved"), "reopened")
    if b[4].button("Unassign", icon=":material/person_remove:", disabled=not owned, width="stretch"):
        _act_or_confirm("unassign", picked, Triage(assignee=None), "unassigned")
    pending = st.session_state.get(G_PENDING)
    if pending:
        _confirm(pending, label)


def _act_or_confirm(action: str, picked: list, change: Triage, verb: str) -> None:
    """One group: act at once. Several: ask first, with their count."""
    if len(picked) == 1:
        _done(triage(require("recover"), items=[(p.id, p.version) for p in picked], change=change, verb=verb))
    st.session_state[G_PENDING] = {"action": action, "items": picked}


def _confirm(pending: dict, label: str) -> None:
    picked: list[Picked] = pending["items"]
    items = [(p.id, p.version) for p in picked]
    n = len(items)
    action = pending["action"]
    with st.container(border=True):
        change: Triage
        if action == "resolve":
            open_failures = load_open_failures(tuple((p.tenant_id, p.signature) for p in picked))
            st.markdown(f"**Resolve {_plural(n, 'group')}?** A new failure in a resolved group reopens it as "
                        "regressed.")
            whose = "its" if n == 1 else "their"
            recover = st.checkbox(f"Also mark {whose} {_plural(open_failures, 'open failure')} recovered",
                                  value=False, disabled=open_failures == 0, key="oncall_g_recover")
            change, verb = Triage(state="resolved", recover_failures=recover), "resolved"
        elif action == "ignore":
            st.markdown(f"**Ignore {_plural(n, 'group')}**: {'it leaves' if n == 1 else 'they leave'} the queue "
                        "until")
            how = st.radio("Until", ["day", "week", "count", "forever"], horizontal=True, key="oncall_g_ignore",
                           format_func={"day": "a day passes", "week": "a week passes",
                                        "count": "100 more failures", "forever": "someone reopens them"}.get)
            change, verb = ignore_triage(how or "forever", failures=100), "ignored"
        else:
            words = {"assign": ("Assign", "to you", Triage(assignee=principal.name), "assigned"),
                     "reopen": ("Reopen", "", Triage(state="unresolved"), "reopened"),
                     "unassign": ("Unassign", "", Triage(assignee=None), "unassigned")}[action]
            st.markdown(f"**{words[0]} {_plural(n, 'group')} {words[1]}?**")
            change, verb = words[2], words[3]
        st.caption("; ".join(f"{lit(p.title, limit=60)} ({lit(p.tenant_id, limit=30)})" for p in picked[:5])
                   + (f"; and {n - 5:,} more" if n > 5 else ""))
        c1, c2, _ = st.columns([1.4, 1, 3])
        if c1.button(f"Confirm: {action} {label}", type="primary",
                     icon=":material/check:", key="oncall_g_confirm"):
            _done(triage(require("recover"), items=items, change=change, verb=verb))
        if c2.button("Cancel", key="oncall_g_cancel"):
            st.session_state.pop(G_PENDING, None)
            st.rerun()


def _failures_view() -> None:
    prev_shown: dict[str, dict] = st.session_state.get(SHOWN, {})
    prev_view: list[str] = st.session_state.get(VIEW, [])
    outcome = st.session_state.pop(OUTCOME, None)
    if outcome is not None:
        (st.success if outcome.ok else st.error)(outcome.message, icon=":material/check_circle:" if outcome.ok
                                                 else ":material/sync_problem:")
    with guarded():
        summary = load_queue_summary(tenant)
        queue = load_failure_queue(tenant, QUEUE_LIMIT)
    total = int(summary["failures"].sum()) if not summary.empty else 0
    severe = int(summary.loc[summary["severity_rank"] <= 1, "failures"].sum()) if not summary.empty else 0
    tiles = st.columns(3)
    tiles[0].metric("Unrecovered", fmt_int(total))
    tiles[1].metric("Critical or high", fmt_int(severe))
    tiles[2].metric("Recovery attempted, failed", fmt_int(summary["failed_attempts"].sum() if total else 0))
    if queue.empty:
        st.session_state[SHOWN], st.session_state[VIEW] = {}, []
        empty_state("Nothing to recover: every failure in scope has a successful recovery.")
        return
    f1, f2 = st.columns(2)
    severities = f1.multiselect("Severity", sorted(queue["severity"].fillna("unknown").unique()), key="oncall_sev")
    codes = f2.multiselect("Error code", sorted(queue["error_code"].unique()), key="oncall_codes")
    view_df = queue
    if severities:
        view_df = view_df[view_df["severity"].fillna("unknown").isin(severities)]
    if codes:
        view_df = view_df[view_df["error_code"].isin(codes)]
    if total > len(queue):
        st.caption(f"Showing the {len(queue):,} most severe of {total:,} unrecovered failures.")
    table = view_df.assign(link="failure?id=" + view_df["id"]).fillna(
        {"recovered_by": "—", "category": "—", "recovery_mode": "—", "recovery_suggestion": "—"})
    # Severity, code, when, message and state first (and the tenant when several are shown); the rest after them.
    columns = ["link", "severity", *(["tenant_id"] if tenant is None else []), "error_code", "created_at",
               "error_message", "state", "category", "recovered_by", "recovery_mode", "recovery_suggestion"]
    st.dataframe(
        text_frame(table[columns]), hide_index=True, width="stretch", height=min(420, 38 + 35 * len(table)),
        column_config={
            "link": st.column_config.LinkColumn("Failure", display_text=r"failure\?id=([0-9a-f]{8}).*",
                                                width=80),
            "tenant_id": st.column_config.TextColumn("Tenant", width=75),
            "severity": st.column_config.TextColumn("Severity", width=70),
            "error_code": st.column_config.TextColumn("Code", width=190),
            "category": st.column_config.TextColumn("Category", width=155),
            "created_at": time_column("Occurred", format="MM-DD HH:mm", width=115),
            "state": st.column_config.TextColumn("State", width=90), "recovered_by": "Last attempt by",
            "error_message": st.column_config.TextColumn("Message", width=340 if tenant is None else 415,
                                                         help="Open the failure for the whole message"),
            "recovery_mode": "Recovery mode", "recovery_suggestion": "Suggestion",
        },
    )
    labels = {i: d["label"] for i, d in prev_shown.items()} | {r["id"]: row_label(r) for r in queue.to_dict("records")}
    n = st.session_state.setdefault(FORM_N, 0)
    view_ids = list(view_df["id"])
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


if view == "groups":
    _groups_view()
else:
    _failures_view()
