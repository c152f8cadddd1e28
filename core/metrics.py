"""Prometheus metrics with the original deployment guide's names; error_code labels are bounded."""
from __future__ import annotations

import re
import threading
from typing import Iterable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

OTHER = "OTHER"
MAX_EXTRA_CODES = 50
_CODE_CLEAN = re.compile(r"[^A-Z0-9_]+")


class CodeLabels:
    """Maps error codes to label values: catalog codes as they are, at most N others, then OTHER."""

    def __init__(self, known: Iterable[str] = (), max_extra: int = MAX_EXTRA_CODES) -> None:
        self._known = set(known)
        self._extra: set[str] = set()
        self._max_extra = max_extra
        self._lock = threading.Lock()

    def set_known(self, codes: Iterable[str]) -> None:
        """Replace the catalog codes that are always kept as labels."""
        self._known = set(codes)

    def label(self, code: str | None) -> str:
        """Return the bounded label value for `code`."""
        clean = _CODE_CLEAN.sub("_", (code or "UNKNOWN").upper()).strip("_")[:64] or "UNKNOWN"
        if clean in self._known or clean in self._extra:
            return clean
        with self._lock:
            if len(self._extra) < self._max_extra:
                self._extra.add(clean)
                return clean
        return OTHER


class FailcatMetrics:
    """All counters of one process, on one registry (tests pass a fresh CollectorRegistry)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.codes = CodeLabels()
        self.match_hits = Counter(
            "failure_match_hits", "Failures matched to a catalog entry", ["error_code", "category"], registry=r
        )
        self.match_misses = Counter(
            "failure_match_misses", "Failures not matched by the catalog", ["error_code"], registry=r
        )
        self.recovery_success = Counter(
            "recovery_success", "Recoveries marked succeeded", ["recovery_mode", "error_code"], registry=r
        )
        self.recovery_failure = Counter(
            "recovery_failure", "Recoveries marked failed", ["recovery_mode", "error_code"], registry=r
        )
        self.r2_upload_attempt = Counter(
            "failure_agg_r2_upload_attempt", "Export upload attempts by outcome", ["status"], registry=r
        )
        self.persist_dropped = Counter(
            "failure_persist_dropped", "Failure events that could not be stored nor spooled", registry=r
        )
        self.events_spooled = Counter(
            "failure_events_spooled", "Events written to the local spool because the database failed", registry=r
        )
        self.events_replayed = Counter(
            "failure_events_replayed", "Spooled events replayed into the database", registry=r
        )
        self.events_rejected = Counter(
            "failure_events_rejected", "Events refused by validation", ["reason"], registry=r
        )
        self.spool_pending = Gauge(
            "failure_spool_pending_events", "Events waiting in the local spool", registry=r
        )
        self.export_fallbacks_pending = Gauge(
            "failure_export_fallbacks_pending", "Exports stored locally and not yet uploaded", registry=r
        )
        self.ingest_seconds = Histogram(
            "failure_ingest_batch_seconds",
            "Time to ingest one batch (validate, match, insert, rollups)",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )

    def count_match(self, *, error_code: str, category: str | None, matched: bool, n: int = 1) -> None:
        """Count one (or n) hit or miss for a code."""
        label = self.codes.label(error_code)
        if matched:
            self.match_hits.labels(error_code=label, category=category or "").inc(n)
        else:
            self.match_misses.labels(error_code=label).inc(n)

    def count_recovery(self, *, recovery_mode: str | None, error_code: str, succeeded: bool) -> None:
        """Count one recovery outcome."""
        counter = self.recovery_success if succeeded else self.recovery_failure
        counter.labels(recovery_mode=recovery_mode or "NONE", error_code=self.codes.label(error_code)).inc()


_default: FailcatMetrics | None = None
_default_lock = threading.Lock()


def get_metrics() -> FailcatMetrics:
    """The process-wide metrics object (exposed by /metrics or the dashboard's metrics port)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = FailcatMetrics()
        return _default
