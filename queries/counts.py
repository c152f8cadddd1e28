"""Counts of failures matching a filter, from the rollup levels when the filter allows it.

A filter on tenant, codes, categories, severities, modes, matched and recovery status is answered by
summing rollup rows (whole hours and days) plus a raw count of the partial first and last hour, so the
count no longer reads every matching failure of a long window. Text, run, skill and signature filters
need raw rows: count_from_rollups returns None for them.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from core.schema import failure_matches as fm
from core.schema import failure_totals as ft
from core.types import utcnow
from queries.filters import FailureFilter
from queries.rollups import day_bucket, rollup_source

HOUR = timedelta(hours=1)


def _status_count(t: Any, status: str) -> Any:
    """The rollup expression counting failures of one recovery status."""
    return {
        "all": t.c.failures,
        "open": t.c.failures - t.c.recovery_successes,
        "unrecovered": t.c.failures - t.c.recovery_attempts,
        "failed": t.c.recovery_attempts - t.c.recovery_successes,
        "recovered": t.c.recovery_successes,
    }[status]


def dimension_conditions(t: Any, filt: FailureFilter) -> list[Any]:
    """The filter's code, category, severity, mode and matched conditions on a rollup level or source `t`."""
    cond = []
    for values, col in ((filt.error_codes, t.c.error_code), (filt.categories, t.c.category),
                        (filt.severities, t.c.severity), (filt.recovery_modes, t.c.recovery_mode)):
        if values:
            cond.append(col.in_(values))
    if filt.matched is not None:
        cond.append(t.c.matched.is_(filt.matched))
    return cond


def rollup_countable(filt: FailureFilter) -> bool:
    """True when every condition of the filter is a rollup dimension (or the recovery status)."""
    return not (filt.run_id or filt.skill_id or filt.signature or filt.q) and (
        filt.start is not None or filt.end is None)


def count_from_rollups(conn: Connection, filt: FailureFilter) -> int | None:
    """The number of failures matching `filt`, or None when the filter needs raw rows."""
    if not rollup_countable(filt):
        return None
    if filt.start is None:  # all time (rollup_countable: no end either): the totals
        query = select(func.coalesce(func.sum(_status_count(ft, filt.status)), 0)).where(
            *dimension_conditions(ft, filt))
        if filt.tenant_id:
            query = query.where(ft.c.tenant_id == filt.tenant_id)
        return int(conn.execute(query).scalar_one())
    if filt.end is None:
        # Open-ended ("since"): ingest refuses events more than 10 minutes ahead, so two days past today's
        # midnight covers every stored failure; the raw edge below then has nothing after that either.
        filt = replace(filt, end=day_bucket(utcnow()) + timedelta(days=2))
    first_hour, last_hour = _ceil_hour(filt.start), filt.end.replace(minute=0, second=0, microsecond=0)
    if first_hour >= last_hour:
        return None  # less than one whole hour: the raw count is cheap
    src = rollup_source(tenant=filt.tenant_id, start=first_hour, end=last_hour)
    total = int(conn.execute(select(func.coalesce(func.sum(_status_count(src, filt.status)), 0))
                             .where(*dimension_conditions(src, filt))).scalar_one())
    for lo, hi in ((filt.start, first_hour), (last_hour, filt.end)):
        if lo < hi:
            edge = replace(filt, start=lo, end=hi)
            total += int(conn.execute(select(func.count()).select_from(fm).where(*edge.conditions())).scalar_one())
    return total


def _ceil_hour(ts: datetime) -> datetime:
    floor = ts.replace(minute=0, second=0, microsecond=0)
    return floor if floor == ts else floor + HOUR
