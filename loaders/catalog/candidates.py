"""Candidate patterns: unmatched failures grouped by signature, for promotion into the catalog.

Counts, codes and tenants come from unmatched_signature_weekly (whole weeks), unmatched_signature_daily (the
whole days around them) and raw rows for the partial edge days; skills and examples from a bounded sample of
each candidate's latest raw rows.
"""
from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, or_, select, true, union_all
from sqlalchemy.engine import Connection

from core.schema import failure_matches as fm
from core.schema import unmatched_signature_daily as usd
from core.schema import unmatched_signature_weekly as usw
from core.timebuckets import day_ceil, day_floor, week_ceil, week_floor
from loaders.catalog.signature import normalise_message
from queries.sql import as_list, list_agg, listed_table

MAX_EXAMPLES = 3
# Lists per candidate (codes, skills, tenants) are capped so one noisy signature cannot blow up a document.
MAX_LIST = 50
MAX_LIMIT = 1000
# Skills and examples are read from the latest SAMPLE_ROWS unmatched failures of each candidate signature,
# so their cost does not grow with the window (the counts, codes and tenants come from the rollup).
SAMPLE_ROWS = 100
# The Catalog page previews candidates with a smaller sample (its load time is dominated by these rows).
PAGE_SAMPLE_ROWS = 10

COLUMNS = [
    "signature", "template", "error_codes", "occurrences", "affected_skills", "tenants", "examples",
    "first_seen", "last_seen", "suggested_category", "suggested_recovery_mode",
]

# Ordered: the first rule whose words occur in the template wins (specific before generic).
_SUGGESTIONS: list[tuple[re.Pattern[str], str, str]] = [
    (re.compile(r"\b(inject\w*|jailbreak|malicious|unsafe|exfiltrat\w*)\b", re.I), "SECURITY", "ABORT"),
    (re.compile(r"\b(rate[ -]?limit\w*|too many requests|429|quota|throttl\w*|budget)\b", re.I),
     "RATE_LIMIT", "RETRY_WITH_JITTER"),
    (re.compile(r"\b(permission|denied|forbidden|unauthori[sz]ed|401|403|eacces|access key|credential\w*)\b", re.I),
     "PERMISSION", "ESCALATE"),
    (re.compile(r"\b(timed? ?out|timeout|connection|connect|econn\w*|dns|resolve|socket|network|unreachable|"
                r"tls|ssl|reset by peer|broken pipe)\b", re.I), "TRANSIENT_NETWORK", "RETRY_EXPONENTIAL"),
    (re.compile(r"\b(context length|context window|max(imum)? tokens|content filter|model|completion|llm|"
                r"prompt)\b", re.I), "LLM", "FALLBACK"),
    (re.compile(r"\b(out of memory|oom|memory|disk full|no space|enospc|resource|exhaust\w*)\b", re.I),
     "RESOURCE", "CIRCUIT_BREAKER"),
    (re.compile(r"\b(checkpoint|snapshot|resume|restore)\b", re.I), "CHECKPOINT", "CHECKPOINT_RESTORE"),
    (re.compile(r"\b(database|deadlock|internal server error|bad gateway|service unavailable|50[0234]|"
                r"upstream)\b", re.I), "INFRASTRUCTURE", "CIRCUIT_BREAKER"),
    (re.compile(r"\b(invalid|validation|schema|required|missing field|must be|expected|malformed)\b", re.I),
     "VALIDATION", "ABORT"),
    (re.compile(r"\b(parse|decode|encoding|json|csv|corrupt\w*|not found|no such|keyerror|null)\b", re.I),
     "DATA", "SKIP"),
]
DEFAULT_SUGGESTION = ("TOOL", "MANUAL_INTERVENTION")


@functools.lru_cache(maxsize=4096)
def suggest_category(template: str) -> tuple[str, str]:
    """Guess (category, recovery_mode) for a message template from the words in it (cached: a page load asks
    for every candidate's template, and the same templates come back load after load)."""
    for pattern, category, mode in _SUGGESTIONS:
        if pattern.search(template or ""):
            return category, mode
    return DEFAULT_SUGGESTION


def _conditions(tenant_id: str | None, start: datetime | None, end: datetime | None) -> list[Any]:
    # Shapes the WHERE so that ix_fm_unmatched (tenant_id, created_at WHERE catalog_entry_id IS NULL) applies.
    cond: list[Any] = [fm.c.catalog_entry_id.is_(None)]
    if tenant_id:
        cond.append(fm.c.tenant_id == tenant_id)
    if start is not None:
        _check_aware(start, "start")
        cond.append(fm.c.created_at >= start)
    if end is not None:
        _check_aware(end, "end")
        cond.append(fm.c.created_at < end)
    return cond


