"""Explore: failures grouped by error code, category or signature, with first/last seen and a sparkline."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Float, Integer, String, bindparam, case, cast, func, select, true
from sqlalchemy.engine import Connection

from core.schema import failure_matches as fm
from core.schema import failure_rollups as fr
from core.timebuckets import DAY, day_ceil, day_floor
from queries.failures.counts import dimension_conditions, dimension_params, dimension_shape, rollup_countable
from queries.failures.filters import FailureFilter, FilterError
from queries.failures.listing import count_failures
from queries.rollups.reads import rollup_source, rollup_source_params, rollup_source_shape
from queries.sql import latest_message, listed_table, memo_statement

GROUPINGS = {"error_code": fm.c.error_code, "category": fm.c.category, "signature": fm.c.signature}
GROUP_COLUMNS = ["key", "failures", "matched", "recovered", "first_seen", "last_seen", "example", "category",
                 "sparkline"]
ROLLUP_GROUPINGS = {"error_code": fr.c.error_code, "category": fr.c.category}
SPARK_BUCKETS = 24
MAX_GROUPS = 500
HOUR = timedelta(hours=1)


def _epoch(conn: Connection, col: ColumnElement) -> ColumnElement:
    """Seconds since 1970 of a timestamp column on either engine."""
    if conn.dialect.name == "sqlite":
        return cast(func.strftime("%s", col), Float)
    return func.date_part("epoch", col)  # double precision; extract() returns numeric, several times slower


def get_groups(conn: Connection, *, filt: FailureFilter, by: str = "error_code", limit: int = 100,
               buckets: int = SPARK_BUCKETS) -> pd.DataFrame:
    """One row per group (largest first): GROUP_COLUMNS; sparkline = failures per equal time slice of the range."""
    return get_grouped_view(conn, filt=filt, by=by, limit=limit, buckets=buckets)[0]


def get_grouped_view(conn: Connection, *, filt: FailureFilter, by: str = "error_code", limit: int = 100,
                     buckets: int = SPARK_BUCKETS) -> tuple[pd.DataFrame, int]:
    """(get_groups, number of failures the filter selects): from the rollups the groups' statement gives the
    total too (every group is summed before the largest are kept); otherwise it is counted."""
    if by not in GROUPINGS:
        raise FilterError(f"group by must be one of {', '.join(GROUPINGS)}")
    if not 1 <= limit <= MAX_GROUPS:
        raise FilterError(f"limit must be between 1 and {MAX_GROUPS}")
    if by in ROLLUP_GROUPINGS and _rollup_answerable(filt):
        return _groups_from_rollups(conn, filt, by, limit, buckets)
    return _groups_from_raw(conn, filt, by, limit, buckets), count_failures(conn, filt=filt)


def _groups_from_raw(conn: Connection, filt: FailureFilter, by: str, limit: int, buckets: int) -> pd.DataFrame:
    """Grouped view from the raw rows (filters the rollups cannot answer: text, run, skill, signature, status)."""
    key = GROUPINGS[by]
    count = func.count()
    conds = filt.conditions()
    query = (
        select(
            key.label("key"),
            count.label("failures"),
            func.sum(cast(fm.c.catalog_entry_id.is_not(None), Integer)).label("matched"),
            func.sum(cast(fm.c.recovery_succeeded.is_(True), Integer)).label("recovered"),
            func.min(fm.c.created_at).label("first_seen"),
            func.max(fm.c.created_at).label("last_seen"),
            latest_message(conn, fm.c.created_at, fm.c.error_message).label("example"),
            func.max(fm.c.category).label("category"),
        )
        .where(*conds)
        .group_by(key)
        .order_by(count.desc(), key)
        .limit(limit)
    )
    rows = conn.execute(query).mappings().all()
    df = pd.DataFrame([dict(r) for r in rows], columns=GROUP_COLUMNS[:-1])
    df["key"], df["category"], df["example"] = _objects(df["key"]), _objects(df["category"]), _objects(df["example"])
    for col in ("first_seen", "last_seen"):
        df[col] = pd.to_datetime(df[col], utc=True)
    for col in ("failures", "matched", "recovered"):
        df[col] = df[col].fillna(0).astype("int64")
    df["sparkline"] = _sparklines(conn, filt, key, df, buckets)
    return df[GROUP_COLUMNS]


def _objects(values: pd.Series, *, empty_is_none: bool = False) -> pd.Series:
    """Values as plain Python objects with None for missing (pandas 3 would turn None into NaN)."""
    out = [None if (v is None or v != v or (empty_is_none and v == "")) else v for v in values.tolist()]
    return pd.Series(out, index=values.index, dtype=object)


def _whole_hour(ts: datetime | None) -> bool:
    return ts is not None and ts.minute == 0 and ts.second == 0 and ts.microsecond == 0


def _rollup_answerable(filt: FailureFilter) -> bool:
    """True when the rollup levels answer the filter: one the counts answer (no text, run, skill or signature),
    no recovery status (groups count all failures), and a range that starts and ends on whole hours."""
    return (rollup_countable(filt) and filt.status == "all" and _whole_hour(filt.start)
            and _whole_hour(filt.end))


def _groups_from_rollups(conn: Connection, filt: FailureFilter, by: str, limit: int, buckets: int
                         ) -> tuple[pd.DataFrame, int]:
    """Grouped view from the rollup levels alone: one statement returns each group's totals, first and last seen
    and latest message (rollup_seen columns) and its failures per sparkline slot, computed in the database."""
    assert filt.start is not None and filt.end is not None  # _rollup_answerable demands a whole-hour range
    origin, width, slots = _slot_grid(filt.start, filt.end, buckets)
    shape = ("explore.groups", conn.dialect.name, by, rollup_source_shape(tenant_id=filt.tenant_id, start=filt.start,
                                                                           end=filt.end), dimension_shape(filt))
    stmt = memo_statement(shape, lambda: _groups_statement(conn, filt, by))
    params = {**rollup_source_params(tenant_id=filt.tenant_id, start=filt.start, end=filt.end),
              **dimension_params(filt), "origin": origin.timestamp(), "width": width}
    keys: list[Any] = []
    cols: list[list[Any]] = [[] for _ in range(8)]
    for k, n, matched, recovered, category, first, last, example, text_ in conn.execute(stmt, params):
        if not n:
            continue
        line = [0] * slots
        if text_:
            numbers = text_.replace(":", ",").split(",")  # slot, failures, slot, failures, ...
            for slot_, count in zip(map(int, numbers[0::2]), map(int, numbers[1::2]), strict=True):
                line[slot_ if 0 <= slot_ < slots else (0 if slot_ < 0 else slots - 1)] += count
        keys.append(k)
        for col, value in zip(cols, (int(n), int(matched or 0), int(recovered or 0), first, last, example,
                                     category or None, line), strict=True):
            col.append(value)
    total = sum(cols[0])
    order = sorted(range(len(keys)), key=lambda i: (-cols[0][i], keys[i]))[:limit]
    keys = [keys[i] for i in order]
    cols = [[col[i] for i in order] for col in cols]
    # Rollups store a miss's empty category as ''; raw rows (and the raw path) have NULL.
    keys = [k if k else None for k in keys]
    unseen = [k for k, last in zip(keys, cols[4], strict=True) if last is None]
    if unseen:  # rows counted before their times were kept: read those groups' times from the raw rows
        seen = _first_last_example(conn, filt, GROUPINGS[by], unseen)
        for i, k in enumerate(keys):
            if k in seen and cols[4][i] is None:
                cols[3][i], cols[4][i], cols[5][i] = seen[k]
    return pd.DataFrame({
        "key": _object_column(keys),
        "failures": np.asarray(cols[0], dtype="int64"),
        "matched": np.asarray(cols[1], dtype="int64"),
        "recovered": np.asarray(cols[2], dtype="int64"),
        "first_seen": _utc_column(cols[3]),
        "last_seen": _utc_column(cols[4]),
        "example": _object_column(cols[5]),
        "category": _object_column(cols[6]),
        "sparkline": _object_column(cols[7]),
    }, copy=False), total


def _object_column(values: list[Any]) -> pd.Series:
    """Values kept as Python objects, None included (pandas would infer strings with NaN, or split lists)."""
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return pd.Series(array, dtype=object, copy=False)


def _utc_column(values: list[Any]) -> pd.Series:
    """Aware datetimes (or None) as a datetime64 UTC column."""
    index = pd.DatetimeIndex(values)
    index = index.tz_localize("UTC") if index.tz is None else index.tz_convert("UTC")
    return pd.Series(index.as_unit("us"))


def _groups_statement(conn: Connection, filt: FailureFilter, by: str) -> Any:
    """The grouped view's statement over a bound rollup_source (parameters: the window's, the dimension lists',
    origin and width of the sparkline slots in seconds)."""
    assert filt.start is not None and filt.end is not None
    src = rollup_source(tenant_id=filt.tenant_id, start=filt.start, end=filt.end, seen=True, bound=True)
    conds = dimension_conditions(src, filt, bound=True)
    key = src.c[by]
    offset = (_epoch(conn, src.c.bucket) - bindparam("origin", type_=Float)) / bindparam("width", type_=Float)
    # Buckets never precede the origin, so SQLite's truncating CAST floors; PostgreSQL's CAST rounds.
    slot = cast(offset if conn.dialect.name == "sqlite" else func.floor(offset), Integer)
    # The sparkline as one "slot:failures,..." text per group (a slot may come several times, once per rollup row):
    # one aggregation over the window's rows, and a row per group instead of one per group and slot.
    pairs = cast(slot, String).concat(":").concat(cast(src.c.failures, String))
    return select(
        key.label("key"), func.sum(src.c.failures).label("failures"),
        func.sum(case((src.c.matched.is_(True), src.c.failures), else_=0)).label("matched"),
        func.sum(src.c.recovery_successes).label("recovered"), func.max(src.c.category).label("category"),
        func.min(src.c.first_at).label("first_seen"), func.max(src.c.last_at).label("last_seen"),
        latest_message(conn, src.c.last_at, src.c.last_message).label("example"),
        _joined(conn, pairs).label("spark"),
    ).where(*conds).group_by(key)


def _joined(conn: Connection, value: Any) -> Any:
    """Aggregate: the group's text values joined with commas (in no particular order)."""
    if conn.dialect.name == "postgresql":
        return func.string_agg(value, ",")
    return func.group_concat(value, ",")


