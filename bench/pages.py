"""Each dashboard page's data load, twice: through queries/ exactly as the page's dashboard loaders call them
(default arguments), and the naive way (filtered rows read into pandas with read_sql, aggregated in pandas).

Both functions of a page take (conn, tenant, now) and return something the page could draw; the naive ones
compute the same figures from raw rows so the comparison is like for like.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import select, text
from sqlalchemy.engine import Connection

from core.schema import catalog_entries, failure_groups, failure_matches, recovery_events
from loaders.catalog.candidates import PAGE_SAMPLE_ROWS, get_candidate_patterns
from loaders.catalog.usage import get_catalog_usage
from queries.failures import detail as qd
from queries.failures import explore as qe
from queries.failures.filters import FailureFilter
from queries.failures.listing import get_failure, get_recovery_history
from queries.failures.oncall import get_unrecovered_queue, get_unrecovered_summary
from queries.flags import CATALOG_FLAG, is_enabled
from queries.groups.reads import GroupFilter, count_groups, daily_counts, queue_groups
from queries.reports import overview as qo
from queries.reports import trends as qt
from queries.tenants import list_tenants

QUEUE_LIMIT = 500  # dashboard.oncall.QUEUE_LIMIT (not imported: dashboard/ imports streamlit)
GROUP_QUEUE_LIMIT = 200  # dashboard.groups.QUEUE_LIMIT
SPARK_DAYS = 14  # dashboard.groups.SPARK_DAYS
BENCH_USER = "bench"  # the person whose "assigned to me" tile the page counts
CANDIDATE_MIN = 3  # Catalog page's default minimum occurrences


def page_window(now: datetime, days: int, *, whole_days: bool = False) -> tuple[datetime, datetime]:
    """The dashboard's preset range (dashboard.widgets.time_range): whole UTC days ending with today for the
    multi-day presets, whole hours ending with the current one for the others."""
    if whole_days:
        end = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    else:
        end = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    return end - timedelta(days=days), end


def _common(conn: Connection) -> None:
    # Every page draws the tenant picker and checks the catalog flag.
    list_tenants(conn, tenant_id=None)
    is_enabled(conn, CATALOG_FLAG)


# --- fast: the queries/ functions the page's loaders call -------------------------------------------------

def overview(conn: Connection, tenant: str | None, now: datetime) -> Any:
    """dashboard.overview.load_overview (default range 7 days)."""
    _common(conn)
    start, end = page_window(now, 7, whole_days=True)
    return (qo.get_overview(conn, tenant_id=tenant, start=start, end=end, limit=10),
            qo.count_export_fallbacks(conn, tenant_id=tenant, start=start, end=end))


def explore(conn: Connection, tenant: str | None, now: datetime) -> Any:
    """dashboard.explore as pages/explore.py calls them by default: options and the grouped view by error
    code with the number of failures selected (7 days); the list view is another view of the page."""
    _common(conn)
    start, end = page_window(now, 7, whole_days=True)
    filt = FailureFilter(tenant_id=tenant, start=start, end=end)
    return (qe.get_filter_options(conn, tenant_id=tenant),
            qe.get_grouped_view(conn, filt=filt, by="error_code", limit=100))


def oncall(conn: Connection, tenant: str | None, now: datetime) -> Any:
    """pages/oncall.py's default view: the open groups (200, regressions and the most severe first) with
    14-day sparklines, and its four tiles (open, regressed, assigned to me, unassigned)."""
    _common(conn)
    now = now.replace(second=0, microsecond=0)
    queue = queue_groups(conn, GroupFilter(tenant_id=tenant, state="open"), now=now, limit=GROUP_QUEUE_LIMIT)
    spark = daily_counts(conn, [(r["tenant_id"], r["signature"]) for r in queue], end=now, days=SPARK_DAYS)
    tiles = [count_groups(conn, GroupFilter(tenant_id=tenant, state=state, assignee=assignee), now=now)
             for state, assignee in (("open", None), ("regressed", None), ("open", BENCH_USER), ("open", ""))]
    return queue, spark, tiles


def oncall_failures(conn: Connection, tenant: str | None, now: datetime) -> Any:
    """pages/oncall.py's failures view: queue summary and the unrecovered queue (500)."""
    _common(conn)
    return (get_unrecovered_summary(conn, tenant_id=tenant),
            get_unrecovered_queue(conn, tenant_id=tenant, limit=QUEUE_LIMIT))


def trends(conn: Connection, tenant: str | None, now: datetime) -> Any:
    """dashboard.trends loaders (default range 30 whole days, daily grain)."""
    _common(conn)
    start, end = page_window(now, 30, whole_days=True)
    prev_start = start - (end - start)
    return (qt.get_period_totals(conn, tenant_id=tenant, start=start, end=end),
            qt.get_period_totals(conn, tenant_id=tenant, start=prev_start, end=start),
            qt.get_rate_trend(conn, tenant_id=tenant, start=start, end=end, grain="day"),
            qt.get_category_volume(conn, tenant_id=tenant, start=start, end=end, grain="day"),
            qt.get_top_movers(conn, tenant_id=tenant, start=start, end=end, limit=10),
            qt.get_new_codes(conn, tenant_id=tenant, start=start, end=end))


