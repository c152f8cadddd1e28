"""The `failcat` command line: an entry point beside api/ and app.py; each cli/ module registers its commands."""
from __future__ import annotations

import sys
from typing import Any

import click
from sqlalchemy.exc import SQLAlchemyError

from core.db import DatabaseUnavailable, describe_db_error


class FailcatGroup(click.Group):
    """Turns known failures into one-line messages and a non-zero exit instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.UsageError):
            raise  # usage errors keep click's usage hint
        except click.ClickException as exc:
            # Same one-line form as every other failure (click would print "Error: ...").
            fail(exc.format_message().splitlines()[0], code=exc.exit_code)
        except (DatabaseUnavailable, SQLAlchemyError) as exc:
            from core.settings import get_settings

            fail(describe_db_error(exc, get_settings().database_url))
        except KeyboardInterrupt:
            fail("interrupted", code=130)
        except (ValueError, LookupError, PermissionError, OSError, RuntimeError) as exc:
            fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)


def fail(message: str, code: int = 1) -> None:
    """Print `failcat: error: message` on stderr and exit non-zero."""
    click.echo(f"failcat: error: {message}", err=True)
    sys.exit(code)


@click.group(cls=FailcatGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="failcat", prog_name="failcat")
def main() -> None:
    """Failure Catalog: store, match and explore agent run failures."""


def _register_commands() -> None:
    from cli import accounts, api, canary, dashboard, data, demo, exports, partitions, retention

    for module in (data, demo, accounts, exports, canary, retention, partitions, api, dashboard):
        module.register(main)


_register_commands()
