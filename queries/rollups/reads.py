"""How a time window reads the FAILURES rollup levels: whole days from a daily level, the edges from an hourly one,
per tenant or over all tenants (queries.rollups.levels picks the tables)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Subquery, bindparam, select, union_all

from core.timebuckets import day_ceil, day_floor
from queries.rollups.levels import CODE_KEYS, COUNT_COLUMNS, HOURLY, SEEN_COLUMNS, Level, level_for


def rollup_conditions(*, tenant_id: str | None, start: datetime | None = None, end: datetime | None = None,
                      table: Any = HOURLY.table) -> list[ColumnElement[bool]]:
    """Conditions on a rollup level (default the hourly one) for one tenant (None = all) and a [start, end)
    bucket range."""
    cond: list[ColumnElement[bool]] = []
    if start is not None:
        cond.append(table.c.bucket >= start)
    if end is not None:
        cond.append(table.c.bucket < end)
    if tenant_id:
        cond.append(table.c.tenant_id == tenant_id)
    return cond


def rollup_parts(*, tenant_id: str | None, start: datetime, end: datetime) -> list[tuple[Level, datetime, datetime]]:
    """(level, lo, hi) pieces covering [start, end) (whole hours): the daily level for the whole days inside,
    the hourly one for the edges; per tenant, or over all tenants when tenant_id is None."""
    per_tenant = tenant_id is not None
    hourly, daily = level_for(per_tenant=per_tenant, grain="hour"), level_for(per_tenant=per_tenant, grain="day")
    first_day, last_day = day_ceil(start), day_floor(end)
    if first_day >= last_day:  # no whole day inside: hourly only
        parts = [(hourly, start, end)]
    else:
        parts = [(hourly, start, first_day), (daily, first_day, last_day), (hourly, last_day, end)]
    return [(lv, lo, hi) for lv, lo, hi in parts if lo < hi] or [(hourly, start, end)]


def rollup_source(*, tenant_id: str | None, start: datetime, end: datetime, name: str = "rollup_src",
                  seen: bool = False, bound: bool = False) -> Subquery:
    """Rollup rows covering [start, end) (whole hours, pieces as rollup_parts). Columns: bucket (a day or an
    hour), the code dimensions and the counts, and with `seen` first_at, last_at and last_message. With `bound`
    the tenant and bounds are named parameters (rollup_source_params), so a statement built on it can run again
    with another window of the same shape (queries.sql.memo_statement)."""
    cols = ["bucket", *CODE_KEYS, *COUNT_COLUMNS, *(SEEN_COLUMNS if seen else ())]
    selects = []
    for i, (level, lo, hi) in enumerate(rollup_parts(tenant_id=tenant_id, start=start, end=end)):
        t = level.table
        if bound:  # no default values: a run without them fails instead of reading the first window again
            cond = [t.c.bucket >= bindparam(f"{name}_lo{i}", type_=t.c.bucket.type),
                    t.c.bucket < bindparam(f"{name}_hi{i}", type_=t.c.bucket.type)]
            if tenant_id:
                cond.append(t.c.tenant_id == bindparam(f"{name}_tenant", type_=t.c.tenant_id.type))
        else:
            cond = rollup_conditions(tenant_id=tenant_id, start=lo, end=hi, table=t)
        selects.append(select(*[t.c[c] for c in cols]).where(*cond))
    return union_all(*selects).subquery(name) if len(selects) > 1 else selects[0].subquery(name)


def rollup_source_shape(*, tenant_id: str | None, start: datetime, end: datetime) -> tuple[Any, ...]:
    """What makes two bound rollup_source windows the same SQL: tenant or not, and the levels of the pieces."""
    parts = rollup_parts(tenant_id=tenant_id, start=start, end=end)
    return (tenant_id is not None, tuple(level.name for level, _lo, _hi in parts))


def rollup_source_params(*, tenant_id: str | None, start: datetime, end: datetime, name: str = "rollup_src"
                         ) -> dict[str, Any]:
    """The parameter values of a bound rollup_source for this window."""
    params: dict[str, Any] = {f"{name}_tenant": tenant_id} if tenant_id else {}
    for i, (_level, lo, hi) in enumerate(rollup_parts(tenant_id=tenant_id, start=start, end=end)):
        params[f"{name}_lo{i}"], params[f"{name}_hi{i}"] = lo, hi
    return params
