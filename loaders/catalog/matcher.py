"""Match a failure (code, message) against the catalog: exact code, then regex patterns, then keywords."""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import ahocorasick
from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from core.schema import catalog_entries
from loaders.catalog.file import DEFAULT_CATALOG, CatalogEntry, CatalogError, read_catalog_file
from loaders.catalog.meanings import FALLBACK_RULES, RULED, RULES, Rule, decide
from loaders.catalog.signals import Signals, read_signals
from loaders.catalog.signature import signature_of

try:  # the regex parser moved in Python 3.11; it is only used to find literals for the prefilter
    import re._parser as _sre_parse
except ImportError:  # pragma: no cover - Python < 3.11
    import sre_parse as _sre_parse

log = logging.getLogger(__name__)

UNKNOWN_CODE = "UNKNOWN"
CONFIDENCE = {"code": 1.0, "pattern": 0.9, "signal": 0.85}
KEYWORD_BASE, KEYWORD_STEP, KEYWORD_MAX = 0.5, 0.1, 0.8
# Regexes see at most the head and the tail of a huge message (tracebacks put the error last).
SCAN_HEAD, SCAN_TAIL = 6000, 2000
_WORD = re.compile(r"\w+")
CACHE_SIZE, CACHE_MAX_CHARS = 4096, 1000  # per Matcher: results of recently seen identical messages


