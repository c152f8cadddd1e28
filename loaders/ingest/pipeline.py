"""The one ingest path: validate -> match -> batched insert -> rollups -> metrics, with a spool."""
from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from core.db import note_rows_written
from core.ids import event_failure_id, new_failure_id
from core.metrics import FailcatMetrics, get_metrics
from core.schema import api_tokens
from core.settings import get_settings
from core.types import utcnow
from core.vocabulary import UNKNOWN_SEVERITY_RANK, severity_rank
from loaders.catalog.matcher import Matcher, load_matcher
from loaders.catalog.signature import normalise_message
from loaders.ingest.events import EventError, FailureEvent, reject_reason, validate_event
from loaders.ingest.spool import Spool
from loaders.ingest.writers import row_writer
from queries.flags import CATALOG_FLAG, is_enabled
from queries.groups.store import GroupChange, GroupDelta, GroupKey, apply_group_deltas, group_deltas
from queries.rollups.failures import RollupBatch, apply_rollup_batch, prepare_rollups
from queries.rollups.signatures import SignatureDelta, SignatureKey, apply_signature_deltas, signature_deltas

log = logging.getLogger(__name__)



class IngestDisabled(RuntimeError):
    """The failure_catalog_m9 feature flag is off: ingest refuses until it is turned back on."""


