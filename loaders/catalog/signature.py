"""The fingerprint (signature) of a failure: what kind of error it is, never which instance.

A signature hashes the error code, the exception type and the status the message names, and the message
template: the text with every variable part replaced by a placeholder (urls, e-mails, uuids, request and other
ids, paths, hosts and ports, addresses, hex, timestamps, durations, numbers and quoted values). Two failures
with different codes, exception types or statuses never share a signature; the same error with another
request id, host or count always does.
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache

_DIGITS = frozenset("0123456789")


# (placeholder, regex, what the text must hold for it to match). Order matters: at any position the first rule
# that matches wins, so wide shapes (urls, paths, uuids) come before the numbers inside them. A rule whose needs
# the text lacks cannot match, so it is left out of the one combined regex built for that kind of text.
_RULES: list[tuple[str, str, tuple[str, ...]]] = [
    ("url", r"\b[a-z][a-z0-9+.-]*://[^\s'\"<>]+", ("://",)),
    ("email", r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b", ("@",)),
    ("uuid", r"\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b", ("long", "digit")),
    # Request ids and similar: "req_011CQ4pZ7x...", "RequestId:5e1a...", "request id: abc-123".
    ("id", r"\b(?:req|request|trace|span|correlation|msg|run|job|task|evt|call|chatcmpl|resp)[_-][A-Za-z0-9_-]{6,}",
     ("_-",)),
    ("str", r"'[^'\n]{0,200}'|\"[^\"\n]{0,200}\"|`[^`\n]{0,200}`|‘[^’\n]{0,200}’|“[^”\n]{0,200}”",
     ("quote",)),
    ("path", r"(?<![\w.])(?:[A-Za-z]:\\|~?/)[\w.\-/\\]+", ("slash",)),
    ("host", r"\b(?:\d{1,3}(?:\.\d{1,3}){3}|\[[0-9a-f:]+\]|localhost|[a-z0-9-]+(?:\.[a-z0-9-]+)+):\d{2,5}\b",
     (":", "digit")),
    ("host", r"\b(?:[a-z0-9-]+\.)+(?:com|net|org|io|ai|dev|cloud|internal|local|lan|svc|cluster|invalid|test|example)"
     r"\b(?!\.\w)", (".",)),
    ("ip", r"\b\d{1,3}(?:\.\d{1,3}){3}\b", (".", "digit")),
    ("hex", r"\b0x[0-9a-f]+\b", ("0x",)),
    # Ids of 6+ hex digits with at least one digit and one letter (short git hashes, request ids).
    ("hex", r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}\b", ("digit",)),
    # Other ids: 8+ letters, digits, _ or -, with at least two digits and two letters (tokens, keys).
    ("id", r"\b(?=(?:[A-Za-z_-]*\d){2})(?=(?:[0-9_-]*[A-Za-z]){2})[A-Za-z0-9_-]{8,}\b", ("digit",)),
    ("time", r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?", ("-", "digit")),
    ("duration", r"(?<![\w.])\d+(?:\.\d+)?\s?(?:ms|milliseconds?|s|secs?|seconds?|m|mins?|minutes?|h|hours?)\b",
     ("digit",)),
    ("n", r"(?<![<\w])[-+]?\d+(?:\.\d+)?", ("digit",)),
]
_PLACEHOLDERS = {f"r{i}": f"<{name}>" for i, (name, _, _) in enumerate(_RULES)}
MAX_TEMPLATE = 400
_EXCEPTION = re.compile(r"^\s*(?:[a-z_][\w]*\.)*([A-Z][A-Za-z0-9]*(?:Error|Exception|Timeout|Failure|Fault|Refused"
                        r"|Denied|NotFound|Exceeded|Cancelled|Canceled|Interrupt|Expired|Conflict|Unavailable"
                        r"|Rejected|Violation|Disconnected|Closed|Exhausted)[A-Za-z0-9]*)\b")
_STATUS = re.compile(r"\b(?:HTTP(?: Error|/\d(?:\.\d)?)?:?\s*|status(?:[ _]?code)?[\"']?\s*[:=]?\s*[\"']?"
                     r"|returned error:?\s*|Error code:?\s*)([1-5]\d\d)\b|\b([45]\d\d)\s+(?:Client|Server) Error"
                     r"|StatusCode\.([A-Z_]+)", re.IGNORECASE)


_STATUS_WORDS = ("http", "status", "returned error", "error code", "client error", "server error")


@lru_cache(maxsize=256)
def _combined(active: tuple[int, ...]) -> re.Pattern[str]:
    """One regex of the active rules, in rule order, each in a named group r<index>."""
    # Every placeholder starts where a word does not continue, and holds a digit or one of : / @ . \ _ - or a
    # quote before its first space: two cheap looks skip the inside of words and plain words before any rule runs.
    return re.compile(r"(?<!\w)(?=\S*?[\d:/@.\\'\"`‘“_-])(?:" + "|".join(f"(?P<r{i}>{_RULES[i][1]})" for i in active)
                      + ")", re.IGNORECASE)


def _placeholder(match: re.Match[str]) -> str:
    return _PLACEHOLDERS[match.lastgroup]  # type: ignore[index]


def _features(text: str) -> tuple[str, ...]:
    """The cheap facts about a text that decide which placeholder rules can match in it."""
    found = [f for f in ("://", "@", "_", "-", "/", "\\", ":", ".", "0x", "0X") if f in text]
    if len(text) >= 32:
        found.append("long")
    if any(q in text for q in "'\"`‘“"):
        found.append("quote")
    if not _DIGITS.isdisjoint(text):
        found.append("digit")
    return tuple(found)


@lru_cache(maxsize=512)
def _active(features: tuple[str, ...]) -> tuple[int, ...]:
    have = set(features)
    have |= {"_-"} if have & {"_", "-"} else set()
    have |= {"slash"} if have & {"/", "\\"} else set()
    have |= {"0x"} if "0X" in have else set()
    return tuple(i for i, (_, _, needs) in enumerate(_RULES) if have.issuperset(needs))


# A terminal's colour and cursor codes (tools' stderr) and other controls say nothing about the error.
_TERMINAL_CODES = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-_]|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def normalise_message(message: str) -> str:
    """The message template: variable parts replaced by placeholders like <n>, <id>, <host>, <path>."""
    text = _TERMINAL_CODES.sub("", message.strip()[:4000])
    active = _active(_features(text))
    if active:
        text = _combined(active).sub(_placeholder, text)
    return " ".join(text.split())[:MAX_TEMPLATE]


def exception_type(message: str) -> str:
    """The exception class a message starts with ("ReadTimeout" of "requests.exceptions.ReadTimeout: ..."), or ""."""
    m = _EXCEPTION.match(message)
    return m.group(1) if m else ""


def status_of(message: str) -> str:
    """The first HTTP or gRPC status the message names ("429", "UNAVAILABLE"), or ""."""
    low = message.lower()
    if not any(w in low for w in _STATUS_WORDS):
        return ""
    m = _STATUS.search(message)
    return next((g for g in m.groups() if g), "") if m else ""


def signature_of(message: str, error_code: str | None = None) -> str:
    """A 16-hex-digit fingerprint of the error code, exception type, status and message template."""
    key = "\x1f".join((error_code or "", exception_type(message), status_of(message),
                       normalise_message(message).lower()))
    return hashlib.sha256(key.encode()).hexdigest()[:16]
