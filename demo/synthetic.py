"""Realistic synthetic failure events (design.md section 5) with a seeded RNG, and their planned recoveries.

Daily rhythm (working hours busier, weekends quieter), incidents (one code spiking for 30-90 minutes),
runs with several failures, real-library style messages for catalog codes read at runtime, and about
15% messages from recurring unknown templates that miss the catalog (checked against the matcher).
"""
from __future__ import annotations

import random
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from core.ids import event_failure_id
from demo.messages import (
    ALL_TEMPLATES,
    UNKNOWN_TEMPLATES,
    UNKNOWN_WEIGHTS,
    Template,
    fill_unknown,
    template_for,
)
from demo.vocab import HOSTS, MODELS
from loaders.catalog.file import CatalogEntry
from loaders.catalog.matcher import Matcher

TENANT_NAMES = ("acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne", "tyrell", "soylent", "wonka")
SKILLS = ("web_search", "sql_query", "send_email", "summarise", "fetch_page", "code_exec", "calendar_book",
          "crm_lookup", "pdf_extract", "embed_documents")
REGIONS = ("eu-west-1", "us-east-1", "ap-southeast-2")
ACTORS = ("alice", "bob", "carol", "oncall-bot")

# (probability a recovery is attempted, probability it succeeds when attempted) by recovery mode.
RECOVERY_PROFILE: dict[str, tuple[float, float]] = {
    "RETRY_IMMEDIATE": (0.9, 0.92),
    "RETRY_EXPONENTIAL": (0.9, 0.88),
    "RETRY_WITH_JITTER": (0.9, 0.88),
    "FALLBACK": (0.8, 0.8),
    "CIRCUIT_BREAKER": (0.75, 0.75),
    "SKIP": (0.6, 0.95),
    "CHECKPOINT_RESTORE": (0.7, 0.7),
    "ESCALATE": (0.5, 0.55),
    "MANUAL_INTERVENTION": (0.45, 0.45),
    "ABORT": (0.08, 0.2),
}
UNMATCHED_PROFILE = (0.2, 0.4)  # someone looks at an unknown failure now and then

# Relative failure volume by UTC hour: busy working hours, quiet nights; weekends at WEEKEND_FACTOR.
HOUR_WEIGHTS = (0.25, 0.2, 0.2, 0.2, 0.25, 0.35, 0.6, 1.0, 1.7, 2.2, 2.4, 2.4,
                2.0, 2.3, 2.4, 2.3, 2.1, 1.7, 1.2, 0.9, 0.7, 0.55, 0.4, 0.3)
WEEKEND_FACTOR = 0.4
BURST_SHARE = 0.1


@dataclass(frozen=True)
class PlannedFailure:
    """One synthetic event with what must happen to it: the code it must hit (None = must miss)
    and the planned recovery (None = not attempted, else True/False for succeeded)."""

    event: dict
    expected_code: str | None
    recovery: bool | None

    @property
    def id(self) -> str:
        """The id the failure is stored under (derived from its tenant and the event's own id)."""
        return str(event_failure_id(self.event["tenant_id"], uuid.UUID(str(self.event["id"]))))


@dataclass(frozen=True)
class _Incident:
    tenant: str
    entry: CatalogEntry
    start: datetime
    minutes: int


def tenant_names(count: int, prefix: str | None = None) -> list[str]:
    """`count` tenant ids: readable names first, then tenant-NNN (or prefix-N when given)."""
    if prefix:
        return [f"{prefix}-{i + 1}" if count > 1 else prefix for i in range(count)]
    names = list(TENANT_NAMES[:count])
    names += [f"tenant-{i:03d}" for i in range(len(names) + 1, count + 1)]
    return names


