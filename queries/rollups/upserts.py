"""The writes of a rollup family, generated from its level declarations (queries.rollups.levels).

Deltas arrive as rows of the family's base level (its key columns and the measures' source columns). Two ways
to apply them, same result:
- write_levels(): each level's rows are derived in Python and written with one multi-row upsert per level
  (SQLite; also every write of few rows, such as retention's);
- family_statement() + family_params(): one PostgreSQL statement receives the base rows as arrays and derives
  every level server-side (ingest's hot path: one round trip whatever the number of levels).
On a conflict a sum adds, an earliest keeps the least and a latest the greatest value, and the latest-message
columns follow the latest-message rule.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import (
    ARRAY,
    Boolean,
    DateTime,
    Integer,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import ColumnElement, Executable
from sqlalchemy.sql.functions import GenericFunction

from queries.rollups.levels import SEEN_COLUMNS, Family, Level, Seen, is_later, seen_by_level

BaseKey = tuple[Any, ...]


class least(GenericFunction[Any]):  # noqa: N801 - SQL function name
    """least(a, b): the smaller of two values; SQLite spells it min(a, b)."""

    inherit_cache = True


class greatest(GenericFunction[Any]):  # noqa: N801 - SQL function name
    """greatest(a, b): the larger of two values; SQLite spells it max(a, b)."""

    inherit_cache = True


@compiles(least, "sqlite")
def _least_sqlite(element: least, compiler: Any, **kw: Any) -> str:
    return "min(" + compiler.process(element.clauses, **kw) + ")"


@compiles(greatest, "sqlite")
def _greatest_sqlite(element: greatest, compiler: Any, **kw: Any) -> str:
    return "max(" + compiler.process(element.clauses, **kw) + ")"


def conflict_set(level: Level, table: Any, excluded: Any) -> dict[str, ColumnElement[Any]]:
    """ON CONFLICT DO UPDATE SET expressions merging an upserted row into the stored one."""
    out: dict[str, ColumnElement[Any]] = {}
    for m in level.measures:
        stored, new = table.c[m.name], excluded[m.name]
        if m.how == "sum":
            out[m.name] = stored + new
        else:
            out[m.name] = least(stored, new) if m.how == "min" else greatest(stored, new)
    if level.latest:
        out.update(seen_set_clauses(table, excluded))
    return out


def seen_set_clauses(table: Any, excluded: Any) -> dict[str, ColumnElement[Any]]:
    """The latest-message rule in SQL: the earliest first_at; the greatest (last_at, last_message); NULL = none."""
    new_later = and_(excluded.last_at.is_not(None), or_(
        table.c.last_at.is_(None), excluded.last_at > table.c.last_at,
        and_(excluded.last_at == table.c.last_at, excluded.last_message > table.c.last_message)))
    return {
        "first_at": case((excluded.first_at.is_(None), table.c.first_at),
                         (or_(table.c.first_at.is_(None), excluded.first_at < table.c.first_at), excluded.first_at),
                         else_=table.c.first_at),
        "last_at": case((new_later, excluded.last_at), else_=table.c.last_at),
        "last_message": case((new_later, excluded.last_message), else_=table.c.last_message),
    }


def upsert_rows(conn: Connection, level: Level, rows: list[dict[str, Any]]) -> None:
    """Add rows (keys, measures and, for a latest level, seen columns) into a level: one multi-row upsert."""
    if not rows:
        return
    table = level.table
    stmt = (pg_insert if conn.dialect.name == "postgresql" else sqlite_insert)(table)
    stmt = stmt.on_conflict_do_update(index_elements=list(level.keys), set_=conflict_set(level, table, stmt.excluded))
    # Sorted keys give every writer the same lock order, so concurrent batches cannot deadlock; RETURNING lets
    # SQLAlchemy send the rows as one multi-row upsert.
    rows.sort(key=lambda r: tuple(r[k] for k in level.keys))
    conn.execute(stmt.returning(table.c[level.measures[0].name]), rows).all()


def level_rows(family: Family, level: Level, base_rows: Mapping[BaseKey, Mapping[str, Any]],
               seen: Mapping[BaseKey, Seen] | None = None, *,
               seen_levels: Mapping[str, Mapping[tuple[Any, ...], Seen]] | None = None) -> list[dict[str, Any]]:
    """A level's rows for these base rows (base key -> source values): measures combined, seen values merged.
    `seen_levels` is seen_by_level() of the same rows when the caller made it already (once for every level)."""
    key_of = level.key_from(family.base)
    names = level.keys
    base_keys = family.base.keys
    # A measure reads its source from the base row's values, or from its key (totals' first_seen is the bucket).
    measures = [(m.name, m.how, m.source, base_keys.index(m.source) if m.source in base_keys else -1)
                for m in level.measures]
    merged: dict[BaseKey, dict[str, Any]] = {}
    for key, values in base_rows.items():
        level_key = key_of(key)
        row = merged.get(level_key)
        if row is None:
            row = merged[level_key] = dict(zip(names, level_key, strict=True))
            for name, _, source, at in measures:
                row[name] = key[at] if at >= 0 and source not in values else values[source]
            continue
        for name, how, source, at in measures:
            value = key[at] if at >= 0 and source not in values else values[source]
            if how == "sum":
                row[name] += value
            elif how == "min":
                if value < row[name]:
                    row[name] = value
            elif value > row[name]:
                row[name] = value
    if level.latest:
        if seen_levels is None:
            seen_levels = seen_by_level(family, {k: v for k, v in (seen or {}).items() if k in base_rows})
        by_level = seen_levels[level.name]
        for level_key, row in merged.items():
            row.update(zip(SEEN_COLUMNS, by_level.get(level_key) or (None, None, None), strict=True))
    return list(merged.values())


def write_levels(conn: Connection, family: Family, base_rows: Mapping[BaseKey, Mapping[str, Any]],
                 seen: Mapping[BaseKey, Seen] | None = None) -> None:
    """Apply base rows to every level of the family, one multi-row upsert per level."""
    seen_levels = None
    if any(level.latest for level in family.levels):
        seen_levels = seen_by_level(family, {k: v for k, v in (seen or {}).items() if k in base_rows})
    for level in family.levels:
        upsert_rows(conn, level, level_rows(family, level, base_rows, seen, seen_levels=seen_levels))


# ------------------------------------------------------------------ PostgreSQL: one statement per family

_PG_ARRAY = {Boolean: ARRAY(Boolean), Integer: ARRAY(Integer), DateTime: ARRAY(DateTime(timezone=True))}
_UTC: Any = literal_column("'UTC'")
_TRUNC: dict[str, Any] = {grain: literal_column("'" + grain + "'") for grain in ("hour", "day", "week")}


def _array_type(column: Any) -> Any:
    for base, array in _PG_ARRAY.items():
        if isinstance(column.type, base) or isinstance(getattr(column.type, "impl", None), base):
            return array
    return ARRAY(Text)


def _flag(level: Level) -> str:
    return "latest_" + level.name


def param_columns(family: Family) -> list[str]:
    """The base columns the family statement receives as arrays, in order (latest flags last)."""
    base = family.base
    sources = [m.source for lv in family.levels for m in lv.measures if m.source not in base.keys]
    return [*base.keys, *dict.fromkeys(sources), *(SEEN_COLUMNS if base.latest else ()),
            *(_flag(lv) for lv in family.latest_levels)]


def family_statement(family: Family) -> Executable:
    """One statement applying base rows sent as arrays to every level of the family (PostgreSQL)."""
    base = family.base
    columns = param_columns(family)
    types = {c: (ARRAY(Boolean) if c.startswith("latest_") else _array_type(base.table.c[c])) for c in columns}
    arrays = [cast(bindparam(c), types[c]) for c in columns]
    deltas = select(func.unnest(*arrays).table_valued(*columns).render_derived(name="d")).cte("d")
    d = deltas.c
    writes = []
    for level in family.levels:
        keys: list[Any] = [d.tenant_id] if level.per_tenant else []
        if level.grain:
            bucket: Any = d.bucket
            if level.grain != base.grain:
                bucket = func.timezone(_UTC, func.date_trunc(_TRUNC[level.grain], func.timezone(_UTC, d.bucket)))
            keys.append(bucket)
        keys += [d[dim] for dim in level.dims]
        aggregates: list[Any] = [getattr(func, m.how)(d[m.source]) for m in level.measures]
        names = [*level.keys, *(m.name for m in level.measures)]
        if level.latest:
            message: Any = func.max(d.last_message)
            if level is not base:  # the base row flagged as this level row's latest (family_params)
                message = message.filter(d[_flag(level)])
            aggregates += [func.min(d.first_at), func.max(d.last_at), message]
            names += list(SEEN_COLUMNS)
        grouped = select(*keys, *aggregates).group_by(*keys).order_by(*keys)
        insert = pg_insert(level.table).from_select(names, grouped)
        insert = insert.on_conflict_do_update(index_elements=list(level.keys),
                                              set_=conflict_set(level, level.table, insert.excluded))
        writes.append(insert.returning(literal_column("1")).cte("w_" + level.name))
    # A data-modifying CTE runs to completion whether or not its RETURNING is read.
    return select(func.count()).select_from(writes[0]).add_cte(*writes[1:])


def family_params(family: Family, base_rows: Mapping[BaseKey, Mapping[str, Any]],
                  seen: Mapping[BaseKey, Seen] | None = None) -> dict[str, list[Any]]:
    """The arrays of family_statement for these base rows: sorted by key (every writer's lock order), and per
    derived latest level a flag on the base row holding that level row's latest failure."""
    base = family.base
    columns = param_columns(family)
    params: dict[str, list[Any]] = {c: [] for c in columns}
    value_columns = [c for c in columns if c not in base.keys and c not in SEEN_COLUMNS and not c.startswith("latest_")]
    latest_levels = family.latest_levels
    best: list[dict[BaseKey, tuple[Any, Any, int]]] = [{} for _ in latest_levels]
    seen = seen or {}
    key_functions = [level.key_from(base) for level in latest_levels]
    for i, key in enumerate(sorted(base_rows)):
        values = base_rows[key]
        for col, value in zip(base.keys, key, strict=True):
            params[col].append(value)
        for col in value_columns:
            params[col].append(values[col])
        value = seen.get(key)
        if base.latest:
            for col, v in zip(SEEN_COLUMNS, value or (None, None, None), strict=True):
                params[col].append(v)
        for level in latest_levels:
            params[_flag(level)].append(False)
        if value is None:
            continue
        for key_of, held_by in zip(key_functions, best, strict=True):
            level_key = key_of(key)
            held = held_by.get(level_key)
            if is_later((value[1], value[2]), held[:2] if held else None):
                held_by[level_key] = (value[1], value[2], i)
    for level, held_by in zip(latest_levels, best, strict=True):
        for _last, _message, i in held_by.values():
            params[_flag(level)][i] = True
    return params


def base_rows_of(keys: Sequence[str], rows: Iterable[Mapping[str, Any]], measures: Sequence[str]
                 ) -> dict[BaseKey, dict[str, Any]]:
    """Base rows keyed by `keys` from mappings holding those keys and the measure columns."""
    return {tuple(r[k] for k in keys): {m: r[m] for m in measures} for r in rows}
