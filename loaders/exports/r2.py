"""Cloudflare R2 (S3 API) storage for exports: verified uploads, bounded retries, one-line errors."""
from __future__ import annotations

import functools
import hashlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from core.settings import Settings

SHA_METADATA = "sha256"  # stored as x-amz-meta-sha256
LIFECYCLE_RULE_PREFIX = "failcat-expire-"
_CREDENTIAL_CODES = {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken",
                     "AccessDenied", "AuthorizationHeaderMalformed", "InvalidSecurity", "401", "403", "Forbidden"}
_BUCKET_CODES = {"NoSuchBucket"}
_TRANSIENT_CODES = {"SlowDown", "RequestTimeout", "RequestTimeTooSkewed", "InternalError", "ServiceUnavailable",
                    "Throttling", "ThrottlingException", "TooManyRequests"}


class R2Error(RuntimeError):
    """An R2 operation failed; str() is one line, `kind` names the failure, `transient` if retrying may help.

    kind: unconfigured | credentials | bucket | unreachable | server | verify | not_found | client
    """

    def __init__(self, message: str, *, kind: str, transient: bool = False) -> None:
        super().__init__(message)
        self.kind = kind
        self.transient = transient


@dataclass(frozen=True)
class R2Config:
    """Where exports go: endpoint, bucket, key prefix and credentials."""

    endpoint_url: str
    bucket: str
    prefix: str = "failure_patterns"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    region: str = "auto"

    @classmethod
    def from_settings(cls, settings: Settings) -> R2Config | None:
        """The configured R2 target, or None when R2_ENDPOINT_URL / R2_BUCKET are unset."""
        if not settings.r2_configured:
            return None
        return cls(
            endpoint_url=str(settings.r2_endpoint_url),
            bucket=str(settings.r2_bucket),
            prefix=settings.r2_prefix.strip("/") or "failure_patterns",
            access_key_id=settings.r2_access_key_id,
            secret_access_key=settings.r2_secret_access_key,
            region=settings.r2_region or "auto",
        )


@dataclass(frozen=True)
class UploadResult:
    """A verified object: key, size in bytes, sha256 (hex) and ETag."""

    key: str
    size: int
    sha256: str
    etag: str
    attempts: int


def sha256_hex(body: bytes) -> str:
    """Hex sha256 of bytes."""
    return hashlib.sha256(body).hexdigest()


def object_key(prefix: str, generated_at: datetime, file_name: str) -> str:
    """`{prefix}/YYYY/MM/DD/{file_name}` with the UTC date of `generated_at`."""
    return "/".join(p for p in (prefix.strip("/"), f"{generated_at:%Y/%m/%d}", file_name) if p)


def describe_error(exc: BaseException, cfg: R2Config, action: str) -> R2Error:
    """Classify a botocore failure into an R2Error with a one-line message (no secrets)."""
    where = f"{cfg.endpoint_url} bucket {cfg.bucket!r}"
    if isinstance(exc, R2Error):
        return exc
    if isinstance(exc, (EndpointConnectionError, ConnectTimeoutError, ConnectionClosedError)):
        return R2Error(f"R2 endpoint {cfg.endpoint_url} is unreachable during {action}", kind="unreachable",
                       transient=True)
    if isinstance(exc, ReadTimeoutError):
        return R2Error(f"R2 timed out during {action} ({where})", kind="unreachable", transient=True)
    if isinstance(exc, NoCredentialsError):
        return R2Error("R2 credentials are missing: set R2_ACCESS_KEY_ID and R2_SECRET_ACCESS_KEY",
                       kind="credentials")
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {}) or {}
        code = str(err.get("Code", "") or "")
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        detail = (str(err.get("Message", "") or code or status)).splitlines()[0] if (code or status) else str(exc)
        if code in _BUCKET_CODES:
            return R2Error(f"R2 bucket {cfg.bucket!r} does not exist at {cfg.endpoint_url}", kind="bucket")
        if code in _CREDENTIAL_CODES or status in (401, 403):
            return R2Error(f"R2 refused the credentials during {action} ({code or status}: {detail}); "
                           "check R2_ACCESS_KEY_ID / R2_SECRET_ACCESS_KEY", kind="credentials")
        if code in ("NoSuchKey", "404", "NotFound") or status == 404:
            return R2Error(f"not found in {where} during {action}", kind="not_found")
        if status >= 500 or code in _TRANSIENT_CODES or status == 429:
            return R2Error(f"R2 server error during {action} ({code or status}: {detail})", kind="server",
                           transient=True)
        return R2Error(f"R2 rejected {action} ({code or status}: {detail})", kind="client")
    if isinstance(exc, BotoCoreError):
        return R2Error(f"R2 {action} failed: {str(exc).splitlines()[0]}", kind="client")
    raise exc


