"""A real S3-compatible HTTP server (moto server mode) on a free loopback port, stoppable and restartable."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from moto.server import ThreadedMotoServer

from core.settings import get_settings
from tests.support.servers import free_port, stop_process

BUCKET = "failcat-exports"
ACCESS_KEY = "test-key"
SECRET_KEY = "test-secret"


def _wait_up(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=1)  # noqa: S310 - loopback test server
            return
        except Exception:  # noqa: BLE001
            time.sleep(0.1)
    pytest.fail(f"moto server at {url} did not start")


class MotoS3:
    """moto's threaded server; stop() and start() keep the same port and (in-process) the same data."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._server: ThreadedMotoServer | None = None

    def start(self) -> None:
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        _wait_up(self.url)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def client(self, **kw):
        return boto3.client(
            "s3", endpoint_url=self.url, aws_access_key_id=kw.get("key", ACCESS_KEY),
            aws_secret_access_key=kw.get("secret", SECRET_KEY), region_name="us-east-1",
            config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"}),
        )

    def versions(self, bucket: str = BUCKET) -> list[dict]:
        """Every stored object version (one per PUT, as the bucket is versioned)."""
        out, kw = [], {"Bucket": bucket}
        while True:
            resp = self.client().list_object_versions(**kw)
            out += resp.get("Versions", [])
            if not resp.get("IsTruncated"):
                return out
            kw.update(KeyMarker=resp["NextKeyMarker"], VersionIdMarker=resp["NextVersionIdMarker"])


@pytest.fixture
def moto_s3() -> Iterator[MotoS3]:
    """A running moto S3 server with an empty versioned bucket; reset and stopped afterwards."""
    server = MotoS3()
    server.start()
    client = server.client()
    client.create_bucket(Bucket=BUCKET)
    client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    yield server
    # Backends live in this process: reset them so no state leaks into later tests.
    if server._server is None:
        server.start()
    urllib.request.urlopen(urllib.request.Request(server.url + "/moto-api/reset", method="POST"))  # noqa: S310
    server.stop()


@pytest.fixture
def r2_env(moto_s3: MotoS3, monkeypatch: pytest.MonkeyPatch) -> MotoS3:
    """R2_* settings pointing at the moto server."""
    monkeypatch.setenv("R2_ENDPOINT_URL", moto_s3.url)
    monkeypatch.setenv("R2_BUCKET", BUCKET)
    monkeypatch.setenv("R2_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("R2_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("R2_REGION", "us-east-1")
    get_settings.cache_clear()
    return moto_s3


@pytest.fixture
def auth_moto_url() -> Iterator[str]:
    """A separate moto server process that authenticates every request (unknown keys are refused)."""
    port = free_port()
    env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_up(url)
        yield url
    finally:
        stop_process(proc, timeout=10)
