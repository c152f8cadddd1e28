"""Synthetic failure events spread over the days before a fixed instant (rollup and grouped-view tests)."""
from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

NOW = datetime(2026, 11, 20, 15, 30, tzinfo=UTC)
MESSAGES = ["connection refused by upstream", "rate limit exceeded (429)", "permission denied for bucket",
            "gizmo wobbled unexpectedly", "context length exceeded for model"]


def spread_events(n: int, rng: random.Random, *, tenants: list[str], days: int, suffix: int | None = None,
                  runs: int | None = None) -> list[dict]:
    """n events of random tenants and messages at random whole minutes of the `days` days before NOW. Message i
    ends with " #{i % suffix}" (default " #i": every message distinct); run i is run{i % runs} (default run{i})."""
    return [{"tenant_id": rng.choice(tenants), "run_id": f"run{i % runs if runs else i}",
             "error_message": f"{rng.choice(MESSAGES)} #{i % suffix if suffix else i}",
             "occurred_at": (NOW - timedelta(minutes=rng.randrange(0, days * 24 * 60))).isoformat()}
            for i in range(n)]