def _check_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")


Range = tuple[datetime | None, datetime | None]


def split_window(start: datetime | None, end: datetime | None) -> tuple[list[Range], list[Range], list[Range]]:
    """[start, end) as whole UTC weeks read from the weekly rollup, whole UTC days around them read from the
    daily rollup and partial edge ranges read from raw rows (None = open side); a window inside one day is
    all raw."""
    lo = day_ceil(start) if start is not None else None
    hi = day_floor(end) if end is not None else None
    if lo is not None and hi is not None and lo > hi:
        return [], [], [(start, end)]
    raw: list[Range] = []
    if start is not None and lo is not None and start < lo:
        raw.append((start, lo))
    if end is not None and hi is not None and hi < end:
        raw.append((hi, end))
    if lo is not None and hi is not None and lo == hi:
        return [], [], raw
    first_week = week_ceil(lo) if lo is not None else None
    last_week = week_floor(hi) if hi is not None else None
    if first_week is not None and last_week is not None and first_week >= last_week:
        return [], [(lo, hi)], raw
    days: list[Range] = []
    if lo is not None and first_week is not None and lo < first_week:
        days.append((lo, first_week))
    if hi is not None and last_week is not None and last_week < hi:
        days.append((last_week, hi))
    return [(first_week, last_week)], days, raw


def _rollup_part(table: Any, tenant_id: str | None, lo: datetime | None, hi: datetime | None) -> Any:
    cond: list[Any] = [table.c.occurrences > 0]  # keys emptied by promotion are kept at 0 until deleted
    if tenant_id:
        cond.append(table.c.tenant_id == tenant_id)
    if lo is not None:
        cond.append(table.c.bucket >= lo)
    if hi is not None:
        cond.append(table.c.bucket < hi)
    return select(table.c.signature, table.c.tenant_id, table.c.error_code, table.c.occurrences.label("n"),
                  table.c.first_seen, table.c.last_seen).where(*cond)


def _sources(tenant_id: str | None, start: datetime | None, end: datetime | None) -> Any:
    """Rows (signature, tenant_id, error_code, n, first_seen, last_seen) that together cover the window's
    unmatched failures exactly: weekly rollup rows for whole weeks, daily ones for the whole days around them,
    raw rows grouped the same way for the partial edge days."""
    for value, name in ((start, "start"), (end, "end")):
        if value is not None:
            _check_aware(value, name)
    weeks, days, raw = split_window(start, end)
    parts: list[Any] = [_rollup_part(usw, tenant_id, lo, hi) for lo, hi in weeks]
    parts += [_rollup_part(usd, tenant_id, lo, hi) for lo, hi in days]
    for lo, hi in raw or ([] if parts else [(start, end)]):
        group = [fm.c.signature, fm.c.tenant_id, fm.c.error_code]
        parts.append(select(*group, func.count().label("n"), func.min(fm.c.created_at).label("first_seen"),
                            func.max(fm.c.created_at).label("last_seen"))
                     .where(*_conditions(tenant_id, lo, hi)).group_by(*group))
    return union_all(*parts) if len(parts) > 1 else parts[0]


def candidate_groups_query(*, tenant_id: str | None, start: datetime | None, end: datetime | None,
                           min_occurrences: int = 3, limit: int = 100) -> Any:
    """The GROUP BY signature over unmatched failures (occurrences, first/last seen), most frequent first.

    Whole UTC weeks come from unmatched_signature_weekly, the whole days around them from
    unmatched_signature_daily and the partial first/last day from raw rows, so the cost grows with the window's
    weeks and signatures, not with its failures.
    """
    src = _sources(tenant_id, start, end).subquery("candidate_src")
    occurrences = func.sum(src.c.n).label("occurrences")
    return (
        select(src.c.signature, occurrences, func.min(src.c.first_seen).label("first_seen"),
               func.max(src.c.last_seen).label("last_seen"))
        .group_by(src.c.signature)
        .having(func.sum(src.c.n) >= max(1, int(min_occurrences)))
        .order_by(occurrences.desc(), src.c.signature)
        .limit(max(1, min(int(limit), MAX_LIMIT)))
    )


