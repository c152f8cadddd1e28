"""Explore: filter failures (all filters in the URL), see them grouped, as groups or listed, download them as CSV."""
from __future__ import annotations

import streamlit as st

from dashboard.explore import (
    GROUPS_CSV_MAX_ROWS,
    export_csv,
    export_groups_csv,
    failure_only_filters,
    group_filter,
    load_count,
    load_grouped,
    load_page,
    recovery_states,
)
from dashboard.filters import failure_filters
from dashboard.groups import failures_link, now_minute
from dashboard.groups import load_count as load_group_count
from dashboard.groups import load_page as load_group_page
from dashboard.links import detail_links, explore_view
from dashboard.session import require
from dashboard.text import text_frame
from dashboard.ui import empty_state, fmt_int, guarded, page_header
from dashboard.viewer_time import time_column
from dashboard.widgets import seed_state, set_url, url_value, url_warnings

GROUPS = {"error_code": "Error code", "category": "Category", "signature": "Signature"}
VIEWS = {"grouped": "Breakdown", "groups": "Groups", "new": "New", "list": "Failures"}
GROUP_VIEWS = ("groups", "new")
GROUP_STATES = {"all": "Any state", "open": "Unresolved", "regressed": "Regressed", "ignored": "Ignored",
                "resolved": "Resolved"}
GROUP_SORTS = {"last_seen": "Last seen", "first_seen": "First seen", "count": "Failures"}


def _bad(value: str) -> str:
    raise ValueError("not a known value")


principal = require("read")
page_header("Explore", "Filter failures, see the groups they form (new ones too), break them down by code or "
            "category, and open one for every detail.")
filt, rng = failure_filters(principal)
seed_state("x_view", url_value("view", "grouped", lambda v: v if v in VIEWS else _bad(v)))
seed_state("x_group", url_value("group", "error_code", lambda v: v if v in GROUPS else _bad(v)))
url_warnings()
# The grouped view's read also gives the number of failures selected (one query for both).
shown = st.session_state.get("x_view") or "grouped"
now = now_minute()
# Groups views: the filters that describe a group select groups (dashboard.explore.group_filter); "groups" are
# those seen in the range, "new" those whose first failure ever falls in it.
seed_state("x_gstate", url_value("gstate", "all", lambda v: v if v in GROUP_STATES else _bad(v)))
seed_state("x_gsort", url_value("gsort", "first_seen" if shown == "new" else "last_seen",
                                lambda v: v if v in GROUP_SORTS else _bad(v)))
gfilt = group_filter(filt, kind=shown, state=st.session_state.get("x_gstate") or "all")
gsort = st.session_state.get("x_gsort") or "last_seen"
with guarded():
    if shown == "grouped":
        groups, total = load_grouped(filt, st.session_state.get("x_group") or "error_code")
    elif shown in GROUP_VIEWS:
        total = load_group_count(gfilt, now)
    else:
        total = load_count(filt)

top_left, top_mid, top_right = st.columns([2, 3, 1.2], vertical_alignment="bottom")
if shown in GROUP_VIEWS:
    top_left.metric("New groups" if shown == "new" else "Groups", fmt_int(total),
                    help="Groups whose first failure ever is in the range" if shown == "new"
                    else "Groups with a failure in the range")
else:
    top_left.metric("Failures selected", fmt_int(total), help=f"{rng.label}, all filters applied")
view = top_mid.segmented_control("View", list(VIEWS), key="x_view", format_func=lambda v: VIEWS[v]) or "grouped"
if shown in GROUP_VIEWS:
    top_right.download_button(
        "Download CSV", data=lambda: export_groups_csv(gfilt, sort=gsort, now=now),
        file_name="new-groups.csv" if shown == "new" else "groups.csv", mime="text/csv",
        icon=":material/download:", disabled=total == 0, width="stretch",
        help=f"Every group shown here, all pages, by {GROUP_SORTS[gsort].lower()} (up to {GROUPS_CSV_MAX_ROWS:,} "
             "rows).",
    )
else:
    top_right.download_button(
        "Download CSV", data=lambda: export_csv(filt), file_name="failures.csv", mime="text/csv",
        icon=":material/download:", disabled=total == 0, width="stretch",
        help="Every failure the filters select (newest first, up to 200,000 rows).",
    )
set_url(view=None if view == "grouped" else view)


