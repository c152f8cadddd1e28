"""Overview aggregates from the rollup levels (never raw rows): summary, rate series, top codes, modes, health."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import ColumnElement, Integer, bindparam, case, func, select
from sqlalchemy.engine import Connection

from core.schema import failure_pattern_exports as fpe
from core.schema import failure_rollups_tenant_hourly as frth
from queries.rollups.reads import rollup_conditions, rollup_source, rollup_source_params, rollup_source_shape
from queries.sql import memo_statement

HIT_RATE_ALERT = 0.70  # original guide: hit rate panel alert below 70%
MISS_RATE_ALERT = 0.30  # FailureCatalogMissRateHigh: miss_rate > 30%
RECOVERY_ALERT = 0.50  # RecoverySuccessRateLow: success_rate < 50%
CANARY_MAX_MISS = 0.15  # canary: miss rate <= 15%
CANARY_MIN_RECOVERY = 0.60  # canary: recovery success >= 60%

SUMMARY_COLUMNS = ["failures", "matched", "unmatched", "recovery_attempts", "recovery_successes",
                   "hit_rate", "miss_rate", "recovery_success_rate"]


def _where(tenant_id: str | None, start: datetime, end: datetime) -> list[ColumnElement[bool]]:
    """Conditions on the per tenant-hour level (totals and rate series need no code dimension)."""
    return rollup_conditions(tenant_id=tenant_id, start=start, end=end, table=frth)


def _counts(fr=frth) -> list:
    return [
        func.coalesce(func.sum(fr.c.failures), 0).label("failures"),
        func.coalesce(func.sum(case((fr.c.matched.is_(True), fr.c.failures), else_=0)), 0).label("matched"),
        func.coalesce(func.sum(fr.c.recovery_attempts), 0).label("recovery_attempts"),
        func.coalesce(func.sum(fr.c.recovery_successes), 0).label("recovery_successes"),
    ]


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan).astype("float64")


def add_rates(df: pd.DataFrame) -> pd.DataFrame:
    """Add unmatched, hit_rate, miss_rate and recovery_success_rate (NaN when the denominator is 0)."""
    # numpy on the four columns and one assign: column-by-column pandas arithmetic cost ~5 ms per call.
    f, m, a, s = (df[c].to_numpy(dtype="int64") for c in
                  ("failures", "matched", "recovery_attempts", "recovery_successes"))
    out = {c: df[c].array for c in df.columns}
    out.update(failures=f, matched=m, recovery_attempts=a, recovery_successes=s, unmatched=f - m,
               hit_rate=_ratio(m, f), miss_rate=_ratio(f - m, f), recovery_success_rate=_ratio(s, a))
    return pd.DataFrame(out, index=df.index)


def get_summary(conn: Connection, *, tenant_id: str | None, start: datetime, end: datetime) -> pd.DataFrame:
    """One row for [start, end): failures, matched, unmatched, recovery_attempts, recovery_successes, rates."""
    if tenant_id is None:  # the all-tenant levels have one row per code and bucket, not per tenant too
        src = rollup_source(tenant_id=None, start=start, end=end)
        row = conn.execute(select(*_counts(src))).mappings().one()
    else:
        row = conn.execute(select(*_counts()).where(*_where(tenant_id, start, end))).mappings().one()
    return add_rates(pd.DataFrame([dict(row)]))[SUMMARY_COLUMNS]


def get_rate_series(conn: Connection, *, tenant_id: str | None, start: datetime, end: datetime) -> pd.DataFrame:
    """Per hour bucket (UTC): bucket, failures, matched, unmatched, recovery counts and rates."""
    query = select(frth.c.bucket, *_counts()).where(*_where(tenant_id, start, end)).group_by(frth.c.bucket)
    return _series_frame(conn.execute(query.order_by(frth.c.bucket)).all())


def resample_series(df: pd.DataFrame, freq: str) -> pd.DataFrame:
    """Re-bucket an hourly series to `freq` ("h", "6h", "D", "W-MON") and recompute the rates."""
    if df.empty:
        return df
    counts = ["failures", "matched", "recovery_attempts", "recovery_successes"]
    out = df.set_index("bucket")[counts].resample(freq).sum().reset_index()
    return add_rates(out)


def get_top_codes(conn: Connection, *, tenant_id: str | None, start: datetime, end: datetime,
                  limit: int = 10) -> pd.DataFrame:
    """Most frequent error codes: error_code, category, matched (bool), failures; largest first."""
    return _top_codes_frame(conn.execute(_code_mode_query(tenant_id, start, end)).all(), limit)


def get_recovery_by_mode(conn: Connection, *, tenant_id: str | None, start: datetime, end: datetime) -> pd.DataFrame:
    """Per recovery mode ('' = none): recovery_mode, failures, recovery_attempts, recovery_successes, success_rate."""
    return _modes_frame(conn.execute(_code_mode_query(tenant_id, start, end)).all())


def get_overview(conn: Connection, *, tenant_id: str | None, start: datetime, end: datetime,
                 limit: int = 10) -> dict[str, pd.DataFrame]:
    """What the Overview draws, in two rollup reads: summary and previous (get_summary of this and the previous
    period of equal length), series (get_rate_series), top_codes (get_top_codes) and modes
    (get_recovery_by_mode); the same frames as those functions."""
    prev_start = start - (end - start)
    # Both statements are built once per shape (queries.sql): building them cost more than running them.
    hours_query = memo_statement(("overview.hours", tenant_id is None), lambda: _hours_query(tenant_id is not None))
    hours = conn.execute(hours_query, {"ov_start": prev_start, "ov_end": end, **(
        {"ov_tenant": tenant_id} if tenant_id is not None else {})}).all()
    current = [h for h in hours if h[0] >= start]
    previous = [h for h in hours if h[0] < start]
    codes_query = memo_statement(("overview.codes", rollup_source_shape(tenant_id=tenant_id, start=start, end=end)),
                                 lambda: _code_mode_query(tenant_id, start, end, bound=True))
    codes = conn.execute(codes_query, rollup_source_params(tenant_id=tenant_id, start=start, end=end)).all()
    return {"summary": _summary_frame(current), "previous": _summary_frame(previous),
            "series": _series_frame(current), "top_codes": _top_codes_frame(codes, limit),
            "modes": _modes_frame(codes)}


_COUNTS = ("failures", "matched", "recovery_attempts", "recovery_successes")
# Rows are read as plain tuples (faster than mappings): the hour reads are (bucket, *_COUNTS), the code reads
# (error_code, recovery_mode, category, any_matched, *_COUNTS).
_CODE, _MODE, _CATEGORY, _ANY_MATCHED, _CODE_COUNTS = range(5)  # _CODE_COUNTS: where the counts start


def _summary_frame(rows: Sequence[Any]) -> pd.DataFrame:
    totals = [0, 0, 0, 0]
    for r in rows:
        for i in range(4):
            totals[i] += int(r[i + 1] or 0)
    frame = _rates_frame({c: [n] for c, n in zip(_COUNTS, totals, strict=True)})
    return frame.reindex(columns=SUMMARY_COLUMNS, copy=False) if list(frame.columns) != SUMMARY_COLUMNS else frame


def _rates_frame(columns: dict[str, list[Any]]) -> pd.DataFrame:
    """A frame of the given columns plus the rate columns of add_rates, built in one construction."""
    f, m, a, s = (np.asarray(columns[c], dtype="int64") for c in _COUNTS)
    rates = {"failures": f, "matched": m, "unmatched": f - m, "recovery_attempts": a, "recovery_successes": s,
             "hit_rate": _ratio(m, f), "miss_rate": _ratio(f - m, f), "recovery_success_rate": _ratio(s, a)}
    return pd.DataFrame({**{k: v for k, v in columns.items() if k not in rates}, **rates})


def _series_frame(rows: Sequence[Any]) -> pd.DataFrame:
    columns: dict[str, Any] = {"bucket": pd.to_datetime(pd.Series([r[0] for r in rows], dtype=object), utc=True)}
    columns.update({c: [r[i + 1] for r in rows] for i, c in enumerate(_COUNTS)})
    return _rates_frame(columns)


def _hours_query(by_tenant: bool) -> Any:
    """Sums per tenant-hour bucket of [:ov_start, :ov_end) (one tenant's when by_tenant: :ov_tenant)."""
    cond = [frth.c.bucket >= bindparam("ov_start", type_=frth.c.bucket.type),
            frth.c.bucket < bindparam("ov_end", type_=frth.c.bucket.type)]
    if by_tenant:
        cond.append(frth.c.tenant_id == bindparam("ov_tenant", type_=frth.c.tenant_id.type))
    return select(frth.c.bucket, *_counts()).where(*cond).group_by(frth.c.bucket).order_by(frth.c.bucket)


def _code_mode_query(tenant_id: str | None, start: datetime, end: datetime, *, bound: bool = False) -> Any:
    """Sums per (error_code, recovery_mode) of the window: top codes and recovery modes come from one read.
    With `bound` its window is rollup_source_params' named parameters."""
    fr = rollup_source(tenant_id=tenant_id, start=start, end=end, bound=bound)
    return (select(fr.c.error_code, fr.c.recovery_mode, func.max(fr.c.category).label("category"),
                   func.max(func.cast(fr.c.matched, Integer)).label("any_matched"), *_counts(fr))
            .group_by(fr.c.error_code, fr.c.recovery_mode))


def _top_codes_frame(rows: Sequence[Any], limit: int) -> pd.DataFrame:
    codes: dict[str, list[Any]] = {}
    for r in rows:
        c = codes.setdefault(r[_CODE], [None, 0, 0])
        if r[_CATEGORY] is not None and (c[0] is None or r[_CATEGORY] > c[0]):
            c[0] = r[_CATEGORY]
        c[1] = max(c[1], int(r[_ANY_MATCHED] or 0))
        c[2] += int(r[_CODE_COUNTS] or 0)
    ranked = sorted(((code, *v) for code, v in codes.items() if v[2] > 0), key=lambda x: (-x[3], x[0]))[:limit]
    df = pd.DataFrame(ranked, columns=["error_code", "category", "matched", "failures"])
    df["matched"] = df["matched"].astype(bool)
    df["failures"] = df["failures"].astype("int64")
    return df


def _modes_frame(rows: Sequence[Any]) -> pd.DataFrame:
    modes: dict[str, list[int]] = {}
    for r in rows:
        m = modes.setdefault(r[_MODE], [0, 0, 0, 0])
        for i in range(4):
            m[i] += int(r[_CODE_COUNTS + i] or 0)
    # Most attempted first, then most failures (stable on the mode name for ties).
    ordered = sorted(modes.items(), key=lambda kv: (-kv[1][2], -kv[1][0], kv[0]))
    f, _m, a, s = (np.asarray([v[i] for _, v in ordered], dtype="int64") for i in range(4))
    return pd.DataFrame({
        "recovery_mode": pd.Series([k or "NONE" for k, _ in ordered], dtype=object),
        "failures": f, "recovery_attempts": a, "recovery_successes": s, "recovery_failures": a - s,
        "success_rate": _ratio(s, a),
    })


def count_export_fallbacks(conn: Connection, *, tenant_id: str | None, start: datetime, end: datetime) -> int:
    """Exports that fell back to local storage (status fallback_local) created in [start, end)."""
    def build() -> Any:
        query = select(func.count()).select_from(fpe).where(
            fpe.c.status == "fallback_local", fpe.c.created_at >= bindparam("fb_start", type_=fpe.c.created_at.type),
            fpe.c.created_at < bindparam("fb_end", type_=fpe.c.created_at.type))
        return query if tenant_id is None else query.where(fpe.c.tenant_id == bindparam("fb_tenant"))

    params = {"fb_start": start, "fb_end": end, **({} if tenant_id is None else {"fb_tenant": tenant_id})}
    return int(conn.execute(memo_statement(("overview.fallbacks", tenant_id is None), build), params).scalar_one())