def _slot_grid(start: datetime, end: datetime, buckets: int) -> tuple[datetime, float, int]:
    """(origin, width in seconds, number of slots) of a rollup sparkline: one slot per day when the window
    holds whole days (the daily level cannot be split finer), else `buckets` equal slices."""
    by_day = day_ceil(start) < day_floor(end)
    origin = day_floor(start) if by_day else start
    width = (DAY if by_day else max(end - start, HOUR) / buckets).total_seconds()
    span = (end - origin).total_seconds()
    slots = max(1, int(span // width) + (1 if span % width else 0)) if by_day else buckets
    return origin, width, slots


def _first_last_example(conn: Connection, filt: FailureFilter, raw_key: Any, keys: list[Any]
                        ) -> dict[Any, tuple[Any, Any, Any]]:
    """(first created_at, last created_at, latest message) per group key: index seeks per key (the latest
    message is the greatest one among the rows of the latest time, as in queries.rollups.seen)."""
    newest = (fm.c.created_at.desc(), fm.c.error_message.desc())
    out: dict[Any, tuple[Any, Any, Any]] = {}
    values = [k for k in keys if k is not None]
    base = filt.conditions()
    if values:
        listed = listed_table(conn, values)
        cond = [*base, raw_key == listed.c.k]

        def seek(col: Any, order: Any) -> Any:
            return select(col).where(*cond).order_by(*(order if isinstance(order, tuple) else (order,))).limit(
                1).scalar_subquery()

        if conn.dialect.name == "postgresql":  # the newest row's time and message in one seek
            latest = (select(fm.c.created_at, fm.c.error_message).where(*cond).order_by(*newest)
                      .limit(1).lateral("latest"))
            rows = conn.execute(
                select(listed.c.k, seek(fm.c.created_at, fm.c.created_at.asc()), latest.c.created_at,
                       latest.c.error_message).select_from(listed.outerjoin(latest, true()))).all()
        else:
            rows = conn.execute(select(listed.c.k, seek(fm.c.created_at, fm.c.created_at.asc()),
                                       seek(fm.c.created_at, fm.c.created_at.desc()),
                                       seek(fm.c.error_message, newest))).all()
        out.update({k: (first, last, example) for k, first, last, example in rows})
    if None in keys:
        cond = [*base, raw_key.is_(None)]
        first = conn.execute(select(fm.c.created_at).where(*cond).order_by(fm.c.created_at.asc()).limit(1)).first()
        last = conn.execute(select(fm.c.created_at, fm.c.error_message).where(*cond)
                            .order_by(*newest).limit(1)).first()
        out[None] = (first[0] if first else None, last[0] if last else None, last[1] if last else None)
    return {k: out.get(k, (None, None, None)) for k in keys}


def _sparklines(conn: Connection, filt: FailureFilter, key: ColumnElement, groups: pd.DataFrame,
                buckets: int) -> list[list[int]]:
    """Raw rows' counts per time slice for the listed groups only (one grouped query, no per-row queries)."""
    if groups.empty:
        return []
    start: datetime = filt.start or groups["first_seen"].min().to_pydatetime()
    end: datetime = filt.end or groups["last_seen"].max().to_pydatetime()
    span = max((end - start).total_seconds(), 1.0)
    width = span / buckets
    offset = (_epoch(conn, fm.c.created_at) - start.timestamp()) / width
    # SQLite's CAST truncates (offsets are >= 0); PostgreSQL's rounds, so floor first there.
    slot = cast(offset if conn.dialect.name == "sqlite" else func.floor(offset), Integer)
    keys = [k for k in groups["key"].tolist() if k is not None]
    conds = filt.conditions()
    if keys:
        conds.append(key.in_(keys))
    rows = conn.execute(
        select(key.label("key"), slot.label("slot"), func.count().label("n")).where(*conds).group_by(key, slot)
    ).all()
    series: dict[object, list[int]] = {k: [0] * buckets for k in groups["key"].tolist()}
    for k, s, n in rows:
        if k in series and s is not None:
            series[k][min(max(int(s), 0), buckets - 1)] += int(n)
    return [series[k] for k in groups["key"].tolist()]


def get_filter_options(conn: Connection, *, tenant_id: str | None) -> dict[str, list[str]]:
    """Values offered in the filter pickers (from the all-time totals): error_codes, categories, modes."""
    from core.schema import failure_totals as ft

    def build() -> Any:
        query = select(ft.c.error_code, ft.c.category, ft.c.recovery_mode).where(ft.c.failures > 0).group_by(
            ft.c.error_code, ft.c.category, ft.c.recovery_mode)
        return query if tenant_id is None else query.where(ft.c.tenant_id == bindparam("options_tenant"))

    query = memo_statement(("explore.options", tenant_id is None), build)
    codes: set[str] = set()
    categories: set[str] = set()
    modes: set[str] = set()
    for code, category, mode in conn.execute(query, {} if tenant_id is None else {"options_tenant": tenant_id}):
        codes.add(code)
        categories.add(category)
        modes.add(mode)

    def values(seen: set[str]) -> list[str]:
        return sorted(str(v) for v in seen if v)

    return {"error_codes": values(codes), "categories": values(categories), "recovery_modes": values(modes)}