class R2Store:
    """A bucket/prefix on R2 through boto3; every public method raises only R2Error."""

    def __init__(self, cfg: R2Config, *, attempts: int = 3, backoff: float = 0.5, max_backoff: float = 8.0,
                 connect_timeout: float = 5.0, read_timeout: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.cfg = cfg
        self.attempts = max(1, attempts)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        # botocore's own retries are off so that our bounded, logged retries are the only ones;
        # checksums only when required keeps PUTs compatible with R2.
        self.client = boto3.client(
            "s3",
            endpoint_url=cfg.endpoint_url,
            aws_access_key_id=cfg.access_key_id,
            aws_secret_access_key=cfg.secret_access_key,
            region_name=cfg.region,
            config=Config(
                retries={"total_max_attempts": 1, "mode": "standard"},
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            ),
        )

    @property
    def bucket(self) -> str:
        return self.cfg.bucket

    def _call(self, action: str, fn: Callable[[], Any]) -> tuple[Any, int]:
        """Run fn with bounded retries and exponential backoff (with jitter) for transient errors."""
        last: R2Error | None = None
        for attempt in range(1, self.attempts + 1):
            try:
                return fn(), attempt
            except Exception as exc:  # noqa: BLE001 - classified below; unknown errors re-raise
                last = describe_error(exc, self.cfg, action)
                if not last.transient or attempt == self.attempts:
                    break
                delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
                self._sleep(delay * (0.5 + random.random() / 2))
        assert last is not None
        if last.transient and self.attempts > 1:
            last = R2Error(f"{last} (after {self.attempts} attempts)", kind=last.kind, transient=True)
        raise last

    def head(self, key: str) -> dict[str, Any] | None:
        """HEAD an object: {key, size, sha256, etag, last_modified, metadata}, or None when absent."""
        try:
            resp, _ = self._call(f"HEAD {key}", lambda: self.client.head_object(Bucket=self.bucket, Key=key))
        except R2Error as exc:
            if exc.kind == "not_found":
                return None
            raise
        meta = resp.get("Metadata", {}) or {}
        return {
            "key": key,
            "size": int(resp.get("ContentLength", 0)),
            "sha256": meta.get(SHA_METADATA),
            "etag": str(resp.get("ETag", "")).strip('"'),
            "last_modified": resp.get("LastModified"),
            "content_type": resp.get("ContentType"),
            "metadata": meta,
        }

    def verify(self, key: str, size: int, sha256: str) -> dict[str, Any]:
        """HEAD the object and check size and sha256 metadata; raise R2Error(kind=verify) on mismatch."""
        info = self.head(key)
        if info is None:
            raise R2Error(f"verification failed: {key} is not in bucket {self.bucket!r} after upload", kind="verify")
        if info["size"] != size or info["sha256"] != sha256:
            raise R2Error(
                f"verification failed for {key}: size {info['size']} (expected {size}), "
                f"sha256 {str(info['sha256'])[:12]} (expected {sha256[:12]})",
                kind="verify",
            )
        return info

    def upload(self, key: str, body: bytes, *, sha256: str | None = None,
               metadata: dict[str, str] | None = None) -> UploadResult:
        """PUT the body with its sha256 in the metadata, then HEAD to verify size and sha."""
        digest = sha256 or sha256_hex(body)
        if digest != sha256_hex(body):
            raise R2Error(f"refusing to upload {key}: content does not match sha256 {digest[:12]}", kind="verify")
        meta = {**(metadata or {}), SHA_METADATA: digest}
        _, attempts = self._call(f"PUT {key}", lambda: self.client.put_object(
            Bucket=self.bucket, Key=key, Body=body, ContentType="application/json", Metadata=meta,
        ))
        info = self.verify(key, len(body), digest)
        return UploadResult(key=key, size=len(body), sha256=digest, etag=info["etag"], attempts=attempts)

    def get(self, key: str) -> bytes:
        """Download an object's bytes."""
        resp, _ = self._call(f"GET {key}", lambda: self.client.get_object(Bucket=self.bucket, Key=key))
        return resp["Body"].read()

    def list_objects(self, prefix: str | None = None, *, limit: int = 1000) -> list[dict[str, Any]]:
        """Objects under the prefix (default: the configured one), newest keys last, at most `limit`."""
        pfx = (prefix if prefix is not None else self.cfg.prefix).strip("/")
        pfx = f"{pfx}/" if pfx else ""
        out: list[dict[str, Any]] = []
        token: str | None = None
        while len(out) < limit:
            kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": pfx, "MaxKeys": min(1000, limit - len(out))}
            if token:
                kwargs["ContinuationToken"] = token
            resp, _ = self._call(f"LIST {pfx}", functools.partial(self.client.list_objects_v2, **kwargs))
            for obj in resp.get("Contents", []) or []:
                out.append({"key": obj["Key"], "size": int(obj["Size"]), "last_modified": obj["LastModified"],
                            "etag": str(obj.get("ETag", "")).strip('"')})
            if not resp.get("IsTruncated"):
                break
            token = resp.get("NextContinuationToken")
        return out

    def lifecycle_rules(self) -> list[dict[str, Any]]:
        """The bucket's lifecycle rules (empty list when none)."""
        try:
            resp, _ = self._call("GET lifecycle", lambda: self.client.get_bucket_lifecycle_configuration(
                Bucket=self.bucket))
        except R2Error as exc:
            if exc.kind == "not_found" or "NoSuchLifecycleConfiguration" in str(exc):
                return []
            raise
        return list(resp.get("Rules", []))

    def set_expiry(self, days: int, prefix: str | None = None) -> dict[str, Any]:
        """Expire objects under the prefix after `days`; other rules on the bucket are kept."""
        pfx = (prefix if prefix is not None else self.cfg.prefix).strip("/") + "/"
        rule_id = f"{LIFECYCLE_RULE_PREFIX}{pfx.rstrip('/').replace('/', '-')}"[:255]
        rule = {"ID": rule_id, "Filter": {"Prefix": pfx}, "Status": "Enabled", "Expiration": {"Days": int(days)},
                "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}
        rules = [r for r in self.lifecycle_rules() if r.get("ID") != rule_id] + [rule]
        self._call("PUT lifecycle", lambda: self.client.put_bucket_lifecycle_configuration(
            Bucket=self.bucket, LifecycleConfiguration={"Rules": rules}))
        return rule


def store_from_settings(settings: Settings, **kwargs: Any) -> R2Store:
    """An R2Store for the configured target; R2Error(kind=unconfigured) when R2 is not set up."""
    cfg = R2Config.from_settings(settings)
    if cfg is None:
        raise R2Error("R2 is not configured (set R2_ENDPOINT_URL and R2_BUCKET)", kind="unconfigured")
    return R2Store(cfg, **kwargs)
