"""Promote a candidate pattern into the catalog and re-match the past unmatched failures it covers.

Everything runs in the caller's transaction: the new entry, the re-matched rows and the rollup moves
(unmatched key -> matched key) commit together or not at all.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import Select, and_, bindparam, or_, select
from sqlalchemy.engine import Connection

from core.schema import catalog_entries
from core.schema import failure_matches as fm
from core.types import utcnow
from core.vocabulary import severity_rank
from loaders.catalog.file import CODE_RE, CatalogEntry, CatalogError, validate_entry
from loaders.catalog.matcher import UNKNOWN_CODE, Matcher, MatchResult
from loaders.catalog.signature import normalise_message
from queries.failures.listing import same_partition
from queries.groups.store import apply_group_deltas, group_deltas, remove_from_groups
from queries.rollups.failures import RollupKey, apply_rollup_deltas, rollup_key
from queries.rollups.levels import Seen, add_seen
from queries.rollups.seen import refresh_seen
from queries.rollups.signatures import (
    SignatureDelta,
    SignatureKey,
    add_signature_delta,
    remove_from_signature_rollups,
)

BATCH_SIZE = 500

# Placeholders written by loaders.catalog.signature.normalise_message, and what each stood for.
PLACEHOLDER_REGEX = {
    "url": r"\S+",
    "email": r"\S+@\S+",
    "uuid": r"[0-9a-fA-F-]{32,36}",
    "str": r"(?:'[^']*'|\"[^\"]*\"|`[^`]*`|‘[^’]*’|“[^”]*”)",
    "id": r"[A-Za-z0-9_-]+",
    "host": r"\S+",
    "duration": r"\d+(?:\.\d+)?\s?[a-z]+",
    "path": r"\S+",
    "ip": r"\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?",
    "hex": r"(?:0x)?[0-9a-fA-F]+",
    "time": r"\S+(?:[ T]\S+)?",
    "n": r"[-+]?\d+(?:\.\d+)?",
}
_PLACEHOLDER = re.compile(r"<(" + "|".join(PLACEHOLDER_REGEX) + r")>")


class PromotionError(ValueError):
    """The entry cannot be promoted; the message names the field (code, pattern, ...)."""


@dataclass
class PromotionResult:
    """What a promotion did: the new entry and how many past failures it re-matched (per tenant)."""

    entry_id: int
    code: str
    scanned: int = 0
    rematched: int = 0
    by_tenant: dict[str, int] = field(default_factory=dict)

    def rematched_for(self, tenant_id: str | None) -> int:
        """Re-matched count visible to a tenant scope (None = all tenants)."""
        return self.rematched if tenant_id is None else self.by_tenant.get(tenant_id, 0)


def template_to_regex(template: str) -> str:
    """A regex from a normalised template: literal text escaped, placeholders turned into wildcards."""
    parts: list[str] = []
    pos = 0
    for m in _PLACEHOLDER.finditer(template):
        parts.append(_literal(template[pos:m.start()]))
        parts.append(PLACEHOLDER_REGEX[m.group(1)])
        pos = m.end()
    parts.append(_literal(template[pos:]))
    return "".join(parts).strip()


def _literal(text: str) -> str:
    # The template collapsed whitespace to single spaces, so any run of whitespace matches.
    return r"\s+".join(re.escape(chunk) for chunk in re.split(r"\s+", text))


def build_entry(raw: dict[str, Any], *, created_by: str) -> CatalogEntry:
    """Validate a promotion form into a CatalogEntry, with messages that name the field."""
    code = str(raw.get("code") or "").strip().upper()
    if not CODE_RE.match(code):
        raise PromotionError(
            f"code {code!r} must be UPPER_SNAKE_CASE: a letter, then letters, digits or _ (2-128 characters)"
        )
    if code == UNKNOWN_CODE:
        raise PromotionError("code UNKNOWN is reserved for unmatched failures")
    patterns = [p for p in (str(x).strip() for x in raw.get("patterns") or ()) if p]
    keywords = [k for k in (str(x).strip().lower() for x in raw.get("keywords") or ()) if k]
    for pattern in patterns:
        try:
            compiled = re.compile(pattern, re.IGNORECASE)
        except re.error as exc:
            raise PromotionError(f"pattern {pattern!r} is not a valid regular expression: {exc}") from exc
        if compiled.search("") is not None:
            raise PromotionError(f"pattern {pattern!r} matches an empty message, so it would match every failure")
    if not patterns and not keywords:
        raise PromotionError("give at least one pattern or keyword, or the entry can only match by code")
    try:
        return validate_entry(
            {**raw, "code": code, "patterns": patterns, "keywords": keywords, "created_by": created_by},
            where="new entry",
        )
    except CatalogError as exc:
        raise PromotionError(str(exc)) from exc


def promote_entry(
    conn: Connection, *, entry: CatalogEntry | dict[str, Any], created_by: str, batch_size: int = BATCH_SIZE
) -> PromotionResult:
    """Insert the entry (created_by = the admin) and re-match past unmatched failures, in conn's transaction."""
    created_by = (created_by or "").strip()
    if not created_by:
        raise PromotionError("created_by is required")
    if isinstance(entry, dict):
        entry = build_entry(entry, created_by=created_by)
    exists = conn.execute(select(catalog_entries.c.id).where(catalog_entries.c.code == entry.code)).first()
    if exists is not None:
        raise PromotionError(f"code {entry.code} is already in the catalog")
    row = {**entry.as_row(), "created_by": created_by}
    entry_id = int(conn.execute(
        catalog_entries.insert().values(**row, created_at=utcnow()).returning(catalog_entries.c.id)
    ).scalar_one())
    stored = replace(entry, id=entry_id, created_by=created_by)
    result = PromotionResult(entry_id=entry_id, code=stored.code)
    rematch_unmatched(conn, entry=stored, result=result, batch_size=batch_size)
    return result