@dataclass(frozen=True)
class MatchResult:
    """Outcome of matching one failure; `entry` is None for a miss. `reason` says why (or what was looked at)."""

    entry: CatalogEntry | None
    match_type: str  # code | pattern | signal | keyword | none
    confidence: float
    error_code: str
    signature: str
    reason: str = ""

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
    """A compiled view of the enabled catalog entries; build once, match many.

    Order: the runtime's own code when the catalog knows it; then the patterns of entries an analyst promoted and
    of entries whose meaning is specific (security, checkpoints, LLM, resources, data formats); then the signal
    rules (loaders.catalog.meanings: status codes, exception classes, errno, ...); then the remaining patterns,
    in file order; then keywords; else a miss.
    """

    def __init__(self, entries: Iterable[CatalogEntry]) -> None:
        self.entries = [e for e in entries if e.enabled]
        self.by_code = {e.code: e for e in self.entries}
        self.known = frozenset(self.by_code)
        self._order = {e.code: i for i, e in enumerate(self.entries)}
        # Every pattern as (tier, entry, compiled regex); tier 0 is tried before the rules, tier 1 after. A pattern
        # is only run when one of its required literals is in the lower-cased message, so a miss costs one pass
        # of cheap substring checks and usually no regex at all; patterns without a literal always run.
        self._compiled: list[tuple[int, CatalogEntry, re.Pattern[str]]] = []
        self._by_literal: dict[str, list[int]] = {}
        self._always: list[int] = []
        for entry in sorted(self.entries, key=_tier):
            for pattern in entry.patterns:
                try:
                    regex = re.compile(pattern, re.IGNORECASE)
                except re.error as exc:  # a bad promoted pattern must not take the whole catalog down
                    log.warning("catalog entry %s: skipping bad pattern %r: %s", entry.code, pattern, exc)
                    continue
                index = len(self._compiled)
                self._compiled.append((_tier(entry), entry, regex))
                needed = required_literals(pattern)
                if needed is None:
                    self._always.append(index)
                for literal in needed or ():
                    self._by_literal.setdefault(literal, []).append(index)
        # One Aho-Corasick pass over the lower-cased message finds every required literal in it, so only the
        # patterns that can match are run.
        self._literal_scan: Any = None
        if self._by_literal:
            self._literal_scan = ahocorasick.Automaton()
            for literal, indices in self._by_literal.items():
                self._literal_scan.add_word(literal, indices)
            self._literal_scan.make_automaton()
        self._keywords: dict[str, list[CatalogEntry]] = {}
        for e in self.entries:
            for kw in dict.fromkeys(e.keywords):
                self._keywords.setdefault(kw.lower(), []).append(e)
        # Single words are looked up in the message's word set; phrases ("rate limit") need a regex.
        phrases = sorted((k for k in self._keywords if not _WORD.fullmatch(k)), key=len, reverse=True)
        self._cached_message_match = lru_cache(maxsize=CACHE_SIZE)(self._message_match)
        self._cached_signature = lru_cache(maxsize=CACHE_SIZE)(signature_of)
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
            return MatchResult(self.by_code[code], "code", CONFIDENCE["code"], code, signature_of(message, code),
                               f"the runtime's own code {code} is a catalog code")
        # Runtimes repeat many messages verbatim ("Connection error.", "Request timed out."): remember them.
        if len(message) <= CACHE_MAX_CHARS:
            entry, match_type, confidence, reason = self._cached_message_match(message)
            stored = code or (entry.code if entry else UNKNOWN_CODE)
            signature = self._cached_signature(message, stored)
        else:
            entry, match_type, confidence, reason = self._message_match(message)
            stored = code or (entry.code if entry else UNKNOWN_CODE)
            signature = signature_of(message, stored)
        return MatchResult(entry, match_type, confidence, stored, signature, reason)

    def _message_match(self, message: str) -> tuple[CatalogEntry | None, str, float, str]:
        if len(message) > SCAN_HEAD + SCAN_TAIL:
            message = message[:SCAN_HEAD] + "\n" + message[-SCAN_TAIL:]
        candidates = self._candidates(message)
        first = self._first_hit(message, candidates, tier=0)
        if first is not None and not _inside_server_error(message, first[1]):
            entry, regex = first
            return entry, "pattern", CONFIDENCE["pattern"], f"pattern {regex.pattern!r} of {entry.code}"
        signals = read_signals(message)
        decided = self._decide_cause_first(message, signals, RULES)
        if decided is not None:
            code, rule, why = decided
            return self.by_code[code], "signal", CONFIDENCE["signal"], f"{why} ({rule} rule)"
        first = first or self._first_hit(message, candidates, tier=1)
        if first is not None:
            entry, regex = first
            return entry, "pattern", CONFIDENCE["pattern"], f"pattern {regex.pattern!r} of {entry.code}"
        decided = self._decide_cause_first(message, signals, FALLBACK_RULES)
        if decided is not None:
            code, rule, why = decided
            return self.by_code[code], "signal", CONFIDENCE["signal"], f"{why} ({rule} rule)"
        by_words, words = self.match_keywords(message)
        if by_words is not None:
            confidence = round(min(KEYWORD_MAX, KEYWORD_BASE + KEYWORD_STEP * len(words)), 2)
            return by_words, "keyword", confidence, f"keywords {', '.join(sorted(words))} of {by_words.code}"
        return None, "none", 0.0, _looked_at(signals)

    def _decide_cause_first(self, message: str, signals: Signals,
                            rules: tuple[Rule, ...]) -> tuple[str, str, str] | None:
        """The rules' decision on the cause a wrapper carries ("Max retries exceeded ... (Caused by X)",
        "RetryError ..., last exception: X"), else on the whole text."""
        cause = _cause_of(message)
        if cause is not None:
            inner = read_signals(cause)
            inner.services |= signals.services  # "redis ... caused by refused": the service is the wrapper's
            decided = decide(inner, self.known, rules)
            if decided is not None:
                code, rule, why = decided
                return code, rule, f"{why}, in the cause it carries"
        return decide(signals, self.known, rules)

    def _candidates(self, message: str) -> list[int]:
        """The patterns (indices, in tier then file order) whose required literals occur in the message."""
        lowered = message.lower() if message.isascii() else fold(message)
        candidates = set(self._always)
        if self._literal_scan is not None:
            for _end, indices in self._literal_scan.iter(lowered):
                candidates.update(indices)
        return sorted(candidates)

    def _first_hit(self, message: str, candidates: list[int],
                   tier: int) -> tuple[CatalogEntry, re.Pattern[str]] | None:
        for index in candidates:
            pattern_tier, entry, regex = self._compiled[index]
            if pattern_tier == tier and regex.search(message):
                return entry, regex
        return None

    def pattern_hits(self, message: str) -> list[tuple[int, CatalogEntry, re.Pattern[str]]]:
        """The first matching pattern of each tier (tier 0 first): at most two (tier, entry, regex)."""
        candidates = self._candidates(message)
        return [(tier, *hit) for tier in (0, 1) if (hit := self._first_hit(message, candidates, tier)) is not None]

    def match_pattern(self, message: str) -> CatalogEntry | None:
        """The entry whose pattern matches first (patterns tried before the rules first, then the others)."""
        hits = self.pattern_hits(message)
        return hits[0][1] if hits else None

    def match_keywords(self, message: str) -> tuple[CatalogEntry | None, set[str]]:
        """The entry with most keywords in the message (ties: catalog order) and the keywords found."""
        if not self._keywords:
            return None, set()
        found = {w for w in _WORD.findall(message.lower()) if w in self._keywords}
        if self._phrase_re is not None:
            found.update(m.group(0).lower() for m in self._phrase_re.finditer(message))
        if not found:
            return None, set()
        hits: dict[str, set[str]] = {}
        for word in found:
            for entry in self._keywords[word]:
                hits.setdefault(entry.code, set()).add(word)
        # An entry needs two of its keywords (or its only one) so a stray word does not match.
        eligible = [
            (len(words), -self._order[c], c)
            for c, words in hits.items()
            if len(words) >= min(2, len(set(self.by_code[c].keywords)))
        ]
        if not eligible:
            return None, set()
        _n, _, code = max(eligible)
        return self.by_code[code], hits[code]


