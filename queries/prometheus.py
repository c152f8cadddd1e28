"""Reads from Prometheus (prometheus-api-client): rate series over explicit ranges, counter increases, alerts.

Every function takes `prom`, a PrometheusConnect or a base URL, and raises PrometheusUnavailable with the
URL and the reason when Prometheus cannot be reached or refuses the query. Prometheus series carry no
tenant label: these figures are for the whole deployment (the database has the per-tenant ones).
"""
from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect

HIT_RATE = "failcat:hit_rate:ratio_rate10m"
MISS_RATE = "failcat:miss_rate:ratio_rate10m"
RECOVERY_SUCCESS_RATE = "failcat:recovery_success_rate:ratio_rate30m"
MAX_POINTS = 11_000  # Prometheus refuses range queries with more points per series than this
DEFAULT_TIMEOUT = 5

ALERT_COLUMNS = ["alertname", "state", "severity", "active_at", "value", "summary", "description", "labels"]


class PrometheusUnavailable(RuntimeError):
    """Prometheus could not be reached, or answered with an error."""


def connect(url: str, *, timeout: int = DEFAULT_TIMEOUT) -> PrometheusConnect:
    """A client for `url` that fails fast (no retries) with a short timeout."""
    if not url:
        raise PrometheusUnavailable("no Prometheus URL configured (set PROMETHEUS_URL)")
    from urllib3.util.retry import Retry

    return PrometheusConnect(url=url.rstrip("/"), disable_ssl=False, timeout=timeout,
                             retry=Retry(total=0, raise_on_status=False))


def _client(prom: PrometheusConnect | str) -> PrometheusConnect:
    return prom if isinstance(prom, PrometheusConnect) else connect(prom)


