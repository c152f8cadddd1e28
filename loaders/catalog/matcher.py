"""Match a failure (code, message) against the catalog: exact code, then regex patterns, then keywords."""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from core.schema import catalog_entries
from loaders.catalog.file import DEFAULT_CATALOG, CatalogEntry, CatalogError, read_catalog_file
from loaders.catalog.signature import signature_of

try:  # the regex parser moved in Python 3.11; it is only used to find literals for the prefilter
    import re._parser as _sre_parse
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_parse as _sre_parse

log = logging.getLogger(__name__)

UNKNOWN_CODE = "UNKNOWN"
CONFIDENCE = {"code": 1.0, "pattern": 0.9}
KEYWORD_BASE, KEYWORD_STEP, KEYWORD_MAX = 0.5, 0.1, 0.8
# Regexes see at most the head and the tail of a huge message (tracebacks put the error last).
SCAN_HEAD, SCAN_TAIL = 6000, 2000
_WORD = re.compile(r"\w+")
GRAM, GRAM_SCAN_MAX = 4, 1500
CACHE_SIZE, CACHE_MAX_CHARS = 4096, 1000  # per Matcher: results of recently seen identical messages


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


def required_literals(pattern: str) -> frozenset[str] | None:
    """Lower-case strings one of which must occur in any text the pattern matches (None = unknown)."""
    try:
        return _required(_sre_parse.parse(pattern))
    except Exception:  # noqa: BLE001 - an unparsable pattern simply gets no prefilter
        return None


def _required(items: Iterable) -> frozenset[str] | None:
    candidates: list[frozenset[str]] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            candidates.append(frozenset({"".join(run)}))
            run.clear()

    for op, av in items:
        if op is _sre_parse.LITERAL and chr(av).isascii():
            run.append(chr(av).lower())
            continue
        flush()
        sub: frozenset[str] | None = None
        if op is _sre_parse.SUBPATTERN:
            sub = _required(av[-1])
        elif op is _sre_parse.BRANCH:
            alternatives = [_required(branch) for branch in av[1]]
            if all(alternatives):
                sub = frozenset().union(*alternatives)  # type: ignore[arg-type]
        elif op in (_sre_parse.MAX_REPEAT, _sre_parse.MIN_REPEAT) and av[0] >= 1:
            sub = _required(av[2])
        if sub:
            candidates.append(sub)
    flush()
    # The most selective requirement: the one whose weakest alternative is longest and not a word that
    # nearly every failure message contains (those would make the pattern run for most messages).
    return max(candidates, key=_selectivity) if candidates else None


COMMON_LITERALS = frozenset({
    "http", "https", "error", "errors", "failed", "fail", "not", "time", "timeout", "could not", "exceeded",
    "returned", "invalid", "running", "status", "connection", "server", "code", "request", "response", "for",
    "the", "to", "is", "was", "has", "been", "with", "unable", "cannot", "missing",
})


def _selectivity(alternatives: frozenset[str]) -> int:
    return min(2 if a.strip() in COMMON_LITERALS else len(a.strip()) for a in alternatives)


# Letters IGNORECASE matches to an ASCII letter that casefold() does not turn into exactly that letter.
_EXTRA_FOLD = str.maketrans({"\u0131": "i", "\u0130": "i"})


def fold(text: str) -> str:
    """Case-fold text so every ASCII literal a case-insensitive regex can match in it appears in it."""
    return text.translate(_EXTRA_FOLD).casefold()


