"""Normalise failure messages so the same failure with different ids groups under one signature."""
from __future__ import annotations

import hashlib
import re

# Order matters: wide shapes (urls, paths, uuids) go before the numbers inside them.
_RULES: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", re.I), "<url>"),
    (re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), "<email>"),
    (re.compile(r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b", re.I), "<uuid>"),
    (re.compile(r"'[^'\n]{0,200}'|\"[^\"\n]{0,200}\"|`[^`\n]{0,200}`"), "<str>"),
    (re.compile(r"(?<![\w.])(?:[A-Za-z]:\\|~?/)[\w.\-/\\]+"), "<path>"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "<ip>"),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "<hex>"),
    (re.compile(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b", re.I), "<hex>"),
    (re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?"), "<time>"),
    (re.compile(r"(?<![<\w])[-+]?\d+(?:\.\d+)?"), "<n>"),
    (re.compile(r"\s+"), " "),
]
MAX_TEMPLATE = 400


def normalise_message(message: str) -> str:
    """Return the message with variable parts replaced by placeholders like <n>, <uuid>, <path>."""
    text = message.strip()[:4000]
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text.strip()[:MAX_TEMPLATE]


def signature_of(message: str) -> str:
    """Return a 16-hex-digit fingerprint of the normalised message."""
    return hashlib.sha256(normalise_message(message).lower().encode()).hexdigest()[:16]
