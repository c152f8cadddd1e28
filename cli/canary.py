"""failcat canary-report: the guide's canary success criteria and alert badges for a tenant and range.

Exit status: 0 met, 1 not met (a criterion failed), 3 unknown (none failed, some could not be measured),
2 a usage or input error such as a tenant with no data.
"""
from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta

import click

from cli.common import engine_ready, tenant_scope_option

_SPAN = re.compile(r"^(\d+)([mhd])$")
# 2 is click's usage error (and ingest's refused input); 3 keeps "cannot tell" apart from both.
EXIT = {"met": 0, "not met": 1, "unknown": 3}


class UnknownTenant(click.ClickException):
    """--tenant names a tenant the database holds nothing for: an input error (exit 2)."""

    exit_code = 2


def register(main: click.Group) -> None:
    """Add `failcat canary-report` to the main group."""
    main.add_command(canary_report)


def _span(value: str) -> timedelta:
    m = _SPAN.match(value.strip())
    if not m:
        raise click.BadParameter("use a number with m, h or d, e.g. 24h or 2d", param_hint="--since")
    n, unit = int(m.group(1)), m.group(2)
    return {"m": timedelta(minutes=n), "h": timedelta(hours=n), "d": timedelta(days=n)}[unit]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _fmt(name: str, value: float | None) -> str:
    if value is None:
        return "-"
    if "rate" in name.lower() or "success" in name.lower():
        return f"{value:.1%}"
    return f"{value:g}"


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


@click.command("canary-report")
@click.option("--tenant", "tenant_id", default=None, help="Tenant to evaluate.")
@click.option("--all-tenants", is_flag=True, help="Evaluate all tenants together.")
@click.option("--since", default="24h", show_default=True, help="Range ending now (e.g. 24h, 48h, 2d).")
@click.option("--start", type=click.DateTime(), default=None, help="Range start (UTC unless an offset is given).")
@click.option("--end", type=click.DateTime(), default=None, help="Range end (default: now).")
@click.option("--prometheus-url", default=None, help="Prometheus base URL (default: PROMETHEUS_URL).")
@click.option("--no-prometheus", is_flag=True, help="Use the database only (dropped events stay unknown).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def canary_report(tenant_id: str | None, all_tenants: bool, since: str, start: datetime | None, end: datetime | None,
                  prometheus_url: str | None, no_prometheus: bool, as_json: bool) -> None:
    """Check the canary success criteria; exit 0 met, 1 not met, 3 unknown (some not measurable), 2 bad input."""
    from core.settings import get_settings
    from queries.reports.canary import evaluate_canary
    from queries.tenants import list_tenants

    scope = tenant_scope_option(tenant_id, all_tenants)
    end_at = _utc(end) or datetime.now(UTC)
    start_at = _utc(start) or end_at - _span(since)
    if start_at >= end_at:
        raise click.UsageError("--start must be before --end")
    url = None if no_prometheus else (prometheus_url or get_settings().prometheus_url)
    with engine_ready().connect() as conn:
        if scope is not None and scope not in list_tenants(conn, tenant_id=None):
            raise UnknownTenant(f"unknown tenant {scope!r}: the database holds no failures for it")
        result = evaluate_canary(conn, tenant_id=scope, start=start_at, end=end_at, prometheus_url=url)

    if as_json:
        click.echo(json.dumps({
            "tenant_id": result.tenant_id, "start": result.start.isoformat(), "end": result.end.isoformat(),
            "failures": result.failures, "prometheus": result.prometheus, "met": result.met,
            "verdict": result.verdict,
            "criteria": [{**c.__dict__, "verdict": c.verdict} for c in result.criteria],
            "badges": [b.__dict__ for b in result.badges],
            "live_alerts": [b.__dict__ for b in result.live_alerts],
        }, default=str))
    else:
        click.echo(f"Canary report for {result.tenant_id or 'all tenants'}, "
                   f"{result.start:%Y-%m-%d %H:%M} - {result.end:%Y-%m-%d %H:%M} UTC "
                   f"({result.failures} failures; Prometheus: {result.prometheus})")
        click.echo("")
        rows = [["CRITERION", "TARGET", "VALUE", "STATUS", "SOURCE", "DETAIL"]]
        rows += [[c.name, c.target, _fmt(c.name, c.value), c.verdict.upper(), c.source, c.detail]
                 for c in result.criteria]
        click.echo(_table(rows))
        click.echo("")
        rows = [["ALERT", "SEVERITY", "CONDITION", "VALUE", "STATE", "SOURCE"]]
        rows += [[b.alert, b.severity, b.condition, _fmt(b.condition, b.value), b.state.upper(), b.source]
                 for b in result.badges + result.live_alerts]
        click.echo(_table(rows))
        click.echo("")
        click.echo("canary criteria: " + result.verdict.upper())
    if result.verdict == "not met":
        failed = [c.name for c in result.criteria if c.status == "fail"]
        click.echo(f"failcat: error: canary criteria not met: {', '.join(failed)}", err=True)
    elif result.verdict == "unknown":
        unknown = [c.name for c in result.criteria if c.status == "unknown"]
        click.echo(f"failcat: warning: canary criteria unknown: every measured one is met, but "
                   f"{', '.join(unknown)} could not be measured (Prometheus: {result.prometheus})", err=True)
    sys.exit(EXIT[result.verdict])
