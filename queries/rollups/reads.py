"""The rollup levels and how a window reads them; queries.rollups.writes keeps them in step.

failure_rollups (hourly, full key) is the base level; failure_rollups_daily (same key, UTC days),
failure_rollups_tenant_hourly (tenant, hour, matched), the all-tenant hourly and daily levels and
failure_totals (full key without time, with the first and last hour seen) are derived from the same deltas in
the same transaction. rollup_source() reads a window from the daily level for whole days and the hourly
level for the edges.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Subquery, bindparam, select, union_all

from core.schema import (
    failure_rollups,
    failure_rollups_all,
    failure_rollups_daily,
    failure_rollups_daily_all,
)
from queries.rollups.seen import SEEN_COLUMNS

KEY_COLUMNS = ("tenant_id", "bucket", "error_code", "category", "severity", "recovery_mode", "matched")
COUNT_COLUMNS = ("failures", "recovery_attempts", "recovery_successes")
CODE_KEYS = ("error_code", "category", "severity", "recovery_mode", "matched")
DAY = timedelta(days=1)

RollupKey = tuple[str, datetime, str, str, str, str, bool]


def rollup_conditions(
    *, tenant: str | None, start: datetime | None = None, end: datetime | None = None, table: Any = failure_rollups
) -> list[ColumnElement[bool]]:
    """Conditions on a rollup level (default failure_rollups) for one tenant (None = all) and a [start, end)
    bucket range."""
    cond: list[ColumnElement[bool]] = []
    if start is not None:
        cond.append(table.c.bucket >= start)
    if end is not None:
        cond.append(table.c.bucket < end)
    if tenant:
        cond.append(table.c.tenant_id == tenant)
    return cond


def hour_bucket(ts: datetime) -> datetime:
    """Truncate a timestamp to its UTC hour."""
    return ts.replace(minute=0, second=0, microsecond=0)


def day_bucket(ts: datetime) -> datetime:
    """Truncate a timestamp to its UTC day."""
    return ts.replace(hour=0, minute=0, second=0, microsecond=0)


def ceil_day(ts: datetime) -> datetime:
    """The first UTC midnight at or after ts."""
    floor = day_bucket(ts)
    return floor if floor == ts else floor + DAY


def rollup_parts(*, tenant: str | None, start: datetime, end: datetime) -> list[tuple[Any, datetime, datetime]]:
    """(level, lo, hi) pieces covering [start, end) (whole hours): the daily level for the whole days inside,
    the hourly one for the edges; for all tenants (tenant None) the all-tenant levels."""
    hourly, daily = (failure_rollups, failure_rollups_daily) if tenant else (failure_rollups_all,
                                                                            failure_rollups_daily_all)
    first_day, last_day = ceil_day(start), day_bucket(end)
    if first_day >= last_day:  # no whole day inside: hourly only
        parts = [(hourly, start, end)]
    else:
        parts = [(hourly, start, first_day), (daily, first_day, last_day), (hourly, last_day, end)]
    return [(t, lo, hi) for t, lo, hi in parts if lo < hi] or [(hourly, start, end)]


def rollup_source(*, tenant: str | None, start: datetime, end: datetime, name: str = "rollup_src",
                  seen: bool = False, bound: bool = False) -> Subquery:
    """Rollup rows covering [start, end) (whole hours, pieces as rollup_parts). Columns: bucket (a day or an
    hour), the code dimensions and the counts of failure_rollups, and with `seen` first_at, last_at and
    last_message. With `bound` the tenant and bounds are named parameters (rollup_source_params), so a statement
    built on it can run again with another window of the same shape (queries.sql)."""
    cols = ["bucket", *CODE_KEYS, *COUNT_COLUMNS, *(SEEN_COLUMNS if seen else ())]
    selects = []
    for i, (t, lo, hi) in enumerate(rollup_parts(tenant=tenant, start=start, end=end)):
        if bound:  # no default values: a run without them fails instead of reading the first window again
            cond = [t.c.bucket >= bindparam(f"{name}_lo{i}", type_=t.c.bucket.type),
                    t.c.bucket < bindparam(f"{name}_hi{i}", type_=t.c.bucket.type)]
            if tenant:
                cond.append(t.c.tenant_id == bindparam(f"{name}_tenant", type_=t.c.tenant_id.type))
        else:
            cond = rollup_conditions(tenant=tenant, start=lo, end=hi, table=t)
        selects.append(select(*[t.c[c] for c in cols]).where(*cond))
    return union_all(*selects).subquery(name) if len(selects) > 1 else selects[0].subquery(name)


def rollup_source_shape(*, tenant: str | None, start: datetime, end: datetime) -> tuple[Any, ...]:
    """What makes two bound rollup_source windows the same SQL: tenant or not, and the levels of the pieces."""
    return (tenant is not None, tuple(t.name for t, _lo, _hi in rollup_parts(tenant=tenant, start=start, end=end)))


def rollup_source_params(*, tenant: str | None, start: datetime, end: datetime, name: str = "rollup_src"
                         ) -> dict[str, Any]:
    """The parameter values of a bound rollup_source for this window."""
    params: dict[str, Any] = {f"{name}_tenant": tenant} if tenant else {}
    for i, (_t, lo, hi) in enumerate(rollup_parts(tenant=tenant, start=start, end=end)):
        params[f"{name}_lo{i}"], params[f"{name}_hi{i}"] = lo, hi
    return params


def rollup_key(row: Mapping) -> RollupKey:  # type: ignore[type-arg]
    """The rollup key of one failure row (mapping with failure_matches columns)."""
    return (
        row["tenant_id"],
        hour_bucket(row["created_at"]),
        row["error_code"],
        row["category"] or "",
        row["severity"] or "",
        row["recovery_mode"] or "",
        row["catalog_entry_id"] is not None,
    )


def as_datetime(value: Any) -> datetime:
    """A timestamp from min()/max(), which can come back as text on SQLite."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value