def _call(prom: PrometheusConnect, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return fn(*args, **kwargs)
    except requests.Timeout as exc:
        raise PrometheusUnavailable(f"Prometheus at {prom.url} did not answer in time ({what})") from exc
    except requests.ConnectionError as exc:
        raise PrometheusUnavailable(f"Prometheus at {prom.url} is unreachable (cannot connect)") from exc
    except (requests.RequestException, PrometheusApiClientException, OSError, ValueError) as exc:
        reason = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        raise PrometheusUnavailable(f"Prometheus at {prom.url} failed ({what}): {reason}") from exc


def _utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("start/end must be timezone-aware (UTC)")
    return ts.astimezone(UTC)


def _step_seconds(step: str | int | float | timedelta) -> float:
    if isinstance(step, timedelta):
        return step.total_seconds()
    if isinstance(step, (int, float)):
        return float(step)
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    if step and step[-1] in units:
        return float(step[:-1]) * units[step[-1]]
    return float(step)


def check_range(start: datetime, end: datetime, step: str | int | float | timedelta) -> float:
    """Validate an explicit start < end and step (at most MAX_POINTS points); returns the step in seconds."""
    seconds = _step_seconds(step)
    if seconds <= 0:
        raise ValueError("step must be positive")
    if _utc(end) <= _utc(start):
        raise ValueError("end must be after start")
    if (end - start).total_seconds() / seconds > MAX_POINTS:
        raise ValueError(f"range/step gives more than {MAX_POINTS} points; use a larger step")
    return seconds


def get_range(prom: PrometheusConnect | str, query: str, *, start: datetime, end: datetime,
              step: str | int | float | timedelta, value_name: str = "value") -> pd.DataFrame:
    """One row per (series, timestamp): ts (UTC), the series' labels as columns, value_name (float)."""
    client = _client(prom)
    seconds = check_range(start, end, step)
    # The client sends whole seconds (rounded); ceil/floor here keeps every point inside [start, end].
    first = datetime.fromtimestamp(math.ceil(_utc(start).timestamp()), UTC)
    last = datetime.fromtimestamp(math.floor(_utc(end).timestamp()), UTC)
    if last < first:
        last = first
    result = _call(client, "query_range", client.custom_query_range, query, start_time=first,
                   end_time=last, step=f"{seconds:g}s")
    frames = []
    for series in result or []:
        labels = {k: v for k, v in series.get("metric", {}).items() if k != "__name__"}
        values = series.get("values", [])
        df = pd.DataFrame(values, columns=["ts", value_name])
        df["ts"] = pd.to_datetime(df["ts"].astype(float), unit="s", utc=True)
        df[value_name] = pd.to_numeric(df[value_name], errors="coerce").astype(float)
        for k, v in labels.items():
            df[k] = v
        frames.append(df)
    if not frames:
        return pd.DataFrame({"ts": pd.Series(dtype="datetime64[ns, UTC]"), value_name: pd.Series(dtype=float)})
    return pd.concat(frames, ignore_index=True).sort_values("ts", kind="stable").reset_index(drop=True)


def get_hit_rate_series(prom: PrometheusConnect | str, *, start: datetime, end: datetime,
                        step: str | int | float | timedelta) -> pd.DataFrame:
    """Deployment-wide hit rate (10m rate ratio) per step: ts (UTC), hit_rate (float 0..1)."""
    return get_range(prom, HIT_RATE, start=start, end=end, step=step, value_name="hit_rate")[["ts", "hit_rate"]]


def get_recovery_success_series(prom: PrometheusConnect | str, *, start: datetime, end: datetime,
                                step: str | int | float | timedelta) -> pd.DataFrame:
    """Deployment-wide recovery success rate (30m rate ratio) per step: ts (UTC), recovery_success_rate."""
    df = get_range(prom, RECOVERY_SUCCESS_RATE, start=start, end=end, step=step, value_name="recovery_success_rate")
    return df[["ts", "recovery_success_rate"]]


def get_instant(prom: PrometheusConnect | str, query: str, *, at: datetime | None = None) -> float | None:
    """The single value of an instant query (summed if several series), or None when it returns nothing."""
    client = _client(prom)
    params = {"time": f"{_utc(at).timestamp():.3f}"} if at is not None else None
    result = _call(client, "query", client.custom_query, query, params=params)
    if not result:
        return None
    return float(sum(float(r["value"][1]) for r in result))


def get_increase(prom: PrometheusConnect | str, selector: str, *, start: datetime, end: datetime) -> float | None:
    """How much the counters matching `selector` grew in [start, end]; None when none were scraped then."""
    seconds = max(1, int((_utc(end) - _utc(start)).total_seconds()))
    value = get_instant(prom, f"sum(increase({selector}[{seconds}s]))", at=end)
    if value is not None:
        return value
    # increase() needs two samples in the window; one sample of an existing counter means no growth.
    seen = get_instant(prom, f"count(last_over_time({selector}[{seconds}s]))", at=end)
    return 0.0 if seen else None


def get_dropped_increase(prom: PrometheusConnect | str, *, start: datetime, end: datetime) -> float | None:
    """failure_persist_dropped_total growth in [start, end] (None: never scraped in that range)."""
    return get_increase(prom, "failure_persist_dropped_total", start=start, end=end)


def get_critical_alerts_fired(prom: PrometheusConnect | str, *, start: datetime, end: datetime) -> list[str]:
    """Names of critical alerts that were firing at any evaluation in [start, end]."""
    client = _client(prom)
    seconds = max(1, int((_utc(end) - _utc(start)).total_seconds()))
    query = f'max by (alertname) (max_over_time(ALERTS{{alertstate="firing",severity="critical"}}[{seconds}s]))'
    result = _call(client, "query", client.custom_query, query, params={"time": f"{_utc(end).timestamp():.3f}"})
    return sorted(r["metric"].get("alertname", "?") for r in result or [])


def get_alerts(prom: PrometheusConnect | str, *, states: tuple[str, ...] = ("firing", "pending")) -> pd.DataFrame:
    """Alerts Prometheus evaluates now (/api/v1/alerts): alertname, state, severity, active_at, value, ..."""
    client = _client(prom)

    def fetch() -> dict[str, Any]:
        resp = client._session.get(f"{client.url}/api/v1/alerts", verify=client._session.verify,
                                   headers=client.headers, auth=client.auth,
                                   timeout=client._timeout or DEFAULT_TIMEOUT)
        if resp.status_code != 200:
            raise PrometheusApiClientException(f"HTTP {resp.status_code}: {resp.text[:200]}")
        return resp.json()

    body = _call(client, "alerts", fetch)
    rows = []
    for a in body.get("data", {}).get("alerts", []):
        if a.get("state") not in states:
            continue
        labels = dict(a.get("labels", {}))
        ann = a.get("annotations", {})
        rows.append({
            "alertname": labels.get("alertname", ""),
            "state": a.get("state", ""),
            "severity": labels.get("severity", ""),
            "active_at": pd.to_datetime(a.get("activeAt"), utc=True) if a.get("activeAt") else pd.NaT,
            "value": pd.to_numeric(a.get("value"), errors="coerce"),
            "summary": ann.get("summary", ""),
            "description": ann.get("description", ""),
            "labels": labels,
        })
    df = pd.DataFrame(rows, columns=ALERT_COLUMNS)
    df["active_at"] = pd.to_datetime(df["active_at"], utc=True)
    df["value"] = df["value"].astype(float)
    order = {"firing": 0, "pending": 1}
    return df.sort_values(["state", "alertname"], key=lambda s: s.map(order) if s.name == "state" else s) \
        .reset_index(drop=True)


def is_reachable(prom: PrometheusConnect | str) -> bool:
    """True when Prometheus answers its readiness endpoint."""
    try:
        client = _client(prom)
        resp = client._session.get(f"{client.url}/-/ready", timeout=client._timeout or DEFAULT_TIMEOUT)
        return resp.status_code == 200
    except (requests.RequestException, PrometheusUnavailable, OSError):
        return False


def default_step(start: datetime, end: datetime, points: int = 240) -> int:
    """A step in whole seconds giving about `points` points over [start, end] (at least 15s)."""
    return max(15, int((end - start).total_seconds() // points))


def now_utc() -> datetime:
    """Current time, UTC-aware (for callers choosing an explicit end)."""
    return datetime.now(UTC)