_CAUSE = re.compile(r"\bcaused by\b[:\s]*|\blast (?:exception|error)\s*:\s*", re.IGNORECASE)
_SERVER_ERROR = re.compile(r"internal (?:server )?error|\b5\d\d (?:Internal|Server)", re.IGNORECASE)


def _cause_of(message: str) -> str | None:
    """The text after the last "caused by" / "last exception:" marker, when there is one."""
    low = message.lower()
    if "caused by" not in low and "last e" not in low:
        return None
    ends = [m.end() for m in _CAUSE.finditer(message)]
    if not ends:
        return None
    cause = message[ends[-1]:].strip()
    return cause if len(cause) >= 3 else None


def _inside_server_error(message: str, regex: re.Pattern[str]) -> bool:
    """True when the pattern matched inside a server's error report ("Internal error processing x: KeyError"):
    the exception named there is the server's, and the failure is the server's error."""
    hit = regex.search(message)
    wrapper = _SERVER_ERROR.search(message)
    return hit is not None and wrapper is not None and wrapper.start() < hit.start()


def _tier(entry: CatalogEntry) -> int:
    """0: patterns tried before the signal rules (promoted and specific entries); 1: after them."""
    return 1 if entry.code in RULED and entry.created_by == "catalog" else 0


def _looked_at(sig: Signals) -> str:
    """What a miss was read for, so an analyst can tell why nothing matched."""
    seen = []
    if sig.classes:
        seen.append("exception " + ", ".join(dict.fromkeys(sig.classes[:3])))
    for label, value in (("HTTP status", sig.status), ("gRPC status", sig.grpc), ("SQLSTATE", sig.sqlstate),
                         ("MySQL error", sig.mysql), ("cloud code", sig.cloud), ("exit status", sig.exit_status)):
        if value is not None:
            seen.append(f"{label} {value}")
    if sig.errnos:
        seen.append("errno " + ", ".join(sorted(sig.errnos)))
    found = ", ".join(seen) if seen else "no exception class, status code or errno"
    return f"no catalog entry: read {found}; no rule, pattern or keyword applied"


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