class SyntheticGenerator:
    """Seeded generator of planned failures over the last `days` days for `tenants`."""

    def __init__(
        self,
        entries: Iterable[CatalogEntry],
        *,
        seed: int | None = None,
        tenants: list[str] | int = 3,
        days: float = 7,
        end: datetime,
        unmatched_share: float = 0.15,
        matcher: Matcher | None = None,
    ) -> None:
        if days <= 0:
            raise ValueError("days must be positive")
        self.entries = sorted((e for e in entries if e.enabled), key=lambda e: e.code)
        if not self.entries:
            raise ValueError("the catalog has no enabled entries: run `failcat migrate` or `failcat catalog load`")
        if not 0 <= unmatched_share <= 1:
            raise ValueError("unmatched_share must be between 0 and 1")
        self.rng = random.Random(seed)
        self.matcher = matcher or Matcher(self.entries)
        self.tenants = tenant_names(tenants) if isinstance(tenants, int) else list(tenants)
        if not self.tenants:
            raise ValueError("at least one tenant is needed")
        self.end = end
        self.start = end - timedelta(days=days)
        self.unmatched_share = unmatched_share
        rng = self.rng
        # Skewed volumes: a few codes and tenants produce most failures, as in real fleets.
        self.entry_weights = [rng.paretovariate(1.2) * (2.0 if e.is_retryable else 1.0) for e in self.entries]
        self.tenant_weights = [rng.paretovariate(1.5) for _ in self.tenants]
        self.templates = fitting_templates(self.entries, self.matcher)
        self.unknown = usable_unknown_templates(self.matcher)
        if unmatched_share > 0 and not self.unknown:
            raise ValueError("every unknown template matches the catalog; cannot generate unmatched failures")
        self.unknown_weights = [UNKNOWN_WEIGHTS[UNKNOWN_TEMPLATES.index(t)] for t in self.unknown]
        self._incidents: list[_Incident] = []

    # -- time ---------------------------------------------------------------------------------------------
    def _rhythm_time(self) -> datetime:
        """A timestamp in [start, end) drawn with the daily and weekly rhythm (rejection sampling)."""
        rng, span = self.rng, (self.end - self.start).total_seconds()
        top = max(HOUR_WEIGHTS)
        while True:
            ts = self.start + timedelta(seconds=rng.random() * span)
            weight = HOUR_WEIGHTS[ts.hour] * (WEEKEND_FACTOR if ts.weekday() >= 5 else 1.0)
            if rng.random() * top <= weight:
                return ts

    def _clamp(self, ts: datetime) -> datetime:
        return min(ts, self.end - timedelta(seconds=1))

    # -- choices ------------------------------------------------------------------------------------------
    def _tenant(self) -> str:
        return self.rng.choices(self.tenants, self.tenant_weights)[0]

    def _entry(self) -> CatalogEntry:
        return self.rng.choices(self.entries, self.entry_weights)[0]

    def _incidents_for(self, n: int) -> list[_Incident]:
        days = (self.end - self.start).total_seconds() / 86400
        count = max(1, min(int(days * 1.5) + 1, n // 150 or 1))
        retryable = [e for e in self.entries if e.is_retryable] or self.entries
        return [
            _Incident(self._tenant(), self.rng.choice(retryable), self._rhythm_time(), self.rng.randint(30, 90))
            for _ in range(count)
        ]

    def _unknown_message(self) -> str:
        rng = self.rng
        for _ in range(20):
            template = rng.choices(self.unknown, self.unknown_weights)[0]
            message = fill_unknown(template, rng)
            if not self.matcher.match(None, message).matched:
                return message
        raise RuntimeError("could not produce an unmatched message")  # pragma: no cover - templates are checked

    def _recovery(self, entry: CatalogEntry | None) -> bool | None:
        attempt_p, success_p = RECOVERY_PROFILE.get(entry.recovery_mode, (0.5, 0.5)) if entry else UNMATCHED_PROFILE
        if self.rng.random() >= attempt_p:
            return None
        return self.rng.random() < success_p

    def _failure(self, tenant_id: str, run_id: str, ts: datetime, step: int, skill: str,
                 entry: CatalogEntry | None) -> PlannedFailure:
        rng = self.rng
        event = {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "tenant_id": tenant_id,
            "run_id": run_id,
            "skill_id": skill,
            "step_index": step,
            "occurred_at": ts.isoformat(),
            "context": {
                "attempt": rng.randint(1, 4),
                "model": rng.choice(MODELS),
                "host": rng.choice(HOSTS),
                "region": rng.choice(REGIONS),
                "trace_id": f"{rng.getrandbits(128):032x}",
            },
        }
        if entry is not None:
            event["error_code"] = entry.code  # a runtime that knows its code sends it
            event["error_message"] = rng.choice(self.templates[entry.code])(rng)
        else:
            event["error_message"] = self._unknown_message()
        return PlannedFailure(event, entry.code if entry else None, self._recovery(entry))

    # -- runs ---------------------------------------------------------------------------------------------
    def _run(self, incident: _Incident | None) -> Iterator[PlannedFailure]:
        rng = self.rng
        run_id = f"run-{rng.getrandbits(48):012x}"
        if incident is not None:
            tenant, size = incident.tenant, rng.randint(1, 3)
            ts = incident.start + timedelta(seconds=rng.random() * incident.minutes * 60)
        else:
            tenant, size = self._tenant(), min(1 + int(rng.expovariate(0.6)), 8)
            ts = self._rhythm_time()
        step = rng.randint(0, 5)
        p_unknown = min(1.0, self.unmatched_share / (1 - BURST_SHARE)) if incident is None else 0.0
        for _ in range(size):
            entry = None if rng.random() < p_unknown else (incident.entry if incident else self._entry())
            yield self._failure(tenant, run_id, self._clamp(ts), step, rng.choice(SKILLS), entry)
            ts += timedelta(seconds=rng.expovariate(1 / 45))
            step += rng.randint(1, 3)

    def generate(self, n: int) -> Iterator[PlannedFailure]:
        """Yield exactly `n` planned failures (runs, incidents, rhythm), deterministic for a seed."""
        if n < 0:
            raise ValueError("the number of events must not be negative")
        incidents = self._incidents_for(n)
        produced = 0
        while produced < n:
            incident = self.rng.choice(incidents) if self.rng.random() < BURST_SHARE else None
            for item in islice(self._run(incident), n - produced):
                produced += 1
                yield item


def fitting_templates(entries: list[CatalogEntry], matcher: Matcher, probes: int = 12) -> dict[str, list[Template]]:
    """Per entry, the library texts the catalog itself matches to that entry (read at runtime, so a
    growing catalog gets realistic texts); entries no library text fits get their rule-based template."""
    rng = random.Random(0)
    found: dict[str, list[Template]] = {}
    for template in ALL_TEMPLATES:
        codes = {matcher.match(None, template(rng)).error_code for _ in range(probes)}
        if len(codes) == 1:  # only texts the catalog reads consistently as one entry
            found.setdefault(codes.pop(), []).append(template)
    return {e.code: found.get(e.code) or [template_for(e)] for e in entries}


def usable_unknown_templates(matcher: Matcher, probes: int = 5) -> list[str]:
    """Unknown templates none of whose sample fills match the catalog (so they stay unmatched)."""
    rng = random.Random(0)
    return [
        t for t in UNKNOWN_TEMPLATES
        if not any(matcher.match(None, fill_unknown(t, rng)).matched for _ in range(probes))
    ]


def batched(items: Iterable[PlannedFailure], size: int) -> Iterator[list[PlannedFailure]]:
    """Split planned failures into lists of at most `size`."""
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk
