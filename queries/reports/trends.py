"""Product trends from the rollup levels: hit rate and recovery success per day/week, category volume,
top movers against the previous period and codes first seen in the period.

Rollups are hourly, so every window is widened to whole hours (start floored, end rounded up).
"""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from core.schema import failure_rollups_tenant_hourly as frth
from core.schema import failure_totals as ft
from queries.rollups.reads import rollup_conditions, rollup_source

GRAINS = ("day", "week")
HOUR = timedelta(hours=1)
UNMATCHED_CATEGORY = "(unmatched)"
RATE_COLUMNS = [
    "period", "failures", "matched", "hit_rate", "recovery_attempts", "recovery_successes", "recovery_success_rate",
]


def _checked(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("start and end must be timezone-aware")
    if start >= end:
        raise ValueError("start must be before end")
    return hour_window(start, end)


def _source(tenant_id: str | None, start: datetime, end: datetime) -> Any:
    """Rollup rows of the window: daily rows for whole days, hourly rows for the edges."""
    start, end = _checked(start, end)
    return rollup_source(tenant_id=tenant_id, start=start, end=end)


def _tenant_hours(tenant_id: str | None, start: datetime, end: datetime) -> list:
    """Conditions on the per tenant-hour level (no code dimension needed)."""
    start, end = _checked(start, end)
    return rollup_conditions(tenant_id=tenant_id, start=start, end=end, table=frth)


def hour_window(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The window widened to whole hours (the rollup grain): start floored, end rounded up."""
    floor_end = end.replace(minute=0, second=0, microsecond=0)
    return start.replace(minute=0, second=0, microsecond=0), floor_end if floor_end == end else floor_end + HOUR


def period_start(ts: pd.Series, grain: str) -> pd.Series:
    """Floor UTC timestamps to the start of their day, or of their ISO week (Monday)."""
    if grain not in GRAINS:
        raise ValueError(f"grain must be one of {', '.join(GRAINS)}")
    days = pd.to_datetime(ts, utc=True).dt.floor("D")
    if grain == "week":
        days = days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    return days


def _rate(num: pd.Series, den: pd.Series) -> pd.Series:
    return (num / den.where(den > 0)).astype("float64")


def get_rate_trend(conn: Connection, *, tenant_id: str | None, start: datetime, end: datetime, grain: str = "day"
                   ) -> pd.DataFrame:
    """One row per day or week (UTC): RATE_COLUMNS; rates are floats (NaN when nothing to divide)."""
    fr = _source(tenant_id, start, end)
    query = (
        select(
            fr.c.bucket, fr.c.matched,
            func.sum(fr.c.failures).label("failures"),
            func.sum(fr.c.recovery_attempts).label("recovery_attempts"),
            func.sum(fr.c.recovery_successes).label("recovery_successes"),
        )
        .group_by(fr.c.bucket, fr.c.matched)
    )
    raw = pd.DataFrame([dict(r) for r in conn.execute(query).mappings()],
                       columns=["bucket", "matched", "failures", "recovery_attempts", "recovery_successes"])
    if raw.empty:
        empty = {c: pd.Series(dtype="int64") for c in RATE_COLUMNS}
        empty.update(period=pd.Series(dtype="datetime64[ns, UTC]"), hit_rate=pd.Series(dtype="float64"),
                     recovery_success_rate=pd.Series(dtype="float64"))
        return pd.DataFrame(empty)[RATE_COLUMNS]
    raw["period"] = period_start(raw["bucket"], grain)
    raw["matched_failures"] = raw["failures"].where(raw["matched"].astype(bool), 0)
    out = raw.groupby("period", as_index=False).agg(
        failures=("failures", "sum"), matched=("matched_failures", "sum"),
        recovery_attempts=("recovery_attempts", "sum"), recovery_successes=("recovery_successes", "sum"),
    )
    for col in ("failures", "matched", "recovery_attempts", "recovery_successes"):
        out[col] = out[col].astype("int64")
    out["hit_rate"] = _rate(out["matched"], out["failures"])
    out["recovery_success_rate"] = _rate(out["recovery_successes"], out["recovery_attempts"])
    return out[RATE_COLUMNS].sort_values("period").reset_index(drop=True)


def get_category_volume(conn: Connection, *, tenant_id: str | None, start: datetime, end: datetime,
                        grain: str = "day") -> pd.DataFrame:
    """Failures per day/week and category: period, category ('(unmatched)' for misses), failures."""
    fr = _source(tenant_id, start, end)
    query = select(fr.c.bucket, fr.c.category, func.sum(fr.c.failures).label("failures")).group_by(
        fr.c.bucket, fr.c.category)
    raw = pd.DataFrame([dict(r) for r in conn.execute(query).mappings()], columns=["bucket", "category", "failures"])
    if raw.empty:
        return pd.DataFrame({"period": pd.Series(dtype="datetime64[ns, UTC]"),
                             "category": pd.Series(dtype="object"), "failures": pd.Series(dtype="int64")})
    raw["period"] = period_start(raw["bucket"], grain)
    raw["category"] = raw["category"].replace("", UNMATCHED_CATEGORY).fillna(UNMATCHED_CATEGORY)
    out = raw.groupby(["period", "category"], as_index=False)["failures"].sum()
    out["failures"] = out["failures"].astype("int64")
    out = out[out["failures"] != 0]
    return out.sort_values(["period", "category"]).reset_index(drop=True)


def _code_counts(conn: Connection, tenant_id: str | None, start: datetime, end: datetime) -> pd.Series:
    fr = _source(tenant_id, start, end)
    query = select(fr.c.error_code, func.sum(fr.c.failures).label("failures")).group_by(fr.c.error_code)
    rows = conn.execute(query).all()
    return pd.Series({r.error_code: int(r.failures or 0) for r in rows}, dtype="int64")


def previous_period(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    """The window of the same length just before [start, end)."""
    return start - (end - start), start


MIN_MOVER_VOLUME = 5  # a code needs this many failures in one of the two periods to be a mover


def get_top_movers(conn: Connection, *, tenant_id: str | None, start: datetime, end: datetime, limit: int = 10,
                   min_volume: int = MIN_MOVER_VOLUME) -> pd.DataFrame:
    """Error codes whose failures changed most against the previous period of equal length, relative to what
    they were (a code absent before ranks first), among codes with at least `min_volume` failures in one of the
    two periods; ties by the absolute change.

    Columns: error_code, current, previous, change (int), change_pct (float, NaN when previous is 0).
    """
    prev_start, prev_end = previous_period(start, end)
    cur = _code_counts(conn, tenant_id, start, end)
    prev = _code_counts(conn, tenant_id, prev_start, prev_end)
    df = pd.DataFrame({"current": cur, "previous": prev}).fillna(0).astype("int64")
    df.index.name = "error_code"
    df = df.reset_index()
    df["change"] = (df["current"] - df["previous"]).astype("int64")
    df["change_pct"] = _rate(df["change"].astype("float64"), df["previous"].astype("float64"))
    df = df[(df["change"] != 0) & (df[["current", "previous"]].max(axis=1) >= min_volume)]
    relative = (df["change"] / df["previous"].where(df["previous"] > 0)).abs().fillna(float("inf"))
    df = df.assign(_rel=relative, _abs=df["change"].abs()).sort_values(
        ["_rel", "_abs", "error_code"], ascending=[False, False, True])
    cols = ["error_code", "current", "previous", "change", "change_pct"]
    return df.head(max(0, int(limit)))[cols].reset_index(drop=True)


def get_new_codes(conn: Connection, *, tenant_id: str | None, start: datetime, end: datetime) -> pd.DataFrame:
    """Codes seen in the period and never before it: error_code, category, first_seen (hour, UTC), failures.

    "Before" is since records began: failure_totals keeps the first hour a code was stored even after
    retention removed those rows, so a code that came back is not new.
    """
    fr = _source(tenant_id, start, end)
    start, end = _checked(start, end)
    query = (
        select(fr.c.error_code, func.max(fr.c.category).label("category"),
               func.sum(fr.c.failures).label("failures"))
        .group_by(fr.c.error_code)
        .having(func.sum(fr.c.failures) > 0)
    )
    cur = pd.DataFrame([dict(r) for r in conn.execute(query).mappings()],
                       columns=["error_code", "category", "failures"])
    first = select(ft.c.error_code, func.min(ft.c.first_seen).label("first_seen")).group_by(ft.c.error_code)
    if tenant_id:
        first = first.where(ft.c.tenant_id == tenant_id)
    if not cur.empty:
        first = first.where(ft.c.error_code.in_(list(cur["error_code"])))
        seen = {r.error_code: r.first_seen for r in conn.execute(first)}
        cur["first_seen"] = [seen.get(c) for c in cur["error_code"]]
        cur = cur[[s is not None and s >= start for s in cur["first_seen"]]]
    else:
        cur["first_seen"] = pd.Series(dtype=object)
    cur = cur.assign(
        category=cur["category"].replace("", UNMATCHED_CATEGORY).fillna(UNMATCHED_CATEGORY),
        first_seen=pd.to_datetime(cur["first_seen"], utc=True),
        failures=cur["failures"].fillna(0).astype("int64"),
    )
    return cur[["error_code", "category", "first_seen", "failures"]].sort_values(
        ["first_seen", "error_code"]).reset_index(drop=True)


def get_period_totals(conn: Connection, *, tenant_id: str | None, start: datetime, end: datetime) -> dict[str, float]:
    """Totals of one window: failures, matched, hit_rate, recovery_attempts, recovery_successes,
    recovery_success_rate (rates NaN when nothing to divide)."""
    # Per tenant the tenant-hour level is smallest; for all tenants the all-tenant daily level is.
    fr = frth if tenant_id else _source(None, start, end)
    query = select(
        func.coalesce(func.sum(fr.c.failures), 0).label("failures"),
        func.coalesce(func.sum(fr.c.failures).filter(fr.c.matched.is_(True)), 0).label("matched"),
        func.coalesce(func.sum(fr.c.recovery_attempts), 0).label("recovery_attempts"),
        func.coalesce(func.sum(fr.c.recovery_successes), 0).label("recovery_successes"),
    )
    if tenant_id:
        query = query.where(*_tenant_hours(tenant_id, start, end))
    row = conn.execute(query).mappings().one()
    out = {k: int(v or 0) for k, v in row.items()}
    nan = float("nan")
    return {
        **out,
        "hit_rate": out["matched"] / out["failures"] if out["failures"] else nan,
        "recovery_success_rate": (
            out["recovery_successes"] / out["recovery_attempts"] if out["recovery_attempts"] else nan
        ),
    }
