"""Canary report: the guide's alert conditions as badges and its canary success criteria for a tenant and range.

Rates come from the database (failure_rollups, per tenant); dropped persistence events and critical
alerts exist only in Prometheus (process counters, no tenant label), so without Prometheus those two
criteria are "unknown". Each criterion is met, not met or unknown, and so is the canary as a whole (`overall`).
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy.engine import Connection

from core.timebuckets import hour_floor
from queries import prometheus as prom
from queries.reports.overview import (
    CANARY_MAX_MISS,
    CANARY_MIN_RECOVERY,
    MISS_RATE_ALERT,
    RECOVERY_ALERT,
    count_export_fallbacks,
    get_summary,
)

Status = Literal["pass", "fail", "unknown"]
Verdict = Literal["met", "not met", "unknown"]
BadgeState = Literal["ok", "firing", "pending", "unknown"]
# What a criterion's status is called on the page and in the command's output.
VERDICT_OF: dict[Status, Verdict] = {"pass": "met", "fail": "not met", "unknown": "unknown"}


@dataclass(frozen=True)
class Criterion:
    """One canary success criterion: measured value against its target, and where the value came from."""

    name: str
    target: str
    value: float | None
    status: Status
    source: str
    detail: str = ""

    @property
    def verdict(self) -> Verdict:
        """The status in the canary's words: met, not met or unknown."""
        return VERDICT_OF[self.status]


@dataclass(frozen=True)
class Badge:
    """One of the guide's alerts evaluated over the range (state ok | firing | unknown), or live from Prometheus."""

    alert: str
    severity: str
    condition: str
    value: float | None
    state: BadgeState
    source: str


@dataclass(frozen=True)
class CanaryResult:
    """Everything `failcat canary-report` prints; `verdict` is the canary's overall outcome (see `overall`)."""

    tenant_id: str | None
    start: datetime
    end: datetime
    failures: int
    criteria: list[Criterion]
    badges: list[Badge]
    prometheus: str  # "not configured" | "used" | "unreachable: ..."
    live_alerts: list[Badge] = field(default_factory=list)

    @property
    def verdict(self) -> Verdict:
        """The overall outcome of the criteria (see `overall`)."""
        return overall(c.status for c in self.criteria)

    @property
    def met(self) -> bool:
        """True when every criterion passed."""
        return self.verdict == "met"


def overall(statuses: Iterable[Status]) -> Verdict:
    """Not met if any criterion failed; otherwise unknown if any is unknown; otherwise met."""
    seen = set(statuses)
    # An unknown criterion is not a failure: the canary is only "not met" on a measured miss.
    if "fail" in seen:
        return "not met"
    return "unknown" if "unknown" in seen else "met"


def _status(ok: bool | None) -> Status:
    return "unknown" if ok is None else ("pass" if ok else "fail")


def _state(bad: bool | None) -> BadgeState:
    return "unknown" if bad is None else ("firing" if bad else "ok")


def _num(value: object) -> float | None:
    if value is None:
        return None
    v = float(value)  # type: ignore[arg-type]
    return None if v != v else v


def evaluate_canary(
    conn: Connection, *, tenant_id: str | None, start: datetime, end: datetime, prometheus_url: str | None = None,
) -> CanaryResult:
    """Canary criteria (miss rate <= 15%, recovery success >= 60%, no dropped events, no critical alerts).

    The rollups are hourly, so `start` is rounded down to its hour; the result carries the range used.
    """
    start = hour_floor(start)
    summary = get_summary(conn, tenant_id=tenant_id, start=start, end=end).iloc[0]
    failures = int(summary["failures"])
    miss, rec = _num(summary["miss_rate"]), _num(summary["recovery_success_rate"])
    fallbacks = count_export_fallbacks(conn, tenant_id=tenant_id, start=start, end=end)
    db = "database"

    dropped: float | None = None
    critical: list[str] | None = None
    live: list[Badge] = []
    if not prometheus_url:
        prom_state, why = "not configured", "needs PROMETHEUS_URL (only Prometheus counts these)"
    else:
        try:
            dropped = prom.get_dropped_increase(prometheus_url, start=start, end=end)
            critical = prom.get_critical_alerts_fired(prometheus_url, start=start, end=end)
            live = [
                Badge(r.alertname, r.severity, r.summary, _num(r.value), r.state, "Prometheus")
                for r in prom.get_alerts(prometheus_url).itertuples()
            ]
            prom_state, why = "used", "failure_persist_dropped_total was not scraped in the range"
        except prom.PrometheusUnavailable as exc:
            prom_state, why = f"unreachable: {exc}", "Prometheus unreachable"

    criteria = [
        Criterion("Miss rate", f"<= {CANARY_MAX_MISS:.0%}", miss,
                  _status(None if miss is None else miss <= CANARY_MAX_MISS),
                  db, "" if miss is not None else "no failures in the range"),
        Criterion("Recovery success", f">= {CANARY_MIN_RECOVERY:.0%}", rec,
                  _status(None if rec is None else rec >= CANARY_MIN_RECOVERY),
                  db, "" if rec is not None else "no recovery attempts in the range"),
        Criterion("Dropped persistence events", "== 0", dropped, _status(None if dropped is None else dropped == 0),
                  "Prometheus" if dropped is not None else "-", "" if dropped is not None else why),
        Criterion("Critical alerts fired", "none", None if critical is None else float(len(critical)),
                  _status(None if critical is None else not critical),
                  "Prometheus" if critical is not None else "-",
                  ", ".join(critical) if critical is not None else why),
    ]
    badges = [
        Badge("FailureCatalogMissRateHigh", "warning", f"miss rate > {MISS_RATE_ALERT:.0%}", miss,
              _state(None if miss is None else miss > MISS_RATE_ALERT), db),
        Badge("RecoverySuccessRateLow", "warning", f"recovery success < {RECOVERY_ALERT:.0%}", rec,
              _state(None if rec is None else rec < RECOVERY_ALERT), db),
        Badge("FailurePersistDropped", "critical", "dropped events > 0", dropped,
              _state(None if dropped is None else dropped > 0), "Prometheus" if dropped is not None else "-"),
        Badge("R2UploadFailed", "warning", "export fell back to local storage", float(fallbacks),
              _state(fallbacks > 0), db),
    ]
    return CanaryResult(tenant_id=tenant_id, start=start, end=end, failures=failures, criteria=criteria, badges=badges,
                        prometheus=prom_state, live_alerts=live)
