"""The product's fixed words, defined once: severities, recovery modes, recovery states and status filters."""
from __future__ import annotations

import re

# A tenant id (events, users, tokens): letters, digits and a little punctuation, at most 64 characters.
TENANT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:@/-]*$"
MAX_TENANT_ID = 64

# Severity order for "most severe first"; failures store it as severity_rank so queues sort on an index.
SEVERITY_RANK = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
UNKNOWN_SEVERITY_RANK = 5  # unmatched failures have no severity
SEVERITIES = tuple(SEVERITY_RANK)

RECOVERY_MODES = (
    "RETRY_IMMEDIATE",
    "RETRY_EXPONENTIAL",
    "RETRY_WITH_JITTER",
    "FALLBACK",
    "CIRCUIT_BREAKER",
    "SKIP",
    "ABORT",
    "ESCALATE",
    "CHECKPOINT_RESTORE",
    "MANUAL_INTERVENTION",
)

# A failure's recovery state: never attempted, attempted without success, recovered.
UNRECOVERED, FAILED, RECOVERED = "unrecovered", "failed", "recovered"
RECOVERY_STATES = (UNRECOVERED, FAILED, RECOVERED)
# Filters over those states: every failure, the open ones (unrecovered or failed), or one state.
STATUSES = ("all", "open", *RECOVERY_STATES)


# A group's triage state; "regressed" is a flag on an unresolved group that had been resolved.
UNRESOLVED, RESOLVED, IGNORED = "unresolved", "resolved", "ignored"
GROUP_STATES = (UNRESOLVED, RESOLVED, IGNORED)


def recovery_state(attempted: bool, succeeded: bool | None) -> str:
    """The recovery state of a failure from its two columns."""
    if not attempted:
        return UNRECOVERED
    return RECOVERED if succeeded else FAILED


def severity_rank(severity: str | None) -> int:
    """Sort rank of a severity (0 = critical); unknown or none sorts last."""
    return SEVERITY_RANK.get(severity or "", UNKNOWN_SEVERITY_RANK)


def is_tenant_id(value: str) -> bool:
    """True when value is a well-formed tenant id."""
    return len(value) <= MAX_TENANT_ID and re.match(TENANT_ID_PATTERN, value) is not None
