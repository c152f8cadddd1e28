"""Match a failure (code, message) against the catalog: exact code, then regex patterns, then keywords."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from core.schema import catalog_entries
from loaders.catalog_file import CatalogEntry
from loaders.signature import signature_of

UNKNOWN_CODE = "UNKNOWN"
CONFIDENCE = {"code": 1.0, "pattern": 0.9}
KEYWORD_BASE, KEYWORD_STEP, KEYWORD_MAX = 0.5, 0.1, 0.8


@dataclass(frozen=True)
class MatchResult:
    """Outcome of matching one failure; `entry` is None for a miss."""

    entry: CatalogEntry | None
    match_type: str  # code | pattern | keyword | none
    confidence: float
    error_code: str
    signature: str

    @property
    def matched(self) -> bool:
        """True when a catalog entry was found."""
        return self.entry is not None


def normalise_code(code: str | None) -> str | None:
    """Upper-case and trim a runtime's error code; blank means absent."""
    if code is None:
        return None
    code = str(code).strip().upper()
    return code or None


class Matcher:
    """A compiled view of the enabled catalog entries; build once, match many."""

    def __init__(self, entries: Iterable[CatalogEntry]) -> None:
        self.entries = [e for e in entries if e.enabled]
        self.by_code = {e.code: e for e in self.entries}
        self._patterns = [
            (e, re.compile("|".join(f"(?:{p})" for p in e.patterns), re.IGNORECASE))
            for e in self.entries
            if e.patterns
        ]
        # One alternation of every pattern answers "does anything match?" in a single pass,
        # so the common miss costs one search instead of one per entry.
        all_patterns = [f"(?:{p})" for e in self.entries for p in e.patterns]
        self._any_pattern = re.compile("|".join(all_patterns), re.IGNORECASE) if all_patterns else None
        self._keywords: dict[str, list[CatalogEntry]] = {}
        for e in self.entries:
            for kw in e.keywords:
                self._keywords.setdefault(kw, []).append(e)
        words = sorted(self._keywords, key=len, reverse=True)
        self._keyword_re = (
            re.compile(r"(?<!\w)(?:" + "|".join(re.escape(w) for w in words) + r")(?!\w)", re.IGNORECASE)
            if words
            else None
        )
        self._order = {e.code: i for i, e in enumerate(self.entries)}

    def match(self, error_code: str | None, message: str) -> MatchResult:
        """Match one failure; an absent code is stored as the entry's code, or UNKNOWN on a miss."""
        code = normalise_code(error_code)
        signature = signature_of(message)
        if code and code in self.by_code:
            return MatchResult(self.by_code[code], "code", CONFIDENCE["code"], code, signature)
        entry = self._match_pattern(message)
        if entry is not None:
            return MatchResult(entry, "pattern", CONFIDENCE["pattern"], code or entry.code, signature)
        entry, hits = self._match_keywords(message)
        if entry is not None:
            confidence = min(KEYWORD_MAX, KEYWORD_BASE + KEYWORD_STEP * hits)
            return MatchResult(entry, "keyword", round(confidence, 2), code or entry.code, signature)
        return MatchResult(None, "none", 0.0, code or UNKNOWN_CODE, signature)

    def _match_pattern(self, message: str) -> CatalogEntry | None:
        if self._any_pattern is None or not self._any_pattern.search(message):
            return None
        for entry, regex in self._patterns:
            if regex.search(message):
                return entry
        return None

    def _match_keywords(self, message: str) -> tuple[CatalogEntry | None, int]:
        if self._keyword_re is None:
            return None, 0
        found = {m.group(0).lower() for m in self._keyword_re.finditer(message)}
        if not found:
            return None, 0
        hits: dict[str, int] = {}
        for word in found:
            for entry in self._keywords[word]:
                hits[entry.code] = hits.get(entry.code, 0) + 1
        # An entry needs two of its keywords (or its only one) so a stray word does not match.
        eligible = [
            (n, -self._order[c], c) for c, n in hits.items() if n >= min(2, len(self.by_code[c].keywords))
        ]
        if not eligible:
            return None, 0
        n, _, code = max(eligible)
        return self.by_code[code], n


def entries_from_rows(rows: Iterable) -> list[CatalogEntry]:  # type: ignore[type-arg]
    """Build CatalogEntry objects from `catalog_entries` rows."""
    return [
        CatalogEntry(
            id=r.id,
            code=r.code,
            category=r.category,
            severity=r.severity,
            message=r.message,
            recovery_mode=r.recovery_mode,
            patterns=tuple(r.patterns or ()),
            keywords=tuple(r.keywords or ()),
            is_retryable=bool(r.is_retryable),
            recovery_suggestions=tuple(r.recovery_suggestions or ()),
            http_status=r.http_status,
            created_by=r.created_by,
            enabled=bool(r.enabled),
        )
        for r in rows
    ]


def load_matcher(bind: Engine | Connection) -> Matcher:
    """Build a Matcher from the enabled entries in the database (ordered by id = file order)."""
    query = select(catalog_entries).where(catalog_entries.c.enabled.is_(True)).order_by(catalog_entries.c.id)
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return Matcher(entries_from_rows(conn.execute(query)))
    return Matcher(entries_from_rows(bind.execute(query)))