def _groups_view(kind: str) -> None:
    """Groups, sorted by the database over the whole result and paged, with title, state and owner."""
    c1, c2, _ = st.columns([2.6, 1.6, 0.4])
    state = c1.segmented_control("State", list(GROUP_STATES), key="x_gstate", format_func=lambda v: GROUP_STATES[v]) \
        or "all"
    sort = c2.segmented_control("Sort by", list(GROUP_SORTS), key="x_gsort", format_func=lambda v: GROUP_SORTS[v]) \
        or "last_seen"
    set_url(gstate=None if state == "all" else state, gsort=sort)
    # A filter on single failures cannot select whole groups; say so rather than drop it unseen.
    unused = failure_only_filters(filt)
    if unused:
        one = len(unused) == 1
        st.info(f"{', '.join(unused)} {'does' if one else 'do'}n't apply to groups: switch to Failures to use "
                f"{'it' if one else 'them'}.", icon=":material/filter_alt_off:")
    if filt.q:
        st.caption("Here “Message contains” searches group titles (message templates) and error codes.")
    if total == 0:
        empty_state("No new groups in this range." if kind == "new" else "No groups match these filters.",
                    "Widen the time range or remove a filter.")
        st.stop()
    paging = st.session_state.setdefault("x_gpages", {"key": None, "cursors": [None]})
    if paging["key"] != (gfilt, sort):
        paging.update(key=(gfilt, sort), cursors=[None])
    with guarded():
        rows, next_cursor = load_group_page(gfilt, now, sort, paging["cursors"][-1], 50)
    table = rows.assign(
        failures_link=[failures_link(t, s) for t, s in zip(rows["tenant_id"], rows["signature"], strict=True)],
        state=[s + (" (regressed)" if r else "") + (f" · {a}" if isinstance(a, str) else "")
               for s, r, a in zip(rows["state"], rows["regressed"], rows["assignee"], strict=True)],
    )
    seen = "first_seen" if kind == "new" else "last_seen"  # one time column keeps the table within the page
    columns = ["title", "error_code", seen, "failures", "sparkline", "state", "failures_link"]
    if filt.tenant_id is None:
        columns.append("tenant_id")
    st.dataframe(
        text_frame(table), hide_index=True, width="stretch", height=min(38 + 35 * len(table), 640),
        column_order=columns,
        column_config={
            "title": st.column_config.TextColumn("Group", width=360 if filt.tenant_id is None else 435),
            "error_code": st.column_config.TextColumn("Code", width=170),
            "tenant_id": st.column_config.TextColumn("Tenant", width=75),
            "state": st.column_config.TextColumn("State · assigned to", width=135),
            "failures": st.column_config.NumberColumn("Failures", format="%d", help="Since its first failure",
                                                      width=70),
            "sparkline": st.column_config.BarChartColumn("14 days", y_min=0, width=80),
            "first_seen": time_column("First seen", format="MM-DD HH:mm", width=110),
            "last_seen": time_column("Last seen", format="MM-DD HH:mm", width=110),
            "failures_link": st.column_config.LinkColumn("", display_text="List", width=45),
        },
    )
    p1, p2, p3 = st.columns([1, 1, 4], vertical_alignment="center")
    if p1.button("Previous", icon=":material/chevron_left:", disabled=len(paging["cursors"]) == 1, width="stretch"):
        paging["cursors"].pop()
        st.rerun()
    if p2.button("Next", icon=":material/chevron_right:", disabled=next_cursor is None, width="stretch"):
        paging["cursors"].append(next_cursor)
        st.rerun()
    first = (len(paging["cursors"]) - 1) * 50
    p3.caption(f"Groups {first + 1:,}–{first + len(rows):,} of {total:,}, by {GROUP_SORTS[sort].lower()} "
               "(largest first). Failures and first/last seen are lifetime figures.")
    st.stop()


if view in GROUP_VIEWS:
    _groups_view(view)

if total == 0:
    empty_state("No failures match these filters.", "Widen the time range or remove a filter.")
    st.stop()

FILTER_KEY = {"error_code": "f_code", "category": "f_category", "signature": "f_sig"}


def _drill_into_group() -> None:
    """A clicked group becomes a filter and the list of its failures opens (by the group's value, not its row)."""
    rows = st.session_state["x_groups"].selection.rows
    keys, by = st.session_state.get("x_group_keys", []), st.session_state.get("x_group", "error_code")
    if not rows or rows[0] >= len(keys):
        return
    value = keys[rows[0]]
    if value is None:  # the failures without a category are the catalog's misses
        st.session_state["f_matched"] = "unmatched"
    else:
        st.session_state[FILTER_KEY[by]] = value if by == "signature" else [value]
    st.session_state["x_view"] = "list"


