"""Server stopped during an export -> local fallback; restarted -> retry-exports uploads it exactly once."""
from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

import loaders.exports.document as aggregate_module
from cli import main
from core.schema import failure_pattern_exports as fpe
from core.settings import get_settings
from loaders.exports.exporter import run_export
from loaders.exports.retry import retry_fallbacks
from tests.loaders.exports.test_exporter import fast_store
from tests.support.exports import seed_failures
from tests.support.s3 import BUCKET


def _row(engine, export_id):
    with engine.connect() as conn:
        return dict(conn.execute(select(fpe).where(fpe.c.id == export_id)).mappings().one())


def test_server_stopped_during_export_then_retry_uploads(engine, r2_env, metrics, monkeypatch):
    seed_failures(engine)
    store = fast_store()
    real_build = aggregate_module.build_document

    def build_then_stop(*args, **kwargs):
        doc = real_build(*args, **kwargs)
        r2_env.stop()  # the server goes away while the export is in flight
        return doc

    monkeypatch.setattr(aggregate_module, "build_document", build_then_stop)
    result = run_export(engine, tenant_id=None, metrics=metrics, store=store)
    monkeypatch.setattr(aggregate_module, "build_document", real_build)

    assert result.status == "fallback_local"
    path = Path(result.local_path)
    assert path.parent == Path(get_settings().export_fallback_dir) and path.is_file()
    body = path.read_bytes()
    row = _row(engine, result.export_id)
    assert row["status"] == "fallback_local" and row["retry_count"] == 0 and row["s3_key"] is None
    assert row["sha256"] == hashlib.sha256(body).hexdigest() and row["size_bytes"] == len(body)
    assert "unreachable" in row["notes"]
    assert metrics.registry.get_sample_value("failure_agg_r2_upload_attempt_total", {"status": "fallback_local"}) == 1
    assert metrics.registry.get_sample_value("failure_export_fallbacks_pending") == 1

    r2_env.start()
    cli = CliRunner().invoke(main, ["retry-exports"])
    assert cli.exit_code == 0, cli.output
    assert "uploaded=1" in cli.output
    row = _row(engine, result.export_id)
    assert row["status"] == "uploaded" and row["retry_count"] == 1 and row["last_retry_at"] is not None
    assert row["s3_key"] == result.key and row["uploaded_at"] is not None
    obj = r2_env.client().get_object(Bucket=BUCKET, Key=row["s3_key"])
    assert obj["Body"].read() == body
    assert obj["Metadata"]["sha256"] == hashlib.sha256(body).hexdigest()
    # The fallback file is archived (not deleted) after the verified upload.
    assert not path.exists()
    archived = path.parent / "archive" / path.name
    assert archived.read_bytes() == body and row["local_path"] == str(archived)
    assert len([v for v in r2_env.versions() if v["Key"] == row["s3_key"]]) == 1


def test_retry_while_server_down_defers_and_keeps_the_file(engine, r2_env, metrics):
    r2_env.stop()
    result = run_export(engine, tenant_id=None, metrics=metrics, store=fast_store())
    report = retry_fallbacks(engine, metrics=metrics, store=fast_store())
    assert (report.claimed, report.deferred, report.uploaded) == (1, 1, 0)
    row = _row(engine, result.export_id)
    assert (row["status"], row["retry_count"]) == ("fallback_local", 1) and row["last_retry_at"] is not None
    assert "retry 1: unreachable" in row["notes"]
    assert Path(result.local_path).is_file()
    r2_env.start()
    assert retry_fallbacks(engine, metrics=metrics, store=fast_store()).uploaded == 1
    assert (_row(engine, result.export_id)["status"], _row(engine, result.export_id)["retry_count"]) == ("uploaded", 2)


