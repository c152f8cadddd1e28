"""One filter object for failures, shared by the API, the dashboard and exports."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_

from core.schema import failure_matches as fm
from core.vocabulary import STATUSES

MAX_TEXT = 200


class FilterError(ValueError):
    """A filter value is invalid; the message names the filter."""


def _like_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class FailureFilter:
    """Which failures to select. Empty tuples and None mean "no restriction".

    status: all | open (not recovered: unrecovered or failed) | unrecovered (never attempted) |
    failed (attempted, not succeeded) | recovered.
    """

    tenant_id: str | None = None
    run_id: str | None = None
    error_codes: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    recovery_modes: tuple[str, ...] = ()
    matched: bool | None = None
    status: str = "all"
    skill_id: str | None = None
    signature: str | None = None
    q: str | None = None
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise FilterError(f"status must be one of {', '.join(STATUSES)}")
        for name in ("start", "end"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise FilterError(f"{name} must be timezone-aware")
        if self.start and self.end and self.start > self.end:
            raise FilterError("start must be before end")
        if self.q is not None and len(self.q) > MAX_TEXT:
            raise FilterError(f"message text filter is longer than {MAX_TEXT} characters")

    def scoped(self, tenant_id: str | None) -> FailureFilter:
        """The same filter limited to one tenant (None keeps it as it is)."""
        return self if tenant_id is None else replace(self, tenant_id=tenant_id)

    def conditions(self) -> list[ColumnElement[bool]]:
        """SQL conditions on failure_matches (all bound parameters)."""
        c: list[ColumnElement[bool]] = []
        if self.tenant_id:
            c.append(fm.c.tenant_id == self.tenant_id)
        if self.run_id:
            c.append(fm.c.run_id == self.run_id)
        if self.error_codes:
            c.append(fm.c.error_code.in_(self.error_codes))
        if self.categories:
            c.append(fm.c.category.in_(self.categories))
        if self.severities:
            c.append(fm.c.severity.in_(self.severities))
        if self.recovery_modes:
            c.append(fm.c.recovery_mode.in_(self.recovery_modes))
        if self.matched is True:
            c.append(fm.c.catalog_entry_id.is_not(None))
        elif self.matched is False:
            c.append(fm.c.catalog_entry_id.is_(None))
        if self.status == "open":
            c.append(fm.c.recovery_succeeded.is_not(True))
        elif self.status == "unrecovered":
            c.append(fm.c.recovery_attempted.is_(False))
        elif self.status == "failed":
            c.append(and_(fm.c.recovery_attempted.is_(True), fm.c.recovery_succeeded.is_not(True)))
        elif self.status == "recovered":
            c.append(fm.c.recovery_succeeded.is_(True))
        if self.skill_id:
            c.append(fm.c.skill_id == self.skill_id)
        if self.signature:
            c.append(fm.c.signature == self.signature)
        if self.q:
            pattern = f"%{_like_escape(self.q)}%"
            c.append(or_(fm.c.error_message.ilike(pattern, escape="\\"), fm.c.error_code.ilike(pattern, escape="\\")))
        if self.start is not None:
            c.append(fm.c.created_at >= self.start)
        if self.end is not None:
            c.append(fm.c.created_at < self.end)
        return c
