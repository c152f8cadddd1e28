"""A throwaway PostgreSQL cluster on a free port with scram auth, two connection slots and no SSL."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
import time

from .common import free_port


def _bin(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else None


@contextlib.contextmanager
def throwaway_cluster():
    """Yield the port of a fresh cluster (user agent/right-password, superuser postgres by trust); None if impossible."""
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        yield None
        return
    d = tempfile.mkdtemp(prefix="holdout-pg-")
    os.chmod(d, 0o755)
    data = os.path.join(d, "data")
    shutil.chown(d, "postgres", "postgres")
    port = free_port()

    def as_pg(args, timeout=60):
        return subprocess.run(["runuser", "-u", "postgres", "--", *args], capture_output=True, text=True,
                              timeout=timeout)

    try:
        if as_pg([initdb, "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]).returncode != 0:
            yield None
            return
        with open(os.path.join(data, "pg_hba.conf"), "w") as f:
            f.write("local all all trust\nhost all postgres 127.0.0.1/32 trust\n"
                    "host all agent 127.0.0.1/32 scram-sha-256\n")
        opts = (f"-p {port} -k {d} -c listen_addresses=127.0.0.1 -c max_connections=3 "
                f"-c superuser_reserved_connections=0 -c reserved_connections=0 -c fsync=off")
        if as_pg([pg_ctl, "-D", data, "-o", opts, "-l", os.path.join(d, "log"), "-w", "start"]).returncode != 0:
            opts = opts.replace(" -c reserved_connections=0", "")
            if as_pg([pg_ctl, "-D", data, "-o", opts, "-l", os.path.join(d, "log"), "-w", "start"]).returncode != 0:
                yield None
                return
        as_pg(["psql", "-h", d, "-p", str(port), "-U", "postgres", "-c",
               "create role agent login password 'right-password'"])
        time.sleep(0.2)
        yield port
    finally:
        as_pg([pg_ctl, "-D", data, "-m", "immediate", "stop"])
        shutil.rmtree(d, ignore_errors=True)
