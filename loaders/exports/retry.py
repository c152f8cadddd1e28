"""Re-upload exports kept locally: atomic claims, bounded tries, archive only after a verified upload."""
from __future__ import annotations

import fcntl
import json
import os
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from core.metrics import FailcatMetrics, get_metrics
from core.settings import Settings, get_settings
from core.types import utcnow
from loaders.exports import audit as q
from loaders.exports.exporter import (
    ARCHIVE_DIR,
    ATTEMPT_FAILED,
    ATTEMPT_FALLBACK,
    ATTEMPT_RETRYING,
    ATTEMPT_UPLOADED,
    key_for_file,
    refresh_pending_gauge,
)
from loaders.exports.r2 import R2Config, R2Error, R2Store, sha256_hex

ADOPT_MIN_AGE = 300.0
FILE_PATTERN = re.compile(r"^candidates_\d{8}T\d{6}Z_[0-9a-f]{12}\.json$")

MAX_TRIES = 5
# A `retrying` row older than this is taken to belong to a crashed worker. It is far longer than one
# upload can take (3 attempts x (5 s connect + 30 s read) + backoff), so a live worker is never overtaken.
STALE_AFTER = timedelta(minutes=30)
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min|h|hr)?\s*$", re.I)


@dataclass
class RetryReport:
    """Outcome of one pass: counts per outcome, error lines, and fallbacks still pending afterwards."""

    adopted: int = 0
    claimed: int = 0
    uploaded: int = 0
    deferred: int = 0
    failed: int = 0
    skipped: int = 0
    pending: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (f"adopted={self.adopted} claimed={self.claimed} uploaded={self.uploaded} "
                f"deferred={self.deferred} failed={self.failed} skipped={self.skipped} pending={self.pending}")


def parse_interval(text: str) -> float:
    """'15m', '900', '90s', '1h' -> seconds (at least 1)."""
    m = _DURATION.match(text or "")
    if not m:
        raise ValueError(f"invalid interval {text!r}: use e.g. 90s, 15m or 1h")
    value = float(m.group(1)) * {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hr": 3600}[
        (m.group(2) or "s").lower()]
    if value < 1:
        raise ValueError("the interval must be at least 1 second")
    return value


def _find_file(local_path: str | None) -> Path | None:
    # A worker that crashed after archiving but before updating its row left the file in archive/.
    if not local_path:
        return None
    p = Path(local_path)
    for candidate in (p, p.parent / ARCHIVE_DIR / p.name):
        if candidate.is_file():
            return candidate
    return None


def _archive(path: Path) -> Path:
    """Move an uploaded (and verified) fallback file into archive/ next to it."""
    if path.parent.name == ARCHIVE_DIR:
        return path
    target_dir = path.parent / ARCHIVE_DIR
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / path.name
    os.replace(path, target)
    return target


