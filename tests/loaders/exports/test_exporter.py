"""Exports against a real S3-compatible server (moto server mode over HTTP)."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy import func, select

from core.schema import failure_matches as fm
from core.schema import failure_pattern_exports as fpe
from core.settings import get_settings
from loaders.exports import document as aggregate
from loaders.exports.exporter import run_export
from loaders.exports.r2 import R2Config, R2Store
from tests.support.exports import seed_failures
from tests.support.s3 import BUCKET


def fast_store() -> R2Store:
    """The configured store with quick backoff (the retry bound is the same, only the waits are shorter)."""
    return R2Store(R2Config.from_settings(get_settings()), attempts=2, backoff=0.01, connect_timeout=2,
                   read_timeout=5)


def _rows(engine):
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(select(fpe).order_by(fpe.c.id)).mappings()]


def test_happy_path_uploads_verified_object(engine, r2_env, metrics):
    seed_failures(engine)
    result = run_export(engine, tenant_id=None, metrics=metrics, store=fast_store())
    assert result.status == "uploaded"
    obj = r2_env.client().get_object(Bucket=BUCKET, Key=result.key)
    body = obj["Body"].read()
    local_sha = hashlib.sha256(body).hexdigest()
    assert obj["Metadata"]["sha256"] == local_sha
    head = r2_env.client().head_object(Bucket=BUCKET, Key=result.key)
    assert head["ContentLength"] == len(body)
    doc = json.loads(body)
    assert aggregate.render(doc) == body
    key_parts = result.key.split("/")
    assert key_parts[0] == "failure_patterns" and len(key_parts) == 5
    stamp = doc["generated_at"][:19].replace("-", "").replace(":", "")
    assert key_parts[-1] == f"candidates_{stamp}Z_{local_sha[:12]}.json"
    assert "/".join(key_parts[1:4]) == doc["generated_at"][:10].replace("-", "/")
    [row] = _rows(engine)
    assert (row["status"], row["s3_key"], row["sha256"]) == ("uploaded", result.key, local_sha)
    assert row["size_bytes"] == len(body)
    assert row["uploaded_at"] is not None and row["local_path"] is None
    assert metrics.registry.get_sample_value("failure_agg_r2_upload_attempt_total", {"status": "uploaded"}) == 1
    assert metrics.registry.get_sample_value("failure_export_fallbacks_pending") == 0
    # Nothing was written to the fallback folder.
    assert not any(Path(get_settings().export_fallback_dir).glob("*.json"))
    with engine.connect() as conn:
        window_total = conn.execute(select(func.count()).select_from(fm).where(
            fm.c.created_at >= doc["window"]["start"].replace("Z", "+00:00"))).scalar()
    assert doc["summary"]["total_failures"] == window_total


def test_tenant_scoped_export_holds_only_that_tenant(engine, r2_env, metrics):
    seed_failures(engine)
    result = run_export(engine, tenant_id="t1", min_occurrences=1, metrics=metrics, store=fast_store())
    doc = json.loads(r2_env.client().get_object(Bucket=BUCKET, Key=result.key)["Body"].read())
    assert doc["scope"] == {"tenant_id": "t1"}
    assert doc["candidate_patterns"]
    assert all(p["tenants"] == ["t1"] for p in doc["candidate_patterns"])
    with engine.connect() as conn:
        t2_messages = {m for (m,) in conn.execute(select(fm.c.error_message).where(fm.c.tenant_id == "t2"))}
        t1_total = conn.execute(select(func.count()).select_from(fm).where(
            fm.c.tenant_id == "t1", fm.c.created_at >= doc["window"]["start"].replace("Z", "+00:00"))).scalar()
        t1_unmatched = conn.execute(select(func.count()).select_from(fm).where(
            fm.c.tenant_id == "t1", fm.c.catalog_entry_id.is_(None),
            fm.c.created_at >= doc["window"]["start"].replace("Z", "+00:00"))).scalar()
    assert not any(e in t2_messages for p in doc["candidate_patterns"] for e in p["examples"])
    assert "s3" not in {s["skill_id"] for s in doc["summary"]["most_affected_skills"]}
    assert doc["summary"]["total_failures"] == t1_total
    assert sum(p["occurrences"] for p in doc["candidate_patterns"]) == t1_unmatched
    assert _rows(engine)[0]["tenant_id"] == "t1"
