"""Normalise failure messages so the same failure with different ids groups under one signature."""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from functools import lru_cache

_DIGITS = frozenset("0123456789")


def _has_digit(text: str) -> bool:
    return not _DIGITS.isdisjoint(text)


# (placeholder, regex, precondition). Order matters: at any position the first rule that matches wins, so
# wide shapes (urls, paths, uuids) come before the numbers inside them. A rule whose precondition on the
# text fails cannot match, so it is left out of the one combined regex built for that kind of text.
_RULES: list[tuple[str, str, Callable[[str], bool]]] = [
    ("url", r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", lambda t: "://" in t),
    ("email", r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b", lambda t: "@" in t),
    ("uuid", r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b", lambda t: len(t) >= 32),
    ("str", r"'[^'\n]{0,200}'|\"[^\"\n]{0,200}\"|`[^`\n]{0,200}`", lambda t: "'" in t or '"' in t or "`" in t),
    ("path", r"(?<![\w.])(?:[A-Za-z]:\\|~?/)[\w.\-/\\]+", lambda t: "/" in t or "\\" in t),
    ("ip", r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b", lambda t: "." in t),
    ("hex", r"\b0x[0-9a-f]+\b", lambda t: "0x" in t or "0X" in t),
    # Ids of 6+ hex digits with at least one digit and one letter (short git hashes, request ids).
    ("hex", r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b", lambda t: True),
    ("time", r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?", lambda t: "-" in t),
    ("n", r"(?<![<\w])[-+]?\d+(?:\.\d+)?", lambda t: True),
]
_DIGIT_RULES = frozenset(i for i, (name, _, _) in enumerate(_RULES) if name in {"uuid", "ip", "hex", "time", "n"})
_PLACEHOLDERS = {f"r{i}": f"<{name}>" for i, (name, _, _) in enumerate(_RULES)}
MAX_TEMPLATE = 400


@lru_cache(maxsize=256)
def _combined(active: tuple[int, ...]) -> re.Pattern[str]:
    """One regex of the active rules, in rule order, each in a named group r<index>."""
    return re.compile("|".join(f"(?P<r{i}>{_RULES[i][1]})" for i in active), re.IGNORECASE)


def _placeholder(match: re.Match[str]) -> str:
    return _PLACEHOLDERS[match.lastgroup]  # type: ignore[index]


def normalise_message(message: str) -> str:
    """Return the message with variable parts replaced by placeholders like <n>, <uuid>, <path>."""
    text = message.strip()[:4000]
    if _has_digit(text):
        active = tuple(i for i, (_, _, applies) in enumerate(_RULES) if applies(text))
    else:
        active = tuple(i for i, (_, _, applies) in enumerate(_RULES) if i not in _DIGIT_RULES and applies(text))
    if active:
        text = _combined(active).sub(_placeholder, text)
    return " ".join(text.split())[:MAX_TEMPLATE]


def signature_of(message: str) -> str:
    """Return a 16-hex-digit fingerprint of the normalised message."""
    return hashlib.sha256(normalise_message(message).lower().encode()).hexdigest()[:16]