def adopt_orphans(engine: Engine, fallback_dir: Path, *, min_age: float = ADOPT_MIN_AGE,
                  max_age: float = 90 * 86400.0) -> int:
    """Give an audit row to export files in the fallback folder that have none (a crash between writing the
    file and recording it); returns how many. A file lock keeps two workers on this host from adopting twice.

    Only files older than `min_age` seconds (an exporter may be about to record a fresh one) and younger
    than `max_age` (RETENTION_DAYS: older rows were removed by retention on purpose) are adopted.
    """
    if not fallback_dir.is_dir():
        return 0
    now = time.time()
    names = [p for p in fallback_dir.iterdir() if p.is_file() and FILE_PATTERN.match(p.name)
             and min_age <= now - p.stat().st_mtime <= max_age]
    if not names:
        return 0
    adopted = 0
    with open(fallback_dir / ".adopt.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with engine.begin() as conn:
                known = q.known_local_paths(conn, [str(p) for p in names])
                for path in names:
                    if str(path) in known or not path.is_file():
                        continue
                    body = path.read_bytes()
                    try:
                        tenant = json.loads(body).get("scope", {}).get("tenant_id")
                    except (ValueError, AttributeError):
                        tenant = None
                    q.insert_export(conn, status=q.FALLBACK_LOCAL, uploader="retry-worker", size_bytes=len(body),
                                    sha256=sha256_hex(body), local_path=str(path), tenant_id=tenant,
                                    notes="adopted: the file had no audit row")
                    adopted += 1
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return adopted


def retry_one(engine: Engine, export_id: int, *, store: R2Store, prefix: str, metrics: FailcatMetrics,
              max_tries: int, stale_after: timedelta, include_failed: bool, report: RetryReport) -> None:
    """Claim one export and try to upload it; every path ends in uploaded, fallback_local or failed."""
    now = utcnow()
    with engine.begin() as conn:
        tries = q.claim_for_retry(conn, export_id, now=now, stale_before=now - stale_after,
                                  include_failed=include_failed)
        row = q.get_export(conn, export_id) if tries is not None else None
    if tries is None or row is None:
        report.skipped += 1
        return
    report.claimed += 1
    metrics.count_upload(ATTEMPT_RETRYING)

    def give_back(message: str, *, permanent: bool = False) -> None:
        status = q.FAILED if permanent or tries >= max_tries else q.FALLBACK_LOCAL
        with engine.begin() as conn:
            q.release_retry(conn, export_id, retry_count=tries, status=status, notes=f"retry {tries}: {message}")
        metrics.count_upload(ATTEMPT_FAILED if status == q.FAILED else ATTEMPT_FALLBACK)
        report.errors.append(f"export {export_id}: {message}")
        if status == q.FAILED:
            report.failed += 1
        else:
            report.deferred += 1

    path = _find_file(row["local_path"])
    if path is None:
        give_back(f"fallback file missing: {row['local_path']}", permanent=True)
        return
    body = path.read_bytes()
    if sha256_hex(body) != row["sha256"]:
        give_back(f"fallback file {path} no longer matches its sha256 {row['sha256'][:12]}", permanent=True)
        return
    key = key_for_file(prefix, path.name)
    try:
        existing = store.head(key)
        if existing and existing["size"] == len(body) and existing["sha256"] == row["sha256"]:
            note = f"retry {tries}: already present and verified in bucket {store.bucket}"
        else:
            store.upload(key, body, sha256=row["sha256"],
                         metadata={"tenant": row.get("tenant_id") or "all", "export-id": str(export_id)})
            note = f"retry {tries}: uploaded and verified in bucket {store.bucket}"
    except R2Error as exc:
        give_back(f"{exc.kind}: {exc}")
        return
    try:
        final_path = _archive(path)
    except OSError as exc:  # the object is safe in R2; the file simply stays where it is
        final_path = path
        note += f"; archiving the local file failed: {exc}"
    with engine.begin() as conn:
        won = q.mark_uploaded(conn, export_id, retry_count=tries, s3_key=key, uploaded_at=utcnow(),
                              local_path=str(final_path), notes=note)
    if won:
        report.uploaded += 1
        metrics.count_upload(ATTEMPT_UPLOADED)
    else:
        report.errors.append(f"export {export_id}: claim lost before it was marked uploaded")


def retry_fallbacks(
    engine: Engine,
    *,
    settings: Settings | None = None,
    metrics: FailcatMetrics | None = None,
    store: R2Store | None = None,
    max_tries: int = MAX_TRIES,
    stale_after: timedelta = STALE_AFTER,
    ids: list[int] | None = None,
    include_failed: bool = False,
    batch: int = 500,
    stop: threading.Event | None = None,
) -> RetryReport:
    """One pass over pending fallbacks (or only `ids`); raises R2Error(kind=unconfigured) without R2."""
    settings = settings or get_settings()
    metrics = metrics or get_metrics()
    report = RetryReport()
    if store is None:
        cfg = R2Config.from_settings(settings)
        if cfg is None:
            report.pending = refresh_pending_gauge(engine, metrics)
            raise R2Error(f"R2 is not configured (set R2_ENDPOINT_URL and R2_BUCKET); "
                          f"{report.pending} exports wait locally", kind="unconfigured")
        store = R2Store(cfg)
    if ids is None:
        report.adopted = adopt_orphans(engine, Path(settings.export_fallback_dir),
                                       max_age=settings.retention_days * 86400.0)
    now = utcnow()
    with engine.connect() as conn:
        todo = q.claimable_ids(conn, stale_before=now - stale_after, include_failed=include_failed, ids=ids,
                               limit=batch)
    for export_id in todo:
        if stop is not None and stop.is_set():
            break
        retry_one(engine, export_id, store=store, prefix=settings.r2_prefix, metrics=metrics, max_tries=max_tries,
                  stale_after=stale_after, include_failed=include_failed, report=report)
    report.pending = refresh_pending_gauge(engine, metrics)
    return report


def run_forever(
    engine: Engine,
    *,
    every: float,
    stop: threading.Event,
    on_report: Callable[[RetryReport | None, Exception | None], None],
    **kwargs: object,
) -> None:
    """Run a pass, then wait `every` seconds (or until `stop` is set), until stopped."""
    while not stop.is_set():
        try:
            report = retry_fallbacks(engine, stop=stop, **kwargs)  # type: ignore[arg-type]
            on_report(report, None)
        except Exception as exc:  # noqa: BLE001 - the loop survives a failed pass and reports it
            on_report(None, exc)
        stop.wait(every)