def _new_values(entry: CatalogEntry, match: MatchResult | None) -> dict[str, Any]:
    """The columns a re-match rewrites (the signature too: it includes the stored code, which changes)."""
    return {
        "catalog_entry_id": entry.id,
        "match_type": match.match_type if match else "none",
        "confidence": match.confidence if match else 0.0,
        "match_reason": f"{match.reason} (re-matched when {entry.code} was added)"[:400] if match else "",
        "signature": match.signature if match else "",
        "category": entry.category,
        "severity": entry.severity,
        "severity_rank": severity_rank(entry.severity),
        "recovery_mode": entry.recovery_mode,
        "recovery_suggestion": entry.recovery_suggestions[0] if entry.recovery_suggestions else None,
        "is_retryable": entry.is_retryable,
        "error_code": match.error_code if match else "",
    }


def unmatched_batch_query(*, after: tuple[Any, ...] | None, batch_size: int = BATCH_SIZE) -> Select:
    """One keyset batch of unmatched failures after (tenant_id, created_at, id), in ix_fm_unmatched order."""
    cols = [fm.c.id, fm.c.tenant_id, fm.c.created_at, fm.c.error_code, fm.c.error_message, fm.c.category,
            fm.c.severity, fm.c.recovery_mode, fm.c.catalog_entry_id, fm.c.recovery_attempted,
            fm.c.recovery_succeeded, fm.c.version, fm.c.signature]
    query = select(*cols).where(fm.c.catalog_entry_id.is_(None))
    if after is not None:
        t, c, i = after
        query = query.where(or_(
            fm.c.tenant_id > t,
            and_(fm.c.tenant_id == t, fm.c.created_at > c),
            and_(fm.c.tenant_id == t, fm.c.created_at == c, fm.c.id > i),
        ))
    return query.order_by(fm.c.tenant_id, fm.c.created_at, fm.c.id).limit(batch_size)


