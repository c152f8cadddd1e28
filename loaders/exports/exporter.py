"""Run one export: build the document, upload it to R2 verified, or keep it locally; always audit it."""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from core.metrics import FailcatMetrics, get_metrics
from core.settings import Settings, get_settings
from core.types import utcnow
from loaders.exports import audit as q
from loaders.exports import document as aggregate
from loaders.exports.r2 import R2Config, R2Error, R2Store, object_key, sha256_hex

# failure_agg_r2_upload_attempt_total{status} (core.metrics.UPLOAD_STATUSES, docs/export-schema.md):
# uploaded = an upload (first or retry) verified; fallback_local = an attempt failed and the document is
# (still) kept locally; retrying = a retry worker attempted a fallback; failed = a fallback was given up.
ATTEMPT_UPLOADED = "uploaded"
ATTEMPT_FALLBACK = "fallback_local"
ATTEMPT_RETRYING = "retrying"
ATTEMPT_FAILED = "failed"
ARCHIVE_DIR = "archive"


@dataclass
class ExportResult:
    """What happened to one export: status (uploaded | fallback_local), where it is, and why."""

    export_id: int
    status: str
    size_bytes: int
    sha256: str
    key: str
    file_name: str
    local_path: str | None = None
    error: str | None = None
    error_kind: str | None = None
    bucket: str | None = None
    document: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def uploaded(self) -> bool:
        return self.status == q.UPLOADED

    def message(self) -> str:
        """One line for humans."""
        if self.uploaded:
            return f"uploaded s3://{self.bucket}/{self.key} ({self.size_bytes} bytes, sha256 {self.sha256[:12]})"
        if self.error_kind == "unconfigured":
            return f"R2 is not configured; export written locally to {self.local_path} ({self.size_bytes} bytes)"
        return f"R2 upload failed ({self.error}); export kept at {self.local_path} for `failcat retry-exports`"


def file_name_for(generated_at: datetime, sha256: str) -> str:
    """`candidates_{UTC timestamp}_{sha12}.json`."""
    return f"candidates_{generated_at:%Y%m%dT%H%M%SZ}_{sha256[:12]}.json"


def key_for_file(prefix: str, file_name: str) -> str:
    """The object key of a fallback file, from the timestamp in its name."""
    stamp = file_name.split("_")[1]
    return "/".join(p for p in (prefix.strip("/"), stamp[0:4], stamp[4:6], stamp[6:8], file_name) if p)


def write_atomic(directory: Path, name: str, body: bytes) -> Path:
    """Write the file via a temporary name, fsync and rename, so a crash never leaves half a document."""
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / name
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def refresh_pending_gauge(engine: Engine, metrics: FailcatMetrics) -> int:
    """Set failure_export_fallbacks_pending from the audit table; return the count."""
    with engine.connect() as conn:
        pending = q.count_pending(conn)
    metrics.export_fallbacks_pending.set(pending)
    return pending


def run_export(
    engine: Engine,
    *,
    tenant_id: str | None = None,
    days: int = 7,
    min_occurrences: int = 3,
    limit: int = 100,
    uploader: str = "cli",
    settings: Settings | None = None,
    metrics: FailcatMetrics | None = None,
    store: R2Store | None = None,
    now: datetime | None = None,
) -> ExportResult:
    """Build, upload and audit one export; on any upload failure the document is kept in EXPORT_FALLBACK_DIR."""
    settings = settings or get_settings()
    metrics = metrics or get_metrics()
    with engine.connect() as conn:
        document = aggregate.build_document(conn, tenant_id=tenant_id, days=days,
                                            min_occurrences=min_occurrences, limit=limit, now=now)
    body = aggregate.render(document)
    digest = sha256_hex(body)
    generated_at = datetime.fromisoformat(document["generated_at"].replace("Z", "+00:00"))
    name = file_name_for(generated_at, digest)
    key = object_key(settings.r2_prefix, generated_at, name)

    error: R2Error | None = None
    cfg = store.cfg if store else R2Config.from_settings(settings)
    if cfg is None:
        error = R2Error("R2 is not configured (R2_ENDPOINT_URL / R2_BUCKET unset)", kind="unconfigured")
    else:
        try:
            store = store or R2Store(cfg)
            store.upload(key, body, sha256=digest, metadata={"tenant": tenant_id or "all", "schema-version":
                                                              aggregate.SCHEMA_VERSION})
        except R2Error as exc:
            error = exc

    result = ExportResult(export_id=0, status=q.UPLOADED, size_bytes=len(body), sha256=digest, key=key,
                          file_name=name, bucket=cfg.bucket if cfg else None, document=document)
    if error is None:
        with engine.begin() as conn:
            result.export_id = q.insert_export(
                conn, status=q.UPLOADED, uploader=uploader, size_bytes=len(body), sha256=digest, s3_key=key,
                tenant_id=tenant_id, uploaded_at=utcnow(),
                notes=f"verified size and sha256 in bucket {cfg.bucket}" if cfg else None,
            )
        metrics.count_upload(ATTEMPT_UPLOADED)
        refresh_pending_gauge(engine, metrics)
        return result

    # The local copy is written before the audit row so that a row never points at a missing file.
    path = write_atomic(Path(settings.export_fallback_dir), name, body)
    result.status = q.FALLBACK_LOCAL
    result.local_path = str(path)
    result.error = str(error)
    result.error_kind = error.kind
    with engine.begin() as conn:
        result.export_id = q.insert_export(
            conn, status=q.FALLBACK_LOCAL, uploader=uploader, size_bytes=len(body), sha256=digest,
            local_path=str(path), tenant_id=tenant_id, notes=f"{error.kind}: {error}",
        )
    if error.kind != "unconfigured":  # without R2 no upload was attempted, so nothing is counted
        metrics.count_upload(ATTEMPT_FALLBACK)
    refresh_pending_gauge(engine, metrics)
    return result


def read_export_body(row: dict[str, Any], *, settings: Settings | None = None, store: R2Store | None = None) -> bytes:
    """The JSON bytes of an audited export: from its local file when present, else from R2."""
    for candidate in _local_candidates(row):
        if candidate.is_file():
            return candidate.read_bytes()
    if row.get("s3_key"):
        if store is None:
            cfg = R2Config.from_settings(settings or get_settings())
            if cfg is None:
                raise R2Error("R2 is not configured; cannot download the uploaded export", kind="unconfigured")
            store = R2Store(cfg, attempts=2)
        return store.get(row["s3_key"])
    raise FileNotFoundError(f"export {row.get('id')}: no local file and no object key")


def _local_candidates(row: dict[str, Any]) -> list[Path]:
    out: list[Path] = []
    if row.get("local_path"):
        p = Path(row["local_path"])
        out += [p, p.parent / ARCHIVE_DIR / p.name]
    return out
