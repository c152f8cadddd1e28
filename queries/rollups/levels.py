"""The rollup levels, declared once: the table of each level, what its rows are keyed by, what they measure.

Two families of levels are kept in step with failure_matches, in the same transaction as every change:
- FAILURES: failures, recovery attempts and recoveries per tenant, UTC hour and code dimensions (the base level
  every change is expressed in), and coarser levels derived from it: per day, per tenant and hour without code
  dimensions, per hour and day over all tenants, and all-time totals per tenant;
- SIGNATURES: unmatched failures per tenant, UTC day, signature and code (the base), and per week (Catalog
  candidates);
- GROUPS: failures per tenant, UTC day and signature (the groups' sparklines and retention).

queries.rollups.upserts generates the PostgreSQL and SQLite writes from these declarations and
queries.rollups.reads the reads; nothing else names a level's columns.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import Table

from core.schema import (
    failure_group_daily,
    failure_rollups,
    failure_rollups_all,
    failure_rollups_daily,
    failure_rollups_daily_all,
    failure_rollups_tenant_hourly,
    failure_totals,
    unmatched_signature_daily,
    unmatched_signature_weekly,
)
from core.timebuckets import FLOOR

CODE_KEYS = ("error_code", "category", "severity", "recovery_mode", "matched")
COUNT_COLUMNS = ("failures", "recovery_attempts", "recovery_successes")
# The latest-message rule: a row's latest failure is the one with the greatest (time, message).
SEEN_COLUMNS = ("first_at", "last_at", "last_message")

Seen = tuple[datetime, datetime, str]  # (first_at, last_at, last_message)


@dataclass(frozen=True)
class Measure:
    """A column a level carries: the sum, earliest or latest of a base column (`source`) over the rows it covers."""

    name: str
    how: Literal["sum", "min", "max"]
    source: str


@dataclass(frozen=True)
class Level:
    """One rollup table: keyed by tenant (or not), a time bucket of `grain` (or none), and `dims`."""

    table: Table
    per_tenant: bool
    grain: Literal["hour", "day", "week"] | None
    dims: tuple[str, ...]
    measures: tuple[Measure, ...]
    latest: bool = False  # carries SEEN_COLUMNS, merged by the latest-message rule

    @property
    def name(self) -> str:
        """The table's name."""
        return self.table.name

    @property
    def keys(self) -> tuple[str, ...]:
        """The key columns in table order (the unique constraint's)."""
        return (*(("tenant_id",) if self.per_tenant else ()), *(("bucket",) if self.grain else ()), *self.dims)

    def key_of(self, base: Mapping[str, Any]) -> tuple[Any, ...]:
        """This level's key for a row of its family's base level (a mapping of base column -> value)."""
        out: list[Any] = [base["tenant_id"]] if self.per_tenant else []
        if self.grain:
            out.append(FLOOR[self.grain](base["bucket"]))
        out.extend(base[d] for d in self.dims)
        return tuple(out)

    def parts_of(self, base_key: tuple[Any, ...], base: Level) -> tuple[Any, ...]:
        """This level's key for a base level key tuple."""
        return self.key_from(base)(base_key)

    def key_from(self, base: Level) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
        """A function from a base level key tuple to this level's key (positions worked out once per pair of
        levels: ingest calls it for every base row of every level)."""
        return _key_function(self, base)


@functools.cache
def _key_function(level: Level, base: Level) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    if level is base:
        return _same
    positions = [base.keys.index(k) for k in level.keys]
    floor = FLOOR[level.grain] if level.grain and level.grain != base.grain else None
    bucket_at = level.keys.index("bucket") if floor else -1

    def key(base_key: tuple[Any, ...]) -> tuple[Any, ...]:
        parts = [base_key[i] for i in positions]
        if floor is not None:
            parts[bucket_at] = floor(parts[bucket_at])
        return tuple(parts)

    return key


def _same(key: tuple[Any, ...]) -> tuple[Any, ...]:
    return key


@dataclass(frozen=True)
class Family:
    """Levels kept from the same deltas: changes arrive at `base`, the other levels are derived from them."""

    base: Level
    derived: tuple[Level, ...]

    @property
    def levels(self) -> tuple[Level, ...]:
        """Every level, the base first."""
        return (self.base, *self.derived)

    @property
    def latest_levels(self) -> tuple[Level, ...]:
        """The derived levels that carry the latest-message columns."""
        return tuple(level for level in self.derived if level.latest)


