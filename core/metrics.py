"""Prometheus metrics with the original deployment guide's names; label values are bounded.

Cardinality and privacy: error_code labels are the catalog's codes, UNKNOWN (no code) and OTHER (any code
outside the catalog), so a client's text never becomes a label that every scraper of /metrics reads; the
reject reasons are the validator's own words, capped in number. Series that rules take
rates of are created at 0 up front (and for every catalog code once the catalog is known), because
Prometheus cannot see the first increment of a series that appears already incremented.
"""
from __future__ import annotations

import logging
import re
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, push_to_gateway
from prometheus_client.parser import text_string_to_metric_families

log = logging.getLogger(__name__)

OTHER = "OTHER"
UNKNOWN = "UNKNOWN"
NO_MODE = "NONE"
MAX_REJECT_REASONS = 20
UPLOAD_STATUSES = ("uploaded", "fallback_local", "retrying", "failed")
AUTH_CHANNELS = ("api", "dashboard")
AUTH_OUTCOMES = ("bad_credentials", "throttled")
_CODE_CLEAN = re.compile(r"[^A-Z0-9_]+")
_REASON_CLEAN = re.compile(r"[^a-z0-9_()]+")


class CodeLabels:
    """Maps error codes to label values: catalog codes as they are, no code UNKNOWN, any other code OTHER."""

    def __init__(self, known: Iterable[str] = (), on_known: Callable[[Iterable[Any]], None] | None = None) -> None:
        self._known = set(known)
        self._on_known = on_known

    def set_known(self, codes: Iterable[str] | Mapping[str, Any]) -> None:
        """Replace the catalog codes that are kept as labels (a code -> entry mapping primes series)."""
        self._known = {self.normalise(c) for c in codes}
        if self._on_known is not None:
            self._on_known(codes)

    @staticmethod
    def normalise(code: str | None) -> str:
        """Upper-case, keep [A-Z0-9_], at most 64 characters; blank -> UNKNOWN."""
        return _CODE_CLEAN.sub("_", (code or UNKNOWN).upper()).strip("_")[:64] or UNKNOWN

    def label(self, code: str | None, *, catalog_code: bool = False) -> str:
        """Return the label value for `code` (catalog_code: the caller checked it is one of the catalog's)."""
        clean = self.normalise(code)
        return clean if catalog_code or clean in self._known or clean == UNKNOWN else OTHER


class _CappedLabels:
    """First `cap` distinct values of a free-form label as they are, then `other`."""

    def __init__(self, cap: int, other: str = "other") -> None:
        self._seen: set[str] = set()
        self._cap, self._other = cap, other
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        value = _REASON_CLEAN.sub("_", str(value).lower())[:40] or self._other
        with self._lock:
            if value in self._seen:
                return value
            if len(self._seen) < self._cap:
                self._seen.add(value)
                return value
        return self._other


class _BoundedCounter:
    """A labelled Counter whose one label goes through a bounding function (same .labels() API)."""

    def __init__(self, counter: Counter, label: str, bound: Callable[[str], str]) -> None:
        self._counter, self._label, self._bound = counter, label, bound

    def labels(self, **kwargs: str) -> Any:
        """The child counter for the bounded label value."""
        kwargs[self._label] = self._bound(kwargs[self._label])
        return self._counter.labels(**kwargs)

    def collect(self) -> Any:
        """The wrapped counter's samples."""
        return self._counter.collect()