def _latest_rows(conn: Connection, cond: list[Any], signatures: list[str], sample_rows: int | None = None
                 ) -> dict[str, list[tuple[str, str | None]]]:
    """Per signature, its latest sample_rows (default SAMPLE_ROWS) rows of the window (rows tied with the last
    one included) as (error_message, skill_id), newest first and, at equal times, by message."""
    sample_rows = max(1, int(sample_rows or SAMPLE_ROWS))
    out: dict[str, list[tuple[str, str | None]]] = {s: [] for s in signatures}
    if conn.dialect.name == "postgresql":
        # One LATERAL probe per signature: an ordered index range scan of (tenant_id, signature, created_at)
        # or, across tenants, of ix_fm_unmatched_signature_created, stopping after SAMPLE_ROWS rows. The
        # signatures are one array parameter, so the statement compiles once whatever their number; the
        # times stay in the database (ORDER BY), which spares converting thousands of timestamps.
        wanted = listed_table(conn, signatures, name="wanted")
        sample = (select(fm.c.created_at, fm.c.error_message, fm.c.skill_id)
                  .where(*cond, fm.c.signature == wanted.c.k)
                  .order_by(fm.c.created_at.desc())
                  .fetch(sample_rows, with_ties=True)
                  .lateral("sample"))
        rows = conn.execute(select(wanted.c.k, sample.c.error_message, sample.c.skill_id)
                            .select_from(wanted.join(sample, true()))
                            .order_by(wanted.c.k, sample.c.created_at.desc(), sample.c.error_message)).all()
        for sig, message, skill in rows:
            out[sig].append((message, skill))
        return out
    # SQLite has neither LATERAL nor WITH TIES: one small query per signature, bounded by the created_at
    # of its SAMPLE_ROWS-th latest row (the same index ranges).
    for sig in signatures:
        mine = [*cond, fm.c.signature == sig]
        boundary = (select(fm.c.created_at).where(*mine).order_by(fm.c.created_at.desc())
                    .limit(1).offset(sample_rows - 1).scalar_subquery())
        out[sig] = [(m, skill) for m, skill in conn.execute(
            select(fm.c.error_message, fm.c.skill_id)
            .where(*mine, or_(boundary.is_(None), fm.c.created_at >= boundary))
            .order_by(fm.c.created_at.desc(), fm.c.error_message))]
    return out


def _skills(sample: list[tuple[str, str | None]]) -> list[str]:
    counts = Counter(skill for _msg, skill in sample if skill is not None)
    return [s for s, _n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:MAX_LIST]


def _sample_examples(sample: list[tuple[str, str | None]]) -> list[str]:
    """The MAX_EXAMPLES most recently seen distinct messages of a newest-first sample."""
    return list(dict.fromkeys(message for message, _skill in sample))[:MAX_EXAMPLES]


def _examples(conn: Connection, cond: list[Any], signatures: list[str]) -> dict[str, list[str]]:
    """Up to MAX_EXAMPLES distinct messages per signature, most recent first (over all the window's rows)."""
    last = func.max(fm.c.created_at).label("last")
    per_message = (
        select(fm.c.signature, fm.c.error_message, last)
        .where(and_(*cond, fm.c.signature.in_(signatures)))
        .group_by(fm.c.signature, fm.c.error_message)
        .subquery()
    )
    rank = func.row_number().over(
        partition_by=per_message.c.signature,
        order_by=(per_message.c.last.desc(), per_message.c.error_message),
    ).label("rank")
    ranked = select(per_message.c.signature, per_message.c.error_message, rank).subquery()
    rows = conn.execute(
        select(ranked.c.signature, ranked.c.error_message)
        .where(ranked.c.rank <= MAX_EXAMPLES)
        .order_by(ranked.c.signature, ranked.c.rank)
    ).all()
    out: dict[str, list[str]] = {s: [] for s in signatures}
    for sig, message in rows:
        out[sig].append(message)
    return out


@dataclass(frozen=True)
class _Group:
    signature: str
    occurrences: int
    first_seen: Any
    last_seen: Any


