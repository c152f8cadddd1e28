"""UTC time buckets: the hours, days and weeks (Monday 00:00) that rollups, partitions and charts are cut into."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

Grain = Literal["hour", "day", "week"]
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
WEEK = timedelta(days=7)
SPAN: dict[str, timedelta] = {"hour": HOUR, "day": DAY, "week": WEEK}


def hour_floor(ts: datetime) -> datetime:
    """The start of ts's UTC hour."""
    return ts.replace(minute=0, second=0, microsecond=0)


def day_floor(ts: datetime) -> datetime:
    """The start of ts's UTC day."""
    return ts.replace(hour=0, minute=0, second=0, microsecond=0)


def week_floor(ts: datetime) -> datetime:
    """The start (Monday 00:00 UTC) of ts's week."""
    day = day_floor(ts)
    return day - timedelta(days=day.weekday())


FLOOR = {"hour": hour_floor, "day": day_floor, "week": week_floor}


def floor(ts: datetime, grain: str) -> datetime:
    """The start of ts's bucket of that grain."""
    return FLOOR[grain](ts)


def ceil(ts: datetime, grain: str) -> datetime:
    """The first bucket start of that grain at or after ts."""
    start = FLOOR[grain](ts)
    return start if start == ts else start + SPAN[grain]


def hour_ceil(ts: datetime) -> datetime:
    """The first whole UTC hour at or after ts."""
    return ceil(ts, "hour")


def day_ceil(ts: datetime) -> datetime:
    """The first UTC midnight at or after ts."""
    return ceil(ts, "day")


def week_ceil(ts: datetime) -> datetime:
    """The first Monday 00:00 UTC at or after ts."""
    return ceil(ts, "week")