class FailcatMetrics:
    """All counters of one process, on one registry (tests pass a fresh CollectorRegistry)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.codes = CodeLabels(on_known=self._prime_catalog)
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
        # The reason label is the refused field's name, which a client controls (extra fields): capped.
        self.events_rejected = _BoundedCounter(
            Counter("failure_events_rejected", "Events refused by validation", ["reason"], registry=r),
            "reason", _CappedLabels(MAX_REJECT_REASONS),
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
        self.group_regressions = Counter(
            "failcat_group_regressions", "Resolved groups reopened by a new failure", registry=r
        )
        self.auth_failures = Counter(
            "failcat_auth_failures",
            "Refused sign-ins and API requests: wrong credentials, or throttled after too many",
            ["channel", "outcome"], registry=r,
        )
        self.last_push = Gauge(
            "failcat_batch_last_push_timestamp_seconds",
            "When a batch command last pushed its metrics to the Pushgateway (Unix time)",
            registry=r,
        )
        self._prime_fixed()

    def _prime_fixed(self) -> None:
        # Series that exist from the start, so the first miss / fallback upload is a visible increase.
        for code in (UNKNOWN, OTHER):
            self.match_misses.labels(error_code=code)
            self.recovery_success.labels(recovery_mode=NO_MODE, error_code=code)
            self.recovery_failure.labels(recovery_mode=NO_MODE, error_code=code)
        for status in UPLOAD_STATUSES:
            self.r2_upload_attempt.labels(status=status)
        for channel in AUTH_CHANNELS:
            for outcome in AUTH_OUTCOMES:
                self.auth_failures.labels(channel=channel, outcome=outcome)

    def _prime_catalog(self, codes: Iterable[Any]) -> None:
        # Only a code -> entry mapping says which category and recovery mode each code has.
        if not isinstance(codes, Mapping):
            return
        for code, entry in codes.items():
            label = self.codes.normalise(code)
            category = getattr(entry, "category", None)
            mode = getattr(entry, "recovery_mode", None)
            if category is not None:
                self.match_hits.labels(error_code=label, category=category)
            if mode is not None:
                self.recovery_success.labels(recovery_mode=mode, error_code=label)
                self.recovery_failure.labels(recovery_mode=mode, error_code=label)

    def count_match(self, *, error_code: str, category: str | None, matched: bool, n: int = 1) -> None:
        """Count one (or n) hit or miss for a code."""
        label = self.codes.label(error_code)
        if matched:
            self.match_hits.labels(error_code=label, category=category or "").inc(n)
        else:
            self.match_misses.labels(error_code=label).inc(n)

    def count_recovery(self, *, recovery_mode: str | None, error_code: str, succeeded: bool,
                       catalog_code: bool = False) -> None:
        """Count one recovery outcome (catalog_code: the caller knows error_code is a catalog code)."""
        counter = self.recovery_success if succeeded else self.recovery_failure
        label = self.codes.label(error_code, catalog_code=catalog_code)
        counter.labels(recovery_mode=recovery_mode or NO_MODE, error_code=label).inc()

    def count_auth_failure(self, *, channel: str, outcome: str) -> None:
        """Count one refused sign-in or API request (channel api|dashboard, outcome bad_credentials|throttled)."""
        self.auth_failures.labels(channel=channel, outcome=outcome).inc()

    def count_upload(self, status: str) -> None:
        """Count one export upload attempt by outcome (uploaded | fallback_local | retrying | failed)."""
        self.r2_upload_attempt.labels(status=status if status in UPLOAD_STATUSES else "failed").inc()

    def series_count(self) -> int:
        """Number of samples this registry exposes now (what a scrape would store as series)."""
        return sum(len(m.samples) for m in self.registry.collect())


_default: FailcatMetrics | None = None
_default_lock = threading.Lock()


def get_metrics() -> FailcatMetrics:
    """The process-wide metrics object (exposed by /metrics or the dashboard's metrics port)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = FailcatMetrics()
        return _default


def push_metrics(job: str, *, metrics: FailcatMetrics | None = None, url: str | None = None,
                 timeout: float = 10.0) -> bool | None:
    """Push a batch command's metrics to PUSHGATEWAY_URL; None when not configured, False on failure."""
    if url is None:
        from core.settings import get_settings

        url = get_settings().pushgateway_url
    if not url:
        return None
    metrics = metrics or get_metrics()
    instance = socket.gethostname()
    metrics.last_push.set(time.time())
    try:
        _add_previous_push(metrics, url, job=job, instance=instance, timeout=timeout)
        # One group per job and host: a re-run replaces its own previous push, never another host's.
        push_to_gateway(url, job=job, registry=metrics.registry, grouping_key={"instance": instance},
                        timeout=timeout)
    except OSError as exc:
        log.warning("could not push metrics to %s: %s", url, exc)
        return False
    return True


def _add_previous_push(metrics: FailcatMetrics, url: str, *, job: str, instance: str, timeout: float) -> None:
    # A push replaces the group, so each run would restart the gateway's counters from its own count and
    # Prometheus would miss whatever the previous run had already reached. Adding the group's previous
    # counter values first keeps them monotonic across runs (one writer per job and host).
    counters: dict[str, Counter] = {}
    for value in vars(metrics).values():
        counter = value._counter if isinstance(value, _BoundedCounter) else value
        if isinstance(counter, Counter):
            counters[f"{counter._name}_total"] = counter
    with urllib.request.urlopen(f"{url.rstrip('/')}/metrics", timeout=timeout) as resp:  # noqa: S310
        text = resp.read().decode("utf-8", "replace")
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            counter = counters.get(sample.name)
            if counter is None or sample.value <= 0 or sample.labels.get("job") != job \
                    or sample.labels.get("instance") != instance:
                continue
            labels = {k: v for k, v in sample.labels.items() if k not in ("job", "instance")}
            try:
                (counter.labels(**labels) if labels else counter).inc(sample.value)
            except ValueError:
                continue  # a label set this version no longer has