@dataclass
class IngestReport:
    """What one ingest call did; `errors` lists refused events by position."""

    received: int = 0
    inserted: int = 0
    duplicates: int = 0
    matched: int = 0
    unmatched: int = 0
    spooled: int = 0
    replayed: int = 0
    dropped: int = 0
    refused: int = 0  # spooled events whose token was revoked before they were spooled
    regressed: int = 0  # resolved groups these failures reopened
    errors: list[EventError] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        """Number of distinct events refused by validation."""
        return len({e.position for e in self.errors})

    def merge(self, other: IngestReport) -> None:
        """Add another report's counts to this one."""
        for name in ("received", "inserted", "duplicates", "matched", "unmatched", "spooled", "replayed", "dropped",
                     "refused", "regressed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)
        self.ids.extend(other.ids)


MAX_REASON = 400


def stored_id(event: FailureEvent, occurred: datetime) -> uuid.UUID:
    """The id an event is stored under: derived from tenant and the event's own id, or a fresh UUIDv7."""
    return event_failure_id(event.tenant_id, event.id) if event.id is not None else new_failure_id(occurred)


def build_row(event: FailureEvent, matcher: Matcher, now: Any, failure_id: uuid.UUID | None = None) -> dict[str, Any]:
    """Match one validated event and return its failure_matches row (`failure_id` when fixed before, on replay)."""
    result = matcher.match(event.error_code, event.error_message)
    entry = result.entry
    occurred = event.occurred_at or now
    return {
        "id": failure_id or stored_id(event, occurred),
        "run_id": event.run_id,
        "tenant_id": event.tenant_id,
        "error_code": result.error_code,
        "error_message": event.error_message,
        "signature": result.signature,
        "catalog_entry_id": entry.id if entry else None,
        "match_type": result.match_type,
        "confidence": result.confidence,
        "match_reason": result.reason[:MAX_REASON],
        "category": entry.category if entry else None,
        "severity": entry.severity if entry else None,
        "severity_rank": severity_rank(entry.severity) if entry else UNKNOWN_SEVERITY_RANK,
        "recovery_mode": entry.recovery_mode if entry else None,
        "recovery_suggestion": entry.recovery_suggestions[0] if entry and entry.recovery_suggestions else None,
        "skill_id": event.skill_id,
        "step_index": event.step_index,
        "is_retryable": bool(entry.is_retryable) if entry else False,
        "recovery_attempted": False,
        "recovery_succeeded": None,
        "recovered_at": None,
        "recovered_by": None,
        "recovery_notes": None,
        "context": event.context,
        "created_at": occurred,
        "updated_at": now,
        "version": 1,
    }


@dataclass
class Prepared:
    """A matched batch and what its write reuses when every row is stored (rollup deltas, the writer's own)."""

    started: float
    rows: list[dict[str, Any]] | None
    rollups: RollupBatch | None = None
    signatures: dict[SignatureKey, SignatureDelta] | None = None
    groups: dict[GroupKey, GroupDelta] | None = None
    store: Any = None  # what the row writer prepared (loaders.ingest.writers)


class IngestPipeline:
    """Stores failure events; reuse one pipeline for many calls (the matcher is compiled once)."""

    def __init__(
        self,
        engine: Engine,
        *,
        matcher: Matcher | None = None,
        metrics: FailcatMetrics | None = None,
        spool: Spool | None = None,
        batch_size: int | None = None,
        check_flag: bool = True,
    ) -> None:
        settings = get_settings()
        self.engine = engine
        self.metrics = metrics or get_metrics()
        self.spool = spool or Spool(settings.spool_dir)
        self.batch_size = batch_size or settings.ingest_batch_size
        self.check_flag = check_flag
        self.writer = row_writer(engine)
        self._matcher = matcher

    @property
    def matcher(self) -> Matcher:
        """The compiled catalog, loaded from the database on first use."""
        if self._matcher is None:
            self._matcher = load_matcher(self.engine)
            self.metrics.codes.set_known(self._matcher.by_code)
        return self._matcher

    def reload_catalog(self) -> None:
        """Forget the compiled catalog so the next batch sees promoted entries."""
        self._matcher = None

    def ensure_enabled(self) -> None:
        """Raise IngestDisabled while the catalog feature flag is off."""
        if not self.check_flag:
            return
        with self.engine.connect() as conn:
            if not is_enabled(conn, CATALOG_FLAG):
                raise IngestDisabled(
                    f"failure ingest is disabled: feature flag {CATALOG_FLAG} is off "
                    "(turn it on with `failcat flags set failure_catalog_m9 on`)"
                )

    def ingest(self, events: Iterable[Any], *, first_position: int = 1, replay: bool = True) -> IngestReport:
        """Validate and store raw events (dicts); error positions count from first_position."""
        checked = (validate_event(raw, pos) for pos, raw in enumerate(events, start=first_position))
        return self.ingest_checked(checked, replay=replay)

    def ingest_checked(
        self, items: Iterable[FailureEvent | list[EventError]], *, replay: bool = True,
        on_item: Callable[[], None] | None = None, token_id: int | None = None,
    ) -> IngestReport:
        """Store validated events in batches; error lists are reported, not stored.

        `token_id` names the API token that sent the events: spooled events remember it, and a replay refuses
        the events of a token revoked before they were spooled.
        """
        try:
            self.ensure_enabled()
        except (OperationalError, DBAPIError):
            pass  # database down: batches go to the spool below, and the flag is checked on replay
        report = IngestReport()
        if replay:
            try:
                report.merge(self.replay_spool())
            except (OperationalError, DBAPIError):
                pass  # still down; the spool keeps its batches
        batch: list[FailureEvent] = []
        # While one batch is written (the database works, this process mostly waits on the socket), the next
        # one is validated and matched here: one writer thread, at most one batch in flight, reports merged in
        # order. A single-batch call (the API's) never starts the thread.
        writer: ThreadPoolExecutor | None = None
        pending: Future[IngestReport] | None = None
        try:
            for item in items:
                report.received += 1
                if on_item is not None:
                    on_item()
                if isinstance(item, list):
                    report.errors.extend(item)
                    if item:
                        self.metrics.events_rejected.labels(reason=reject_reason(item[0])).inc()
                    continue
                batch.append(item)
                if len(batch) >= self.batch_size:
                    prepared = self._prepare(batch)
                    if pending is not None:
                        report.merge(pending.result())
                    writer = writer or ThreadPoolExecutor(max_workers=1, thread_name_prefix="failcat-ingest")
                    pending = writer.submit(self._write, batch, prepared, token_id)
                    batch = []
            if batch:
                prepared = self._prepare(batch)
                if pending is not None:
                    report.merge(pending.result())
                    pending = None
                report.merge(self._write(batch, prepared, token_id))
            if pending is not None:
                report.merge(pending.result())
                pending = None
        finally:
            if writer is not None:
                writer.shutdown(wait=True)
        return report

    def store(self, events: list[FailureEvent]) -> IngestReport:
        """Match and insert one batch of validated events; spool it if the database fails."""
        return self._write(events, self._prepare(events))

    def _prepare(self, events: list[FailureEvent]) -> Prepared:
        """Match a batch and precompute what its write needs (CPU only, overlapping the previous write)."""
        started = time.perf_counter()
        now = utcnow()
        try:
            matcher = self.matcher
        except (OperationalError, DBAPIError):
            return Prepared(started, None)
        rows = [build_row(e, matcher, now) for e in events]
        return Prepared(started, rows, prepare_rollups(rows, dialect=self.engine.dialect.name),
                        signature_deltas(rows), group_deltas(rows), self.writer.prepare(rows))

    def _write(self, events: list[FailureEvent], prepared: Prepared, token_id: int | None = None) -> IngestReport:
        """Insert a matched batch; spool it if the database fails."""
        started, rows = prepared.started, prepared.rows
        if rows is None:
            return self._spool([spool_row(e, None, token_id) for e in events])
        try:
            # Only an event's own id can be stored already (generated ids are new).
            client_ids = {r["id"] for e, r in zip(events, rows, strict=True) if e.id is not None}
            report = self._insert(rows, check_ids=client_ids or None, prepared=prepared)
        except (OperationalError, DBAPIError) as exc:
            if not _is_connection_error(exc):
                raise
            return self._spool([spool_row(e, r["id"], token_id) for e, r in zip(events, rows, strict=True)])
        self.metrics.ingest_seconds.observe(time.perf_counter() - started)
        note_rows_written(self.engine, report.inserted)
        return report

    def _insert(self, rows: list[dict[str, Any]], *, check_ids: set[Any] | None,
                prepared: Prepared | None = None) -> IngestReport:
        """Store the rows whose ids are new, with their rollups and groups, in one transaction; count what happened."""
        changes: list[GroupChange] = []

        def record(conn: Connection, fresh: list[dict[str, Any]]) -> None:
            every = prepared is not None and len(fresh) == len(rows)
            rollups = prepared.rollups if every and prepared is not None else None
            apply_rollup_batch(conn, rollups or prepare_rollups(fresh, dialect=conn.dialect.name))
            signatures = prepared.signatures if every and prepared is not None else None
            apply_signature_deltas(conn, signatures if signatures is not None else signature_deltas(fresh))
            groups = prepared.groups if every and prepared is not None else None
            changes[:] = apply_group_deltas(conn, groups if groups is not None else group_deltas(fresh),
                                            now=utcnow(), title_of=normalise_message)

        fresh = self.writer.write(rows, check_ids=check_ids, prepared=prepared.store if prepared else None,
                                  record=record)
        report = IngestReport(inserted=len(fresh), duplicates=len(rows) - len(fresh), ids=[str(r["id"]) for r in rows])
        regressed = sum(c.action == "regressed" for c in changes)
        if regressed:
            self.metrics.group_regressions.inc(regressed)
        report.regressed += regressed
        # One counter increment per (code, category, outcome) in the batch, not one per row.
        outcomes = Counter((r["error_code"], r["category"], r["catalog_entry_id"] is not None) for r in fresh)
        for (code, category, matched), n in outcomes.items():
            if matched:
                report.matched += n
            else:
                report.unmatched += n
            self.metrics.count_match(error_code=code, category=category, matched=matched, n=n)
        return report

    def _spool(self, raw_events: list[dict[str, Any]]) -> IngestReport:
        report = IngestReport(ids=[str(e["failure_id"]) for e in raw_events])
        try:
            self.spool.write(raw_events)
        except OSError:
            report.dropped = len(raw_events)
            self.metrics.persist_dropped.inc(len(raw_events))
            return report
        report.spooled = len(raw_events)
        self.metrics.events_spooled.inc(len(raw_events))
        self.metrics.spool_pending.inc(len(raw_events))
        return report

    def replay_spool(self) -> IngestReport:
        """Store every spooled batch this process can claim; batches that fail again stay spooled."""
        report = IngestReport()
        self.spool.recover_stale()
        for claimed, lines in self.spool.claim():
            spooled = [read_spool_row(line) for line in lines]
            try:
                with self.engine.connect() as conn:
                    revoked = revoked_before_spooling(conn, spooled)
                refused = {id(s) for s in revoked}
                kept = [s for s in spooled if id(s) not in refused]
                rows = [build_row(s.event, self.matcher, utcnow(), s.failure_id) for s in kept]
                stored = self._insert(rows, check_ids={r["id"] for r in rows}) if rows else IngestReport()
            except (OperationalError, DBAPIError):
                self.spool.release(claimed)
                break
            self.spool.done(claimed)
            if revoked:
                # Revocation wins over the outage grace (api.deps): these were sent with a revoked token.
                log.warning("spool replay refused %d events sent with a revoked API token", len(revoked))
                self.metrics.events_rejected.labels(reason="revoked_token").inc(len(revoked))
            report.refused += len(revoked)
            report.replayed += stored.inserted + stored.duplicates
            report.inserted += stored.inserted
            report.duplicates += stored.duplicates
            report.matched += stored.matched
            report.unmatched += stored.unmatched
            self.metrics.events_replayed.inc(len(kept))
            self.metrics.spool_pending.dec(len(spooled))
        return report


@dataclass(frozen=True, eq=False)
class SpooledEvent:
    """One spooled event: the event, the id fixed for it, the token that sent it and when it was spooled."""

    event: FailureEvent
    failure_id: uuid.UUID
    token_id: int | None
    spooled_at: datetime | None


def spool_row(event: FailureEvent, failure_id: uuid.UUID | None, token_id: int | None) -> dict[str, Any]:
    """The spool's line for an event; the id is fixed before spooling so a replay cannot store a row twice."""
    occurred = event.occurred_at or utcnow()
    data = event.model_dump(mode="json", exclude_none=True)
    data.setdefault("occurred_at", occurred.isoformat())
    return {"event": data, "failure_id": str(failure_id or stored_id(event, occurred)), "token_id": token_id,
            "spooled_at": utcnow().isoformat()}


def read_spool_row(line: dict[str, Any]) -> SpooledEvent:
    """A spooled line back as a SpooledEvent (a line without an "event" key is the event itself, its id final)."""
    if "event" not in line:
        event = FailureEvent.model_validate(line, context={"replay": True})
        return SpooledEvent(event, event.id or new_failure_id(event.occurred_at or utcnow()), None, None)
    event = FailureEvent.model_validate(line["event"], context={"replay": True})
    spooled_at = datetime.fromisoformat(line["spooled_at"]) if line.get("spooled_at") else None
    return SpooledEvent(event, uuid.UUID(line["failure_id"]), line.get("token_id"), spooled_at)


def revoked_before_spooling(conn: Connection, spooled: list[SpooledEvent]) -> list[SpooledEvent]:
    """The spooled events whose token was revoked (or deleted) before they were spooled."""
    token_ids = {s.token_id for s in spooled if s.token_id is not None}
    if not token_ids:
        return []
    revoked_at = dict(conn.execute(
        select(api_tokens.c.id, api_tokens.c.revoked_at).where(api_tokens.c.id.in_(token_ids))
    ).all())
    out = []
    for s in spooled:
        if s.token_id is None:
            continue
        if s.token_id not in revoked_at:  # a deleted token counts as revoked
            out.append(s)
            continue
        at = revoked_at[s.token_id]
        if at is not None and (s.spooled_at is None or at <= s.spooled_at):
            out.append(s)
    return out


def _is_connection_error(exc: BaseException) -> bool:
    if isinstance(exc, OperationalError):
        return True
    return bool(getattr(exc, "connection_invalidated", False))
