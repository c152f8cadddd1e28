"""Candidate patterns: unmatched failures grouped by signature, for promotion into the catalog."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import pandas as pd
from sqlalchemy import and_, func, select
from sqlalchemy.engine import Connection

from core.schema import failure_matches as fm
from loaders.signature import normalise_message

MAX_EXAMPLES = 3
# Lists per candidate (codes, skills, tenants) are capped so one noisy signature cannot blow up a document.
MAX_LIST = 50
MAX_LIMIT = 1000

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


def suggest_category(template: str) -> tuple[str, str]:
    """Guess (category, recovery_mode) for a message template from the words in it."""
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
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        cond.append(fm.c.created_at >= start)
    if end is not None:
        if end.tzinfo is None:
            raise ValueError("end must be timezone-aware")
        cond.append(fm.c.created_at < end)
    return cond


def _grouped_lists(conn: Connection, column: Any, cond: list[Any], signatures: list[str]) -> dict[str, list]:
    """Distinct values of `column` per signature, most frequent first, capped at MAX_LIST."""
    n = func.count().label("n")
    rows = conn.execute(
        select(fm.c.signature, column.label("value"), n)
        .where(and_(*cond, fm.c.signature.in_(signatures), column.is_not(None)))
        .group_by(fm.c.signature, column)
        .order_by(fm.c.signature, n.desc(), column)
    ).all()
    out: dict[str, list] = {s: [] for s in signatures}
    for sig, value, _n in rows:
        if len(out[sig]) < MAX_LIST:
            out[sig].append(value)
    return out


def _examples(conn: Connection, cond: list[Any], signatures: list[str]) -> dict[str, list[str]]:
    """Up to MAX_EXAMPLES distinct messages per signature, most recent first."""
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


def candidate_groups_query(*, tenant_id: str | None, start: datetime | None, end: datetime | None,
                           min_occurrences: int = 3, limit: int = 100) -> Any:
    """The GROUP BY signature over unmatched failures (occurrences, first/last seen), most frequent first."""
    occurrences = func.count().label("occurrences")
    return (
        select(
            fm.c.signature,
            occurrences,
            func.min(fm.c.created_at).label("first_seen"),
            func.max(fm.c.created_at).label("last_seen"),
        )
        .where(and_(*_conditions(tenant_id, start, end)))
        .group_by(fm.c.signature)
        .having(func.count() >= max(1, int(min_occurrences)))
        .order_by(occurrences.desc(), fm.c.signature)
        .limit(max(1, min(int(limit), MAX_LIMIT)))
    )


def get_candidate_patterns(
    conn: Connection,
    *,
    tenant_id: str | None,
    start: datetime | None,
    end: datetime | None,
    min_occurrences: int = 3,
    limit: int = 100,
) -> pd.DataFrame:
    """One row per unmatched signature with >= min_occurrences in [start, end), most frequent first.

    Columns: signature, template, error_codes, occurrences, affected_skills, tenants, examples,
    first_seen, last_seen (UTC), suggested_category, suggested_recovery_mode.
    """
    cond = _conditions(tenant_id, start, end)
    groups = conn.execute(candidate_groups_query(tenant_id=tenant_id, start=start, end=end,
                                                 min_occurrences=min_occurrences, limit=limit)).all()
    if not groups:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in COLUMNS}).astype(
            {"occurrences": "int64", "first_seen": "datetime64[ns, UTC]", "last_seen": "datetime64[ns, UTC]"}
        )
    signatures = [g.signature for g in groups]
    codes = _grouped_lists(conn, fm.c.error_code, cond, signatures)
    skills = _grouped_lists(conn, fm.c.skill_id, cond, signatures)
    tenants = _grouped_lists(conn, fm.c.tenant_id, cond, signatures)
    examples = _examples(conn, cond, signatures)
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
            "affected_skills": skills[g.signature],
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
