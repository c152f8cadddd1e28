"""failcat export, retry-exports and r2 (lifecycle, verify)."""
from __future__ import annotations

import getpass
import json
import signal
import sys
import threading
from datetime import datetime
from typing import Any

import click

from cli.common import engine_ready


def register(main: click.Group) -> None:
    """Add the export commands to the main group."""
    main.add_command(export)
    main.add_command(retry_exports)
    main.add_command(r2)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def _push(job: str) -> None:
    """Batch commands push their counters to PUSHGATEWAY_URL (when set), as `failcat ingest` does."""
    from core.metrics import push_metrics

    if push_metrics(job) is False:
        click.echo("failcat: warning: could not push metrics to PUSHGATEWAY_URL", err=True)


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name in some containers
        return "unknown"


@click.command()
@click.option("--tenant", "tenant_id", default=None,
              help="Export only this tenant's failures (default: all tenants).")
@click.option("--days", default=7, show_default=True, type=click.IntRange(1, 366), help="Window in days.")
@click.option("--min-occurrences", default=3, show_default=True, type=click.IntRange(1, None),
              help="Smallest group of unmatched failures that becomes a candidate pattern.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 1000),
              help="At most this many candidate patterns.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--require-upload", is_flag=True, help="Exit 1 when the export could only be kept locally.")
def export(tenant_id: str | None, days: int, min_occurrences: int, limit: int, as_json: bool,
           require_upload: bool) -> None:
    """Aggregate candidate patterns and upload them to R2 (kept locally when R2 fails)."""
    from loaders.exports.exporter import run_export

    result = run_export(engine_ready(), tenant_id=tenant_id, days=days, min_occurrences=min_occurrences, limit=limit,
                        uploader=f"cli:{_user()}")
    info = {"id": result.export_id, "status": result.status, "key": result.key, "bucket": result.bucket,
            "local_path": result.local_path, "size_bytes": result.size_bytes, "sha256": result.sha256,
            "candidate_patterns": len(result.document.get("candidate_patterns", [])), "error": result.error}
    where = f"s3://{result.bucket}/{result.key}" if result.uploaded else result.local_path
    click.echo(json.dumps(info) if as_json else
               f"{result.status} {where} size={result.size_bytes} sha256={result.sha256} id={result.export_id}")
    _push("failcat_export")
    if not result.uploaded:
        label = "note" if result.error_kind == "unconfigured" else "warning"
        click.echo(f"failcat: {label}: {result.message()}", err=True)
        if require_upload:
            sys.exit(1)


@click.command("retry-exports")
@click.option("--every", default=None,
              help="Keep running: one pass every interval (e.g. 15m); stop with Ctrl-C/SIGTERM.")
@click.option("--max-tries", default=5, show_default=True, type=click.IntRange(1, 100),
              help="Tries per export before it is marked failed.")
@click.option("--id", "ids", multiple=True, type=int, help="Only these export ids (repeatable).")
@click.option("--include-failed", is_flag=True, help="Also retry exports already marked failed.")
def retry_exports(every: str | None, max_tries: int, ids: tuple[int, ...], include_failed: bool) -> None:
    """Upload exports that were kept locally (fallback_local), once or in a loop."""
    from loaders.exports.retry import parse_interval, retry_fallbacks, run_forever

    engine = engine_ready()
    kwargs: dict[str, Any] = {"max_tries": max_tries, "ids": list(ids) or None, "include_failed": include_failed}
    if every is None:
        report = retry_fallbacks(engine, **kwargs)  # R2Error -> one-line `failcat: error:`
        click.echo(report.line())
        _push("failcat_retry_exports")
        for line in report.errors:
            click.echo(f"failcat: warning: {line}", err=True)
        if report.failed:
            sys.exit(1)
        return

    interval = parse_interval(every)
    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        click.echo(f"failcat: received {signal.Signals(signum).name}; stopping after the current upload", err=True)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)

    def _report(report: Any, exc: Exception | None) -> None:
        stamp = datetime.now().astimezone().strftime("%Y-%m-%dT%H:%M:%S%z")
        if exc is not None:
            click.echo(f"failcat: warning: {stamp} retry pass failed: {str(exc).splitlines()[0]}", err=True)
            return
        click.echo(f"{stamp} {report.line()}")
        _push("failcat_retry_exports")
        for line in report.errors:
            click.echo(f"failcat: warning: {line}", err=True)

    click.echo(f"failcat: retrying exports every {every}", err=True)
    run_forever(engine, every=interval, stop=stop, on_report=_report, **kwargs)
    click.echo("failcat: retry worker stopped", err=True)


@click.group()
def r2() -> None:
    """R2 bucket checks and lifecycle."""


def _store() -> Any:
    from core.settings import get_settings
    from loaders.exports.r2 import store_from_settings

    return store_from_settings(get_settings())  # R2Error -> one-line `failcat: error:`


@r2.command("lifecycle")
@click.option("--days", default=None, type=click.IntRange(1, None), help="Expiry in days (default RETENTION_DAYS).")
def r2_lifecycle(days: int | None) -> None:
    """Expire exported objects under R2_PREFIX after RETENTION_DAYS (other bucket rules are kept)."""
    from core.settings import get_settings

    store = _store()
    days = days or get_settings().retention_days
    rule = store.set_expiry(days)
    click.echo(f"lifecycle rule {rule['ID']}: objects under {store.bucket}/{rule['Filter']['Prefix']} "
               f"expire after {days} days")


@r2.command("verify")
@click.option("--list", "do_list", is_flag=True, help="List exported objects under R2_PREFIX.")
@click.option("--head", "key", default=None, help="HEAD one object and compare it with its audit row.")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def r2_verify(do_list: bool, key: str | None, limit: int, as_json: bool) -> None:
    """Check what is in R2: --list objects, or --head KEY (size, sha256, audit row)."""

    if do_list == bool(key):
        raise click.UsageError("give exactly one of --list or --head KEY")
    store = _store()
    if do_list:
        objects = store.list_objects(limit=limit)
        if as_json:
            click.echo(json.dumps(objects, default=_json_default))
        else:
            for obj in objects:
                click.echo(f"{obj['last_modified']:%Y-%m-%dT%H:%M:%SZ}  {obj['size']:>10}  {obj['key']}")
            click.echo(f"{len(objects)} objects under {store.bucket}/{store.cfg.prefix}/", err=True)
        return
    info = store.head(str(key))
    if info is None:
        raise LookupError(f"{key} is not in bucket {store.bucket!r}")
    audit = _audit_for(str(key))
    info["audit"] = audit
    ok = audit is None or (audit["sha256"] == info["sha256"] and audit["size_bytes"] == info["size"])
    info["matches_audit"] = None if audit is None else ok
    if as_json:
        click.echo(json.dumps(info, default=_json_default))
    else:
        click.echo(f"key={key} size={info['size']} sha256={info['sha256']} etag={info['etag']} "
                   f"last_modified={info['last_modified']}")
        if audit is None:
            click.echo("failcat: note: no audit row records this key", err=True)
        else:
            click.echo(f"audit id={audit['id']} status={audit['status']} size={audit['size_bytes']} "
                       f"sha256={audit['sha256']} -> {'match' if ok else 'MISMATCH'}")
    if not ok:
        sys.exit(1)


def _audit_for(key: str) -> dict[str, Any] | None:
    from loaders.exports.audit import get_export_by_key

    try:
        with engine_ready().connect() as conn:
            return get_export_by_key(conn, key)
    except Exception:  # noqa: BLE001 - verify works against R2 alone when the database is not there
        return None