class Matcher:
    """A compiled view of the enabled catalog entries; build once, match many."""

    def __init__(self, entries: Iterable[CatalogEntry]) -> None:
        self.entries = [e for e in entries if e.enabled]
        self.by_code = {e.code: e for e in self.entries}
        self._order = {e.code: i for i, e in enumerate(self.entries)}
        # Every pattern, in file order, as (entry, compiled regex). A pattern is only run when one of
        # its required literals is in the lower-cased message, so a miss costs one pass of cheap
        # substring checks and usually no regex at all; patterns without a literal always run.
        self._compiled: list[tuple[CatalogEntry, re.Pattern[str]]] = []
        self._by_literal: dict[str, list[int]] = {}
        self._always: list[int] = []
        for entry in self.entries:
            for pattern in entry.patterns:
                try:
                    regex = re.compile(pattern, re.IGNORECASE)
                except re.error as exc:  # a bad promoted pattern must not take the whole catalog down
                    log.warning("catalog entry %s: skipping bad pattern %r: %s", entry.code, pattern, exc)
                    continue
                index = len(self._compiled)
                self._compiled.append((entry, regex))
                needed = required_literals(pattern)
                if needed is None:
                    self._always.append(index)
                for literal in needed or ():
                    self._by_literal.setdefault(literal, []).append(index)
        self._literals = tuple(self._by_literal)
        # Literals indexed by their first GRAM characters: a short message is cut into its GRAM-grams once
        # and only the literals starting with one of them are looked up (much cheaper than testing all).
        self._by_gram: dict[str, list[str]] = {}
        for literal in self._literals:
            if len(literal) >= GRAM:
                self._by_gram.setdefault(literal[:GRAM], []).append(literal)
        self._gram_keys = frozenset(self._by_gram)
        self._short_literals = tuple(lit for lit in self._literals if len(lit) < GRAM)
        self._keywords: dict[str, list[CatalogEntry]] = {}
        for e in self.entries:
            for kw in dict.fromkeys(e.keywords):
                self._keywords.setdefault(kw.lower(), []).append(e)
        # Single words are looked up in the message's word set; phrases ("rate limit") need a regex.
        phrases = sorted((k for k in self._keywords if not _WORD.fullmatch(k)), key=len, reverse=True)
        self._cached_message_match = lru_cache(maxsize=CACHE_SIZE)(self._message_match)
        self._phrase_re = (
            re.compile(r"(?<!\w)(?:" + "|".join(re.escape(p) for p in phrases) + r")(?!\w)", re.IGNORECASE)
            if phrases
            else None
        )

    def match(self, error_code: str | None, message: str) -> MatchResult:
        """Match one failure; an absent code is stored as the entry's code, or UNKNOWN on a miss."""
        code = normalise_code(error_code)
        message = message or ""
        if code and code in self.by_code:
            return MatchResult(self.by_code[code], "code", CONFIDENCE["code"], code, signature_of(message))
        # Runtimes repeat many messages verbatim ("Connection error.", "Request timed out."): remember them.
        if len(message) <= CACHE_MAX_CHARS:
            entry, match_type, confidence, signature = self._cached_message_match(message)
        else:
            entry, match_type, confidence, signature = self._message_match(message)
        return MatchResult(entry, match_type, confidence, code or (entry.code if entry else UNKNOWN_CODE), signature)

    def _message_match(self, message: str) -> tuple[CatalogEntry | None, str, float, str]:
        signature = signature_of(message)
        if len(message) > SCAN_HEAD + SCAN_TAIL:
            message = message[:SCAN_HEAD] + "\n" + message[-SCAN_TAIL:]
        entry = self.match_pattern(message)
        if entry is not None:
            return entry, "pattern", CONFIDENCE["pattern"], signature
        entry, hits = self.match_keywords(message)
        if entry is not None:
            return entry, "keyword", round(min(KEYWORD_MAX, KEYWORD_BASE + KEYWORD_STEP * hits), 2), signature
        return None, "none", 0.0, signature

    def match_pattern(self, message: str) -> CatalogEntry | None:
        """The first entry, in catalog order, one of whose patterns matches the message."""
        lowered = message.lower() if message.isascii() else fold(message)
        candidates = set(self._always)
        by_literal = self._by_literal
        if len(lowered) <= GRAM_SCAN_MAX:
            grams = {lowered[i : i + GRAM] for i in range(len(lowered) - GRAM + 1)}
            for key in self._gram_keys.intersection(grams):
                for literal in self._by_gram[key]:
                    if literal in lowered:
                        candidates.update(by_literal[literal])
            literals: tuple[str, ...] = self._short_literals
        else:  # long texts: testing each literal is cheaper than cutting thousands of grams
            literals = self._literals
        for literal in literals:
            if literal in lowered:
                candidates.update(by_literal[literal])
        for index in sorted(candidates):
            entry, regex = self._compiled[index]
            if regex.search(message):
                return entry
        return None

    def match_keywords(self, message: str) -> tuple[CatalogEntry | None, int]:
        """The entry with most keywords in the message (ties: catalog order) and its keyword count."""
        if not self._keywords:
            return None, 0
        found = {w for w in _WORD.findall(message.lower()) if w in self._keywords}
        if self._phrase_re is not None:
            found.update(m.group(0).lower() for m in self._phrase_re.finditer(message))
        if not found:
            return None, 0
        hits: dict[str, int] = {}
        for word in found:
            for entry in self._keywords[word]:
                hits[entry.code] = hits.get(entry.code, 0) + 1
        # An entry needs two of its keywords (or its only one) so a stray word does not match.
        eligible = [
            (n, -self._order[c], c)
            for c, n in hits.items()
            if n >= min(2, len(set(self.by_code[c].keywords)))
        ]
        if not eligible:
            return None, 0
        n, _, code = max(eligible)
        return self.by_code[code], n


def entries_from_rows(rows: Iterable) -> list[CatalogEntry]:
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


@lru_cache(maxsize=4)
def _file_positions(path: str, mtime_ns: int) -> dict[str, int]:
    _version, entries = read_catalog_file(Path(path))
    return {e.code: i for i, e in enumerate(entries)}


def catalog_order(entries: list[CatalogEntry], path: Path | None = None) -> list[CatalogEntry]:
    """Entries in shipped-file order (first match wins), then the others (promoted) by id."""
    path = Path(path or DEFAULT_CATALOG)
    try:
        positions = _file_positions(str(path), path.stat().st_mtime_ns)
    except (OSError, CatalogError) as exc:
        log.warning("cannot read catalog order from %s (%s); using database order", path, exc)
        positions = {}
    # Ids follow file order only for a fresh load: entries added to the file later get higher ids
    # than the generic entries after which the file places them.
    last = len(positions)
    return sorted(entries, key=lambda e: (positions.get(e.code, last), e.id or 0))


def load_matcher(bind: Engine | Connection) -> Matcher:
    """Build a Matcher from the enabled entries in the database, in catalog file order."""
    query = select(catalog_entries).where(catalog_entries.c.enabled.is_(True)).order_by(catalog_entries.c.id)
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            rows = entries_from_rows(conn.execute(query))
    else:
        rows = entries_from_rows(bind.execute(query))
    return Matcher(catalog_order(rows))
