"""R2Store: bounded retries with backoff for transient errors, none for permanent ones, HEAD verification."""
from __future__ import annotations

import hashlib

from botocore.awsrequest import AWSResponse

from core.settings import get_settings
from loaders.exports.exporter import run_export
from loaders.exports.r2 import R2Config, R2Error, R2Store
from tests.support.s3 import BUCKET


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_kw):
        yield self._body


def _store(sleeps: list[float], attempts: int = 3) -> R2Store:
    return R2Store(R2Config.from_settings(get_settings()), attempts=attempts, backoff=0.2, sleep=sleeps.append)


def _fail_puts(store: R2Store, n: int, status: int = 503, code: str = "ServiceUnavailable") -> list[int]:
    """Answer the first n PUTs with an HTTP error before they reach the server; returns the call log."""
    calls: list[int] = []

    def handler(request, **_kw):
        calls.append(1)
        if len(calls) <= n:
            body = f"<Error><Code>{code}</Code><Message>try later</Message></Error>".encode()
            return AWSResponse(request.url, status, {"Content-Type": "application/xml"}, _Raw(body))
        return None

    store.client.meta.events.register("before-send.s3.PutObject", handler)
    return calls


def test_transient_5xx_is_retried_with_backoff(r2_env):
    sleeps: list[float] = []
    store = _store(sleeps)
    calls = _fail_puts(store, 2)
    result = store.upload("failure_patterns/x.json", b"{}")
    assert result.attempts == 3 and len(calls) == 3
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] * 0.9  # exponential backoff (with jitter)
    head = r2_env.client().head_object(Bucket=BUCKET, Key="failure_patterns/x.json")
    assert head["Metadata"]["sha256"] == hashlib.sha256(b"{}").hexdigest()


def test_retries_are_bounded(r2_env):
    sleeps: list[float] = []
    store = _store(sleeps, attempts=3)
    calls = _fail_puts(store, 100)
    try:
        store.upload("failure_patterns/y.json", b"{}")
    except R2Error as exc:
        assert exc.kind == "server" and "after 3 attempts" in str(exc) and "\n" not in str(exc)
    else:
        raise AssertionError("expected R2Error")
    assert len(calls) == 3 and len(sleeps) == 2


def test_permanent_errors_are_not_retried(r2_env, monkeypatch):
    monkeypatch.setenv("R2_BUCKET", "nope-bucket")
    get_settings.cache_clear()
    sleeps: list[float] = []
    try:
        _store(sleeps).upload("failure_patterns/z.json", b"{}")
    except R2Error as exc:
        assert exc.kind == "bucket" and not exc.transient
    else:
        raise AssertionError("expected R2Error")
    assert sleeps == []


def test_verification_mismatch_falls_back(engine, r2_env, metrics):
    store = _store([])

    def corrupt(params, **_kw):  # the server ends up holding a different sha than the document's
        params["Metadata"]["sha256"] = "0" * 64

    store.client.meta.events.register("before-parameter-build.s3.PutObject", corrupt)
    result = run_export(engine, tenant_id=None, metrics=metrics, store=store)
    assert result.status == "fallback_local" and result.error_kind == "verify"
    assert "verification failed" in result.error
    assert open(result.local_path, "rb").read() and metrics.registry.get_sample_value(
        "failure_agg_r2_upload_attempt_total", {"status": "fallback_local"}) == 1
