"""Exports page glue: cached audit loaders, run/retry actions (role re-checked), export bodies for download."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pandas as pd
from sqlalchemy.exc import SQLAlchemyError

from core.db import DatabaseUnavailable, describe_db_error
from core.metrics import get_metrics
from core.security import Principal
from core.settings import get_settings
from dashboard.cache import cached_loader, clear_caches
from dashboard.db import Database, database
from dashboard.text import lit
from loaders.exports import audit as q
from loaders.exports.exporter import read_export_body, run_export
from loaders.exports.r2 import R2Error
from loaders.exports.retry import retry_fallbacks

AUDIT_LIMIT = 500
RETRYABLE = (q.FALLBACK_LOCAL, q.FAILED)


@dataclass(frozen=True)
class ActionOutcome:
    """Result of a button: ok (success or warning level) and one message for the person."""

    ok: bool
    message: str
    warning: bool = False


@cached_loader()
def load_exports(db: Database, tenant_id: str | None, limit: int = AUDIT_LIMIT) -> pd.DataFrame:
    """Audit rows in scope (a tenant-scoped account sees only its tenant's exports), newest first."""
    with db.connect() as conn:
        return q.get_exports(conn, tenant_id=tenant_id, limit=limit)


@cached_loader()
def load_export_body(db: Database, export_id: int, sha256: str) -> bytes:
    """The JSON of one export (local file or R2); keyed by sha256 since an export never changes."""
    with db.connect() as conn:
        row = q.get_export(conn, export_id)
    if row is None or row["sha256"] != sha256:
        raise LookupError(f"export {export_id} is not in the audit trail")
    return read_export_body(row)


def r2_target() -> str | None:
    """'bucket/prefix at host' when R2 is configured, else None."""
    s = get_settings()
    if not s.r2_configured:
        return None
    return f"{s.r2_bucket}/{s.r2_prefix} at {urlsplit(str(s.r2_endpoint_url)).netloc or s.r2_endpoint_url}"


def fallback_dir() -> Path:
    """Where exports are kept when R2 is not available."""
    return Path(get_settings().export_fallback_dir)


def _denied(principal: Principal) -> ActionOutcome | None:
    if not principal.can("export"):
        return ActionOutcome(False, f"Your role ({principal.role}) does not allow you to run exports.")
    return None


def do_export(principal: Principal, *, tenant_id: str | None, days: int, min_occurrences: int) -> ActionOutcome:
    """Run one export as `principal` (role and tenant scope re-checked here, server side)."""
    denied = _denied(principal)
    if denied:
        return denied
    try:
        scope = principal.scope(tenant_id)
        result = run_export(database().engine, tenant_id=scope, days=int(days),
                            min_occurrences=int(min_occurrences), uploader=f"dashboard:{principal.name}",
                            metrics=get_metrics())
    except (DatabaseUnavailable, SQLAlchemyError) as exc:
        return ActionOutcome(False, f"Nothing was exported: {lit(describe_db_error(exc, database().url))}")
    except (PermissionError, ValueError, OSError) as exc:
        return ActionOutcome(False, f"Nothing was exported: {lit(exc)}")
    finally:
        clear_caches(load_exports)
    n = len(result.document.get("candidate_patterns", []))
    what = f"Export #{result.export_id} ({n} candidate patterns, {result.size_bytes:,} bytes)"
    if result.uploaded:
        return ActionOutcome(True, f"{what} uploaded and verified: {lit(result.key)}.")
    if result.error_kind == "unconfigured":
        return ActionOutcome(True, f"{what} written locally to {lit(result.local_path)}: R2 is not configured.",
                             warning=True)
    return ActionOutcome(True, f"{what} kept locally at {lit(result.local_path)} because the upload failed: "
                               f"{lit(result.error)}. Retry it below or let the retry worker upload it.", warning=True)


def do_retry(principal: Principal, *, ids: list[int] | None) -> ActionOutcome:
    """Retry the given exports (or all pending ones), including ones marked failed when chosen by id."""
    denied = _denied(principal)
    if denied:
        return denied
    include_failed = ids is not None  # failed exports are retried only when someone chose them
    try:
        if principal.tenant_id is not None:
            # A tenant-scoped admin may only retry its own tenant's exports.
            with database().connect() as conn:
                allowed = set(q.get_exports(conn, tenant_id=principal.tenant_id, limit=10_000)["id"].astype(int))
            ids = [i for i in (ids if ids is not None else allowed) if i in allowed]
        report = retry_fallbacks(database().engine, ids=ids, include_failed=include_failed,
                                 metrics=get_metrics())
    except R2Error as exc:
        return ActionOutcome(False, f"Nothing was retried: {lit(exc)}.")
    except (DatabaseUnavailable, SQLAlchemyError) as exc:
        return ActionOutcome(False, f"Nothing was retried: {lit(describe_db_error(exc, database().url))}")
    finally:
        clear_caches(load_exports)
    if report.claimed == 0:
        return ActionOutcome(True, "Nothing to retry: no chosen export is waiting (another worker may hold it).",
                             warning=True)
    text = f"Retried {report.claimed}: {report.uploaded} uploaded"
    if report.deferred:
        text += f", {report.deferred} still kept locally"
    if report.failed:
        text += f", {report.failed} marked failed"
    text += "."
    if report.errors:
        more = "" if len(report.errors) == 1 else f" (and {len(report.errors) - 1} more)"
        text += " " + lit(report.errors[0]) + more
    return ActionOutcome(report.uploaded == report.claimed, text, warning=report.uploaded != report.claimed)


def audit_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The audit rows as shown: where the export is (key or local path) in one column."""
    out = frame.copy()
    out["location"] = out["s3_key"].where(out["s3_key"].notna(), out["local_path"])
    return out[["id", "created_at", "status", "tenant_id", "size_bytes", "sha256", "retry_count", "last_retry_at",
                "location", "uploader", "notes"]]


def export_label(row: dict) -> str:
    """How an export is named in the download choice."""
    when = pd.Timestamp(row["created_at"]).strftime("%Y-%m-%d %H:%M")
    return f"#{row['id']} · {row['status']} · {row.get('tenant_id') or 'all tenants'} · {when} UTC"


def file_name(row: dict) -> str:
    """File name of an export (the key's or the local file's base name)."""
    return Path(str(row.get("s3_key") or row.get("local_path") or f"export_{row['id']}.json")).name
