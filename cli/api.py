"""failcat api: serve the REST API with uvicorn."""
from __future__ import annotations

import click


def register(main: click.Group) -> None:
    """Add `failcat api` to the main group."""
    main.add_command(api)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind (0.0.0.0 for all).")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535), help="TCP port.")
@click.option("--log-level", default="info", show_default=True,
              type=click.Choice(["critical", "error", "warning", "info", "debug"]))
def api(host: str, port: int, log_level: str) -> None:
    """Serve the REST API (/api/v1/..., /metrics, /healthz, /readyz; OpenAPI at /docs)."""
    import uvicorn
    from sqlalchemy.exc import OperationalError

    from api.app import create_app
    from cli.common import engine_ready
    from core.db import describe_db_error, get_engine
    from core.settings import get_settings

    try:
        engine_ready()
    except OperationalError as exc:
        # Start anyway: /readyz reports 503 until the database is back, and ingest spools meanwhile.
        click.echo(f"failcat: warning: {describe_db_error(exc, get_settings().database_url)}", err=True)
    click.echo(f"failcat: serving the API on http://{host}:{port} (docs at /docs)", err=True)
    trusted = get_settings().trusted_proxies.strip()
    uvicorn.run(create_app(get_engine()), host=host, port=port, log_level=log_level,
                proxy_headers=bool(trusted), forwarded_allow_ips=trusted or None)