if view == "grouped":
    by = st.segmented_control("Group by", list(GROUPS), key="x_group", format_func=lambda v: GROUPS[v]) or "error_code"
    set_url(group=None if by == "error_code" else by)
    st.session_state["x_group_keys"] = groups["key"].tolist()
    table = groups.assign(hit_rate=groups["matched"] / groups["failures"], category=groups["category"].fillna("—"),
                          key=groups["key"].fillna("(none)"))
    st.dataframe(
        text_frame(table), hide_index=True, width="stretch", key="x_groups", on_select=_drill_into_group,
        selection_mode="single-row", height=min(38 + 35 * len(table), 720),
        # What a person reads first fits 1440 px: the key, how many, the trend, matched, category, an example.
        column_order=["key", "failures", "sparkline", "hit_rate", *(["category"] if by != "category" else []),
                      "example", "recovered", "last_seen", "first_seen"],
        column_config={
            "key": st.column_config.TextColumn(GROUPS[by], width=210, pinned=True),
            "failures": st.column_config.NumberColumn("Failures", format="%d", width=70),
            "sparkline": st.column_config.BarChartColumn(f"Over {rng.label.lower()}", y_min=0, width=120),
            "hit_rate": st.column_config.ProgressColumn("Matched", format="percent", min_value=0, max_value=1,
                                                        width=100),
            "recovered": st.column_config.NumberColumn("Recovered", format="%d", width=80),
            "first_seen": time_column("First seen", format="MM-DD HH:mm", width=120),
            "last_seen": time_column("Last seen", format="MM-DD HH:mm", width=120),
            "category": st.column_config.TextColumn("Category", width=155),
            "example": st.column_config.TextColumn("Example message", width=330,
                                                   help="The latest failure's message; open the group for all"),
        },
    )
    st.caption(f"{len(groups)} groups, largest first. Select a row to list its failures.")
    st.stop()

# Raw list with keyset pagination: a stack of cursors, reset whenever the filter changes.
size = st.session_state.get("x_size", 50)
state = st.session_state.setdefault("x_pages", {"filter": None, "cursors": [None]})
if state["filter"] != filt or state.get("size") != size:
    state.update(filter=filt, cursors=[None], size=size)
with guarded():
    page = load_page(filt, state["cursors"][-1], size)
rows = page.rows.fillna({"category": "—", "severity": "—", "skill_id": ""}).assign(
    status=recovery_states(page.rows), link=detail_links(page.rows["id"], explore_view(filt.tenant_id)),
)
all_tenants = filt.tenant_id is None
st.dataframe(
    text_frame(rows), hide_index=True, width="stretch", height=min(38 + 35 * len(rows), 640),
    # When, code and message first (and the tenant when several are shown); the rest after them.
    column_order=["link", "created_at", *(["tenant_id"] if all_tenants else []), "error_code", "error_message",
                  "category", "status", "severity", "skill_id", "run_id"],
    column_config={
        "link": st.column_config.LinkColumn("Failure", display_text="Open", width=55, pinned=True),
        "created_at": time_column("When", format="MM-DD HH:mm:ss", width=125),
        "tenant_id": st.column_config.TextColumn("Tenant", width=75),
        "error_code": st.column_config.TextColumn("Code", width=190),
        "error_message": st.column_config.TextColumn("Message", width=330 if all_tenants else 405,
                                                     help="Open the failure for the whole message"),
        "category": st.column_config.TextColumn("Category", width=155),
        "status": st.column_config.TextColumn("Recovery", width=95),
        "severity": st.column_config.TextColumn("Severity", width=70),
        "skill_id": "Skill", "run_id": "Run",
    },
)
p1, p2, p3, p4 = st.columns([1, 1, 3, 1.2], vertical_alignment="center")
if p1.button("Newer", icon=":material/chevron_left:", disabled=len(state["cursors"]) == 1, width="stretch"):
    state["cursors"].pop()
    st.rerun()
if p2.button("Older", icon=":material/chevron_right:", disabled=page.next_cursor is None, width="stretch"):
    state["cursors"].append(page.next_cursor)
    st.rerun()
shown_from = (len(state["cursors"]) - 1) * size
p3.caption(f"Failures {shown_from + 1:,}–{shown_from + len(rows):,} of {total:,}, newest first.")
p4.selectbox("Rows per page", [50, 100, 250], key="x_size", label_visibility="collapsed",
             format_func=lambda n: f"{n} per page")