def catalog(conn: Connection, tenant: str | None, now: datetime) -> Any:
    """dashboard.catalog loaders (default range 30 whole days): entries with hits, other-code hits, candidates."""
    _common(conn)
    start, end = page_window(now, 30, whole_days=True)
    return (get_catalog_usage(conn, tenant_id=tenant, start=start, end=end),
            get_candidate_patterns(conn, tenant_id=tenant, start=start, end=end, min_occurrences=CANDIDATE_MIN,
                                   limit=200, sample_rows=PAGE_SAMPLE_ROWS))


def detail(conn: Connection, tenant: str | None, now: datetime, failure_id: str) -> Any:
    """dashboard.detail.load_failure_detail for one failure."""
    _common(conn)
    failure = get_failure(conn, failure_id=failure_id, tenant_id=tenant)
    assert failure is not None
    t = failure["tenant_id"]
    return (failure, qd.get_catalog_entry(conn, entry_id=failure["catalog_entry_id"]),
            get_recovery_history(conn, failure_id=failure_id, tenant_id=t),
            qd.get_same_run(conn, tenant_id=t, run_id=failure["run_id"], exclude_id=failure["id"]),
            qd.get_same_signature(conn, tenant_id=t, signature=failure["signature"], exclude_id=failure["id"]),
            qd.count_same_signature(conn, tenant_id=t, signature=failure["signature"]))


# --- naive: read the filtered rows into pandas, aggregate there ----------------------------------------------

_COLS = ["id", "tenant_id", "run_id", "error_code", "error_message", "signature", "catalog_entry_id", "category",
         "severity", "severity_rank", "recovery_mode", "skill_id", "recovery_attempted", "recovery_succeeded",
         "created_at"]


def _rows(conn: Connection, tenant: str | None, start: datetime | None, end: datetime | None,
          *extra: Any) -> pd.DataFrame:
    t = failure_matches
    query = select(*[t.c[c] for c in _COLS])
    if tenant is not None:
        query = query.where(t.c.tenant_id == tenant)
    if start is not None:
        query = query.where(t.c.created_at >= start)
    if end is not None:
        query = query.where(t.c.created_at < end)
    for cond in extra:
        query = query.where(cond)
    df = pd.read_sql(query, conn)
    df["created_at"] = pd.to_datetime(df["created_at"], utc=True)
    return df


def _totals(df: pd.DataFrame) -> dict[str, float]:
    n = len(df)
    attempted = int(df["recovery_attempted"].sum())
    ok = int((df["recovery_succeeded"] == True).sum())  # noqa: E712 - NULL-aware in pandas
    return {"failures": n, "hit_rate": df["catalog_entry_id"].notna().sum() / n if n else float("nan"),
            "recovery_success_rate": ok / attempted if attempted else float("nan")}


def naive_overview(conn: Connection, tenant: str | None, now: datetime) -> Any:
    start, end = page_window(now, 7, whole_days=True)
    df = _rows(conn, tenant, start - (end - start), end)
    cur, prev = df[df["created_at"] >= start], df[df["created_at"] < start]
    series = cur.groupby(cur["created_at"].dt.floor("h")).agg(
        failures=("id", "size"), matched=("catalog_entry_id", "count"), attempts=("recovery_attempted", "sum"))
    top = cur.groupby("error_code").size().nlargest(10)
    modes = cur.groupby("recovery_mode").agg(attempts=("recovery_attempted", "sum"), failures=("id", "size"))
    return _totals(cur), _totals(prev), series, top, modes


def naive_explore(conn: Connection, tenant: str | None, now: datetime) -> Any:
    start, end = page_window(now, 7, whole_days=True)
    df = _rows(conn, tenant, start, end)
    # The pickers offer every value the tenant ever had (get_filter_options reads the all-time totals), not only
    # this week's: read those three columns of all its rows (only them, as naive_trends does for new codes).
    picked = [failure_matches.c.error_code, failure_matches.c.category, failure_matches.c.recovery_mode]
    query = select(*picked) if tenant is None else select(*picked).where(failure_matches.c.tenant_id == tenant)
    everything = pd.read_sql(query, conn)
    options = {c: sorted(everything[c].dropna().unique()) for c in ("error_code", "category", "recovery_mode")}
    groups = df.groupby("error_code").agg(failures=("id", "size"), matched=("catalog_entry_id", "count"),
                                          recovered=("recovery_succeeded", lambda s: (s == True).sum()),  # noqa: E712
                                          first_seen=("created_at", "min"), last_seen=("created_at", "max"),
                                          example=("error_message", "first"))
    groups = groups.nlargest(100, "failures")
    spark = df[df["error_code"].isin(groups.index)].groupby(["error_code", df["created_at"].dt.floor("D")]).size()
    return options, len(df), groups, spark


