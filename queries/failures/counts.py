"""Counts of failures matching a filter, from the rollup levels when the filter allows it.

A filter on tenant, codes, categories, severities, modes, matched and recovery status is answered by
summing rollup rows (whole hours and days) plus a raw count of the partial first and last hour, so the
count no longer reads every matching failure of a long window. Text, run, skill and signature filters
need raw rows: count_from_rollups returns None for them.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.engine import Connection

from core.schema import failure_matches as fm
from core.schema import failure_totals as ft
from core.timebuckets import day_floor, hour_ceil, hour_floor
from core.types import utcnow
from queries.failures.filters import FailureFilter
from queries.rollups.reads import rollup_source, rollup_source_params, rollup_source_shape
from queries.sql import memo_statement

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


_DIMENSIONS = ("error_codes", "categories", "severities", "recovery_modes")


def dimension_conditions(t: Any, filt: FailureFilter, *, bound: bool = False) -> list[Any]:
    """The filter's code, category, severity, mode and matched conditions on a rollup level or source `t`; with
    `bound` the value lists are named parameters (dimension_params) for a statement built once (queries.sql)."""
    cond = []
    for name, col in zip(_DIMENSIONS, (t.c.error_code, t.c.category, t.c.severity, t.c.recovery_mode), strict=True):
        values = getattr(filt, name)
        if values:
            cond.append(col.in_(bindparam(f"dim_{name}", expanding=True) if bound else values))
    if filt.matched is not None:
        cond.append(t.c.matched.is_(filt.matched))
    return cond


def dimension_shape(filt: FailureFilter) -> tuple[Any, ...]:
    """What makes two filters' bound dimension_conditions the same SQL."""
    return (*(bool(getattr(filt, name)) for name in _DIMENSIONS), filt.matched)


def dimension_params(filt: FailureFilter) -> dict[str, list[str]]:
    """The parameter values of bound dimension_conditions."""
    return {f"dim_{name}": list(getattr(filt, name)) for name in _DIMENSIONS if getattr(filt, name)}


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
        filt = replace(filt, end=day_floor(utcnow()) + timedelta(days=2))
    start, end = filt.start, filt.end
    assert start is not None and end is not None
    first_hour, last_hour = hour_ceil(start), hour_floor(end)
    if first_hour >= last_hour:
        return None  # less than one whole hour: the raw count is cheap
    tenant_id = filt.tenant_id

    def build() -> Any:
        src = rollup_source(tenant_id=tenant_id, start=first_hour, end=last_hour, bound=True)
        return (select(func.coalesce(func.sum(_status_count(src, filt.status)), 0))
                .where(*dimension_conditions(src, filt, bound=True)))

    shape = rollup_source_shape(tenant_id=tenant_id, start=first_hour, end=last_hour)
    stmt = memo_statement(("counts.window", shape, dimension_shape(filt), filt.status), build)
    params = rollup_source_params(tenant_id=tenant_id, start=first_hour, end=last_hour)
    total = int(conn.execute(stmt, {**params, **dimension_params(filt)}).scalar_one())
    for lo, hi in ((start, first_hour), (last_hour, end)):
        if lo < hi:
            edge = replace(filt, start=lo, end=hi)
            total += int(conn.execute(select(func.count()).select_from(fm).where(*edge.conditions())).scalar_one())
    return total