def test_retry_gives_up_after_bounded_tries(engine, r2_env, metrics, monkeypatch):
    monkeypatch.setenv("R2_BUCKET", "no-such-bucket")
    get_settings.cache_clear()
    result = run_export(engine, tenant_id=None, metrics=metrics, store=fast_store())
    assert result.status == "fallback_local" and result.error_kind == "bucket"
    for _attempt in (1, 2):
        report = retry_fallbacks(engine, metrics=metrics, store=fast_store(), max_tries=2)
        assert report.claimed == 1
    row = _row(engine, result.export_id)
    assert (row["status"], row["retry_count"]) == ("failed", 2)
    assert "does not exist" in row["notes"]
    assert Path(result.local_path).is_file()  # never deleted without a verified upload
    def attempts(status):
        return metrics.registry.get_sample_value("failure_agg_r2_upload_attempt_total", {"status": status})

    # first attempt and retry 1 fell back, retry 2 gave up; both retries were attempts.
    assert (attempts("fallback_local"), attempts("retrying"), attempts("failed"), attempts("uploaded")) == (2, 2, 1, 0)
    assert retry_fallbacks(engine, metrics=metrics, store=fast_store()).claimed == 0
    assert metrics.registry.get_sample_value("failure_export_fallbacks_pending") == 0


def test_stale_retrying_claim_is_reclaimed_and_object_not_uploaded_twice(engine, r2_env, metrics):
    from datetime import timedelta

    from core.types import utcnow

    r2_env.stop()
    result = run_export(engine, tenant_id=None, metrics=metrics, store=fast_store())
    r2_env.start()
    # A worker claimed it, uploaded, and crashed before recording the upload.
    store = fast_store()
    body = Path(result.local_path).read_bytes()
    store.upload(result.key, body, sha256=result.sha256)
    with engine.begin() as conn:
        conn.execute(fpe.update().where(fpe.c.id == result.export_id).values(
            status="retrying", retry_count=1, last_retry_at=utcnow() - timedelta(hours=1)))
    fresh = retry_fallbacks(engine, metrics=metrics, store=store, stale_after=timedelta(hours=2))
    assert fresh.claimed == 0  # not stale yet
    report = retry_fallbacks(engine, metrics=metrics, store=store, stale_after=timedelta(minutes=30))
    assert report.uploaded == 1
    row = _row(engine, result.export_id)
    assert (row["status"], row["retry_count"]) == ("uploaded", 2)
    assert len([v for v in r2_env.versions() if v["Key"] == result.key]) == 1


def test_orphan_fallback_file_is_adopted_and_uploaded(engine, r2_env, metrics):
    """A file written before a crash (no audit row) is still uploaded: nothing is lost."""
    from loaders.exports import document as aggregate
    from loaders.exports.exporter import file_name_for, write_atomic
    from loaders.exports.r2 import sha256_hex

    seed_failures(engine)
    with engine.connect() as conn:
        doc = aggregate.build_document(conn, tenant_id="t2", days=7, min_occurrences=1)
    body = aggregate.render(doc)
    from datetime import datetime

    generated = datetime.fromisoformat(doc["generated_at"].replace("Z", "+00:00"))
    path = write_atomic(Path(get_settings().export_fallback_dir), file_name_for(generated, sha256_hex(body)), body)
    (path.parent / "notes.txt").write_text("not an export")
    # A fresh file may be an export about to be recorded: left alone until it is 5 minutes old.
    assert retry_fallbacks(engine, metrics=metrics, store=fast_store()).adopted == 0
    old = time.time() - 600
    os.utime(path, (old, old))
    report = retry_fallbacks(engine, metrics=metrics, store=fast_store())
    assert (report.adopted, report.uploaded) == (1, 1)
    with engine.connect() as conn:
        [row] = [dict(r) for r in conn.execute(select(fpe)).mappings()]
    assert row["status"] == "uploaded" and row["tenant_id"] == "t2" and row["sha256"] == sha256_hex(body)
    assert r2_env.client().get_object(Bucket=BUCKET, Key=row["s3_key"])["Body"].read() == body
    assert retry_fallbacks(engine, metrics=metrics, store=fast_store()).adopted == 0