def _grouped(conn: Connection, tenant_id: str | None, start: datetime | None, end: datetime | None,
             min_occurrences: int, limit: int) -> tuple[list[_Group], dict[str, list], dict[str, list]]:
    """The candidate groups (as candidate_groups_query) with their code and tenant lists (as
    _code_and_tenant_lists), from one read of the window's rows per (signature, tenant, code)."""
    src = _sources(tenant_id, start, end).subquery("candidate_src")
    keys = [src.c.signature, src.c.tenant_id, src.c.error_code]
    per = (select(*keys, func.sum(src.c.n).label("n"), func.min(src.c.first_seen).label("first_seen"),
                  func.max(src.c.last_seen).label("last_seen")).group_by(*keys).subquery("per_key"))
    # One row per signature, its (tenant, code, count) triples as lists: the database groups the window's rows,
    # Python only ranks the few tenants and codes of each signature.
    rows = conn.execute(select(per.c.signature, func.sum(per.c.n), func.min(per.c.first_seen),
                               func.max(per.c.last_seen), list_agg(conn, per.c.tenant_id),
                               list_agg(conn, per.c.error_code), list_agg(conn, per.c.n))
                        .group_by(per.c.signature)).all()
    per_sig: dict[str, list[Any]] = {}
    per_code: dict[str, dict[str, int]] = {}
    per_tenant: dict[str, dict[str, int]] = {}
    for sig, total, first, last, tenants, codes, counts in rows:
        per_sig[sig] = [int(total or 0), _utc(first), _utc(last)]
        by_code: dict[str, int] = per_code.setdefault(sig, {})
        by_tenant: dict[str, int] = per_tenant.setdefault(sig, {})
        for tenant, code, n in zip(as_list(tenants), as_list(codes), as_list(counts), strict=True):
            by_code[code] = by_code.get(code, 0) + int(n or 0)
            by_tenant[tenant] = by_tenant.get(tenant, 0) + int(n or 0)
    floor = max(1, int(min_occurrences))
    ranked = sorted((sig for sig, g in per_sig.items() if g[0] >= floor), key=lambda sig: (-per_sig[sig][0], sig))
    groups = [_Group(sig, *per_sig[sig]) for sig in ranked[:max(1, min(int(limit), MAX_LIMIT))]]

    def listed(counts: dict[str, int]) -> list[str]:
        return [v for v, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))][:MAX_LIST]

    return (groups, {g.signature: listed(per_code[g.signature]) for g in groups},
            {g.signature: listed(per_tenant[g.signature]) for g in groups})


def get_candidate_patterns(
    conn: Connection,
    *,
    tenant_id: str | None,
    start: datetime | None,
    end: datetime | None,
    min_occurrences: int = 3,
    limit: int = 100,
    sample_rows: int | None = None,
) -> pd.DataFrame:
    """One row per unmatched signature with >= min_occurrences in [start, end), most frequent first.

    Columns: signature, template, error_codes, occurrences, affected_skills, tenants, examples,
    first_seen, last_seen (UTC), suggested_category, suggested_recovery_mode.
    occurrences, first/last seen, error_codes and tenants cover every unmatched failure of the window;
    affected_skills come from the signature's latest sample_rows (default SAMPLE_ROWS) failures of the window
    (ties included).
    """
    groups, codes, tenants = _grouped(conn, tenant_id, start, end, min_occurrences, limit)
    if not groups:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS}).astype(
            {"occurrences": "int64", "first_seen": "datetime64[ns, UTC]", "last_seen": "datetime64[ns, UTC]"}
        )
    signatures = [g.signature for g in groups]
    cond = _conditions(tenant_id, start, end)
    samples = _latest_rows(conn, cond, signatures, sample_rows)
    examples = {s: _sample_examples(samples[s]) for s in signatures}
    # A sample with fewer distinct messages than wanted may miss older ones: those few signatures are
    # read in full (a signature whose message never varies, e.g. one without numbers or ids in it).
    short = [g.signature for g in groups
             if len(examples[g.signature]) < MAX_EXAMPLES and len(samples[g.signature]) < int(g.occurrences)]
    if short:
        scoped = cond if tenant_id else [*cond, fm.c.tenant_id.in_(sorted({t for s in short for t in tenants[s]}))]
        examples.update(_examples(conn, scoped, short))
    records = []
    for g in groups:
        sample = examples[g.signature]
        template = normalise_message(sample[0]) if sample else ""
        category, mode = suggest_category(template)
        records.append({
            "signature": g.signature,
            "template": template,
            "error_codes": codes[g.signature],
            "occurrences": int(g.occurrences),
            "affected_skills": _skills(samples[g.signature]),
            "tenants": tenants[g.signature],
            "examples": sample,
            "first_seen": _utc(g.first_seen),
            "last_seen": _utc(g.last_seen),
            "suggested_category": category,
            "suggested_recovery_mode": mode,
        })
    frame = pd.DataFrame.from_records(records, columns=COLUMNS)
    frame["first_seen"] = pd.to_datetime(frame["first_seen"], utc=True)
    frame["last_seen"] = pd.to_datetime(frame["last_seen"], utc=True)
    return frame


def _utc(value: Any) -> Any:
    # min()/max() over the TypeDecorator column may come back as text on SQLite.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value
