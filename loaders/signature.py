"""Normalise failure messages so the same failure with different ids groups under one signature."""
from __future__ import annotations

import hashlib
import re
from typing import Callable

_DIGITS = frozenset("0123456789")

# Order matters: wide shapes (urls, paths, uuids) go before the numbers inside them. Each rule has a
# cheap precondition on the characters of the text so that most rules are skipped for most messages
# (the rules only ever match when their precondition holds, so skipping them changes nothing).
_RULES: list[tuple[re.Pattern[str], str, Callable[[str, bool], bool]]] = [
    (re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.I), "<url>", lambda t, d: "://" in t),
    (re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), "<email>", lambda t, d: "@" in t),
    (re.compile(r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b", re.I), "<uuid>",
     lambda t, d: len(t) >= 32),
    (re.compile(r"'[^'\n]{0,200}'|\"[^\"\n]{0,200}\"|`[^`\n]{0,200}`"), "<str>",
     lambda t, d: "'" in t or '"' in t or "`" in t),
    (re.compile(r"(?<![\w.])(?:[A-Za-z]:\\|~?/)[\w.\-/\\]+"), "<path>", lambda t, d: "/" in t or "\\" in t),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "<ip>", lambda t, d: d and "." in t),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "<hex>", lambda t, d: d and ("0x" in t or "0X" in t)),
    # Ids of 6+ hex digits with at least one digit and one letter (short git hashes, request ids).
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b", re.I), "<hex>", lambda t, d: d),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"), "<time>",
     lambda t, d: d and "-" in t),
    (re.compile(r"(?<![<\w])[-+]?\d+(?:\.\d+)?"), "<n>", lambda t, d: d),
    (re.compile(r"\s+"), " ", lambda t, d: True),
]
MAX_TEMPLATE = 400


def normalise_message(message: str) -> str:
    """Return the message with variable parts replaced by placeholders like <n>, <uuid>, <path>."""
    text = message.strip()[:4000]
    for pattern, replacement, applies in _RULES:
        if applies(text, not _DIGITS.isdisjoint(text)):
            text = pattern.sub(replacement, text)
    return text.strip()[:MAX_TEMPLATE]


def signature_of(message: str) -> str:
    """Return a 16-hex-digit fingerprint of the normalised message."""
    return hashlib.sha256(normalise_message(message).lower().encode()).hexdigest()[:16]