def naive_oncall(conn: Connection, tenant: str | None, now: datetime) -> Any:
    df = _rows(conn, tenant, None, None)
    key = ["tenant_id", "signature"]
    groups = df.groupby(key).agg(failures=("id", "size"), first_seen=("created_at", "min"),
                                 last_seen=("created_at", "max"), severity_rank=("severity_rank", "min"))
    # Triage state is not in the failures: read it as the page would have to, the whole table.
    g = failure_groups
    states = pd.read_sql(select(g.c.tenant_id, g.c.signature, g.c.state, g.c.assignee, g.c.regressed), conn)
    groups = groups.join(states.set_index(key), how="left")
    open_ = groups[groups["state"] == "unresolved"]
    queue = open_.sort_values(["regressed", "severity_rank", "last_seen"], ascending=[False, True, False]
                              ).head(GROUP_QUEUE_LIMIT)
    since = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=SPARK_DAYS - 1)
    recent = df[df["created_at"] >= since].set_index(key)
    recent = recent[recent.index.isin(queue.index)]
    spark = recent.groupby([*key, recent["created_at"].dt.floor("D")]).size()
    tiles = [len(open_), int(open_["regressed"].fillna(False).sum()), int((open_["assignee"] == BENCH_USER).sum()),
             int(open_["assignee"].isna().sum())]
    return queue, spark, tiles


def naive_oncall_failures(conn: Connection, tenant: str | None, now: datetime) -> Any:
    df = _rows(conn, tenant, None, None, failure_matches.c.recovery_succeeded.is_not(True))
    summary = df.groupby("severity_rank").size()
    queue = df.sort_values(["severity_rank", "created_at"], ascending=[True, False]).head(QUEUE_LIMIT)
    return summary, queue


def naive_trends(conn: Connection, tenant: str | None, now: datetime) -> Any:
    start, end = page_window(now, 30, whole_days=True)
    df = _rows(conn, tenant, start - (end - start), end)
    cur, prev = df[df["created_at"] >= start], df[df["created_at"] < start]
    day = cur["created_at"].dt.floor("D")
    rates = cur.groupby(day).agg(failures=("id", "size"), matched=("catalog_entry_id", "count"))
    volume = cur.groupby([day, "category"]).size()
    movers = (cur.groupby("error_code").size() - prev.groupby("error_code").size()).abs().nlargest(10)
    # Codes seen before the period, to find the new ones (only that column: the rest is not needed).
    query = select(failure_matches.c.error_code).where(failure_matches.c.created_at < start)
    if tenant is not None:
        query = query.where(failure_matches.c.tenant_id == tenant)
    before = pd.read_sql(query, conn)
    new = sorted(set(cur["error_code"]) - set(before["error_code"]))
    return _totals(cur), _totals(prev), rates, volume, movers, new


def naive_catalog(conn: Connection, tenant: str | None, now: datetime) -> Any:
    start, end = page_window(now, 30, whole_days=True)
    df = _rows(conn, tenant, start, end)
    entries = pd.read_sql(select(catalog_entries), conn)
    hits = df.groupby("catalog_entry_id").agg(hits=("id", "size"), last_hit=("created_at", "max"))
    entries = entries.merge(hits, left_on="id", right_index=True, how="left")
    miss = df[df["catalog_entry_id"].isna()]
    cands = miss.groupby("signature").agg(occurrences=("id", "size"), first_seen=("created_at", "min"),
                                          last_seen=("created_at", "max"),
                                          skills=("skill_id", lambda s: sorted(s.dropna().unique())),
                                          examples=("error_message", lambda s: list(s.unique()[:3])))
    cands = cands[cands["occurrences"] >= CANDIDATE_MIN].nlargest(200, "occurrences")
    return entries, cands


def naive_detail(conn: Connection, tenant: str | None, now: datetime, failure_id: str) -> Any:
    one = pd.read_sql(select(failure_matches).where(failure_matches.c.id == failure_id), conn).iloc[0]
    t = one["tenant_id"]
    df = _rows(conn, t, None, None)
    history = pd.read_sql(select(recovery_events).where(recovery_events.c.failure_id == failure_id), conn)
    same_run = df[(df["run_id"] == one["run_id"]) & (df["id"] != one["id"])].head(50)
    same_sig = df[df["signature"] == one["signature"]]
    return one, history, same_run, same_sig.head(50), len(same_sig)


PAGES: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
    "overview": (overview, naive_overview),
    "explore": (explore, naive_explore),
    "oncall": (oncall, naive_oncall),
    "oncall_failures": (oncall_failures, naive_oncall_failures),
    "trends": (trends, naive_trends),
    "catalog": (catalog, naive_catalog),
    "failure_detail": (detail, naive_detail),
}


def sample_failure(conn: Connection, tenant: str) -> str:
    """A recent failure of the tenant (the detail page is opened from the newest lists)."""
    row = conn.execute(text("SELECT id FROM failure_matches WHERE tenant_id = :t ORDER BY created_at DESC LIMIT 1"),
                       {"t": tenant}).first()
    assert row is not None, f"no failures for {tenant}"
    return str(row[0])


def utc_now() -> datetime:
    """Now, UTC."""
    return datetime.now(UTC)