def rematch_unmatched(
    conn: Connection, *, entry: CatalogEntry, result: PromotionResult, batch_size: int = BATCH_SIZE
) -> None:
    """Scan unmatched failures (partial index ix_fm_unmatched) in keyset batches and apply `entry`."""
    matcher = Matcher([entry])
    update = (
        fm.update()
        .where(fm.c.id == bindparam("b_id"), fm.c.version == bindparam("b_version"), *same_partition(conn))
        .values({k: bindparam(k) for k in (*_new_values(entry, None).keys(), "version", "updated_at")})
    )
    last: tuple[Any, ...] | None = None
    deltas: dict[RollupKey, Counter] = {}
    moved_in: dict[RollupKey, Seen] = {}  # the rows' times and messages join their new keys
    left_unmatched: dict[SignatureKey, SignatureDelta] = {}  # re-matched rows leave the unmatched set
    left_groups: list[dict[str, Any]] = []  # the rows as they were (their old group) ...
    joined_groups: list[dict[str, Any]] = []  # ... and as they are now (their new one)
    while True:
        query = unmatched_batch_query(after=last, batch_size=batch_size)
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        rows = conn.execute(query).mappings().all()
        if not rows:
            break
        last = (rows[-1]["tenant_id"], rows[-1]["created_at"], rows[-1]["id"])
        result.scanned += len(rows)
        now = utcnow()
        params = []
        for r in rows:
            code = None if r["error_code"] == UNKNOWN_CODE else r["error_code"]
            m = matcher.match(code, r["error_message"])
            if m.entry is None:
                continue
            values = _new_values(entry, m)
            params.append({**values, "b_id": r["id"], "b_created": r["created_at"], "b_version": r["version"],
                           "version": r["version"] + 1, "updated_at": now})
            new_key = rollup_key({**r, **values})
            old = deltas.setdefault(rollup_key(r), Counter())
            new = deltas.setdefault(new_key, Counter())
            add_seen(moved_in, new_key, r["created_at"], r["error_message"])
            for counter, sign in ((old, -1), (new, 1)):
                counter["failures"] += sign
                counter["recovery_attempts"] += sign * int(bool(r["recovery_attempted"]))
                counter["recovery_successes"] += sign * int(bool(r["recovery_succeeded"]))
            result.by_tenant[r["tenant_id"]] = result.by_tenant.get(r["tenant_id"], 0) + 1
            add_signature_delta(left_unmatched, r, -1)
            left_groups.append(dict(r))
            joined_groups.append({**r, **values})
        if params:
            conn.execute(update, params)
            result.rematched += len(params)
        if len(rows) < batch_size:
            break
    apply_rollup_deltas(conn, deltas, moved_in)
    # The keys the rows left may have had their first, last or latest failure among them.
    refresh_seen(conn, [key for key, counts in deltas.items() if counts["failures"] < 0])
    remove_from_signature_rollups(conn, left_unmatched)
    # A re-matched failure changes code, so signature and group: it leaves one group and joins another (a move,
    # not a new failure: no group reopens for it).
    remove_from_groups(conn, group_deltas(left_groups))
    apply_group_deltas(conn, group_deltas(joined_groups), now=utcnow(), title_of=normalise_message, reopen=False)


def suggest_code(template: str, category: str | None = None, *, words: int = 3) -> str:
    """A starting code for the form: the category and the first few words of the template, UPPER_SNAKE_CASE."""
    text = _PLACEHOLDER.sub(" ", template or "")
    picked = [w.upper() for w in re.findall(r"[A-Za-z][A-Za-z0-9]{2,}", text)[:words]]
    prefix = re.sub(r"[^A-Z0-9]+", "_", (category or "").upper()).strip("_")
    code = "_".join([p for p in (prefix, *picked) if p])[:64].strip("_")
    return code if CODE_RE.match(code) else "NEW_PATTERN"


def examples_covered(entry: CatalogEntry, examples: list[str]) -> int:
    """How many of a candidate's example messages the entry would match (same rules as ingest)."""
    matcher = Matcher([entry])
    return sum(matcher.match(None, message).entry is not None for message in examples)
