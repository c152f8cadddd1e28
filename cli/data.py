"""failcat migrate, catalog load, ingest."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from cli.common import engine_ready


def register(main: click.Group) -> None:
    """Add the data commands to the main group."""
    main.add_command(migrate)
    main.add_command(catalog)
    main.add_command(ingest)


@click.command()
@click.option("--catalog-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="Catalog YAML to load (default: the shipped catalog).")
def migrate(catalog_file: Path | None) -> None:
    """Create or upgrade the schema and load the shipped catalog."""
    from loaders.migrate import migrate as run_migrate

    engine = engine_ready(need_schema=False)
    counts = run_migrate(engine, catalog_path=catalog_file)
    click.echo(f"schema up to date on {engine.dialect.name}; catalog: "
               + ", ".join(f"{v} {k}" for k, v in counts.items()))


@click.group()
def catalog() -> None:
    """Manage the failure catalog."""


@catalog.command("load")
@click.argument("path", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def catalog_load(path: Path | None) -> None:
    """(Re)load the catalog file into the database (upsert by code)."""
    from loaders.catalog.file import load_catalog_into_db

    counts = load_catalog_into_db(engine_ready(), path)
    click.echo("catalog: " + ", ".join(f"{v} {k}" for k, v in counts.items()))


@click.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--replay", is_flag=True, help="Only replay events waiting in the local spool.")
@click.option("--progress/--no-progress", default=None, help="Progress bar (default: on a terminal).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def ingest(file: Path | None, replay: bool, progress: bool | None, as_json: bool) -> None:
    """Ingest failure events from a JSONL file ('-' for stdin); bad lines are reported, good ones kept."""
    from core.db import get_engine
    from core.metrics import push_metrics
    from loaders.ingest.files import ingest_jsonl

    if not file and not replay:
        raise click.UsageError("give a JSONL file (or '-') or --replay")
    report = ingest_jsonl(get_engine(), file, replay_only=replay,
                          progress=sys.stderr.isatty() if progress is None else progress)
    for err in report.errors[:200]:
        click.echo(f"{file}:{err}", err=True)
    if len(report.errors) > 200:
        click.echo(f"... and {len(report.errors) - 200} more errors", err=True)
    summary = {
        "received": report.received, "inserted": report.inserted, "duplicates": report.duplicates,
        "matched": report.matched, "unmatched": report.unmatched, "rejected": report.rejected,
        "spooled": report.spooled, "replayed": report.replayed, "dropped": report.dropped,
    }
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(" ".join(f"{k}={v}" for k, v in summary.items()))
    if push_metrics("failcat_ingest") is False:
        click.echo("failcat: warning: could not push metrics to PUSHGATEWAY_URL", err=True)
    if report.spooled:
        click.echo(f"failcat: warning: database unavailable; {report.spooled} events spooled "
                   "for replay (`failcat ingest --replay`)", err=True)
    if report.dropped or (report.rejected and not report.inserted and not report.spooled):
        sys.exit(1)
    if report.rejected:
        sys.exit(2)