def _counts() -> tuple[Measure, ...]:
    return tuple(Measure(c, "sum", c) for c in COUNT_COLUMNS)


HOURLY = Level(failure_rollups, True, "hour", CODE_KEYS, _counts(), latest=True)
DAILY = Level(failure_rollups_daily, True, "day", CODE_KEYS, _counts(), latest=True)
TENANT_HOURLY = Level(failure_rollups_tenant_hourly, True, "hour", ("matched",), _counts())
HOURLY_ALL = Level(failure_rollups_all, False, "hour", CODE_KEYS, _counts(), latest=True)
DAILY_ALL = Level(failure_rollups_daily_all, False, "day", CODE_KEYS, _counts(), latest=True)
# All time: the first and last hour a failure of the key was stored.
TOTALS = Level(failure_totals, True, None, CODE_KEYS,
               (*_counts(), Measure("first_seen", "min", "bucket"), Measure("last_seen", "max", "bucket")))
FAILURES = Family(HOURLY, (DAILY, TENANT_HOURLY, HOURLY_ALL, DAILY_ALL, TOTALS))

_SIGNATURE_MEASURES = (Measure("occurrences", "sum", "occurrences"), Measure("first_seen", "min", "first_seen"),
                       Measure("last_seen", "max", "last_seen"))
SIGNATURES_DAILY = Level(unmatched_signature_daily, True, "day", ("signature", "error_code"), _SIGNATURE_MEASURES)
SIGNATURES_WEEKLY = Level(unmatched_signature_weekly, True, "week", ("signature", "error_code"),
                          _SIGNATURE_MEASURES)
SIGNATURES = Family(SIGNATURES_DAILY, (SIGNATURES_WEEKLY,))
# Failures per group (tenant and signature) and UTC day: sparklines, and what retention rebuilds groups from.
GROUPS_DAILY = Level(failure_group_daily, True, "day", ("signature",),
                     (Measure("failures", "sum", "failures"), Measure("first_seen", "min", "first_seen"),
                      Measure("last_seen", "max", "last_seen")))
GROUPS = Family(GROUPS_DAILY, ())


def level_for(*, per_tenant: bool, grain: str) -> Level:
    """The FAILURES level with every code dimension at that grain, per tenant or over all tenants."""
    for level in FAILURES.levels:
        if level.per_tenant == per_tenant and level.grain == grain and level.dims == CODE_KEYS:
            return level
    raise LookupError(f"no failure rollup level for per_tenant={per_tenant}, grain={grain}")


def is_later(a: tuple[Any, Any], b: tuple[Any, Any] | None) -> bool:
    """The latest-message rule in Python: (last_at, last_message) a is later than b (None: nothing yet)."""
    return b is None or a > b


def add_seen(seen: dict[Any, Seen], key: Any, ts: datetime, message: str) -> None:
    """Merge one failure (created_at, message) into seen[key]."""
    old = seen.get(key)
    if old is None:
        seen[key] = (ts, ts, message)
        return
    first = ts if ts < old[0] else old[0]
    if is_later((ts, message), (old[1], old[2])):
        seen[key] = (first, ts, message)
    elif first is not old[0]:
        seen[key] = (first, old[1], old[2])


def merge_seen(a: Seen | None, b: Seen | None) -> Seen | None:
    """The seen values of two sets of failures taken together."""
    if a is None or b is None:
        return a if b is None else b
    last = b if is_later((b[1], b[2]), (a[1], a[2])) else a
    return (min(a[0], b[0]), last[1], last[2])


def seen_by_level(family: Family, base_seen: Mapping[tuple[Any, ...], Seen]) -> dict[str, dict[tuple[Any, ...], Seen]]:
    """The base level's seen values merged into the keys of every level that carries them, by table name."""
    out: dict[str, dict[tuple[Any, ...], Seen]] = {}
    for level in family.levels:
        if not level.latest:
            continue
        key_of = level.key_from(family.base)
        merged: dict[tuple[Any, ...], Seen] = {}
        out[level.name] = merged
        for key, value in base_seen.items():
            level_key = key_of(key)
            old = merged.get(level_key)
            merged[level_key] = value if old is None else merge_seen(old, value)  # type: ignore[assignment]
    return out


def levels_named(names: Iterable[str]) -> list[Level]:
    """The levels of both families with these table names."""
    wanted = set(names)
    return [lv for family in (FAILURES, SIGNATURES, GROUPS) for lv in family.levels if lv.name in wanted]
