"""One typed settings object, read from the environment and `.env`."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Runtime configuration; every field maps to an upper-case environment variable."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(default=f"sqlite:///{ROOT / 'data' / 'failcat.db'}")
    prometheus_url: str | None = None
    pushgateway_url: str | None = None

    r2_endpoint_url: str | None = None
    r2_access_key_id: str | None = None
    r2_secret_access_key: str | None = None
    r2_bucket: str | None = None
    r2_prefix: str = "failure_patterns"
    r2_region: str = "auto"

    export_fallback_dir: Path = ROOT / "data" / "export_fallback"
    spool_dir: Path = ROOT / "data" / "spool"
    retention_days: int = Field(default=90, ge=1)

    # Events per transaction of file ingest: larger batches fold more failures into each rollup and group row
    # (docs/performance.md); the API's requests are their own batches (api_max_batch).
    ingest_batch_size: int = Field(default=5000, ge=1, le=50000)
    api_max_batch: int = Field(default=1000, ge=1)
    api_max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    metrics_port: int | None = None
    db_pool_size: int = 10

    # Dashboard sign-in: how long a session lasts (server-side, revoked by sign-out).
    session_hours: int = Field(default=12, ge=1, le=24 * 30)
    # Failed sign-ins and API tokens: at most this many per account / client address in the window, then 429.
    auth_max_failures_per_account: int = Field(default=5, ge=1)
    auth_max_failures_per_address: int = Field(default=20, ge=1)
    auth_failure_window_seconds: int = Field(default=900, ge=1)
    dashboard_cache_ttl: int = Field(default=60, ge=0)
    # Proxies whose X-Forwarded-For names the client (comma-separated addresses or networks); none by default,
    # so a client cannot pick the address the throttles count it under.
    trusted_proxies: str = ""

    @field_validator(
        "prometheus_url", "pushgateway_url", "r2_endpoint_url", "r2_bucket", mode="before"
    )
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        # An empty variable in .env means "not configured", not an empty URL.
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def r2_configured(self) -> bool:
        """True when enough R2 settings are present to attempt an upload."""
        return bool(self.r2_endpoint_url and self.r2_bucket)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
