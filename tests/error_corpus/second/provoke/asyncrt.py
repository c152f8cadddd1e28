"""Async runtimes not in the main corpus: curio, gevent, uvloop."""

from __future__ import annotations

import subprocess
import sys

from .common import Corpus, blackhole, catch, free_port, silent_server, ver

FAM = "async"


def _curio(c: Corpus):
    import curio
    import curio.subprocess

    lib = ver("curio")

    async def slow():
        await curio.timeout_after(0.2, curio.sleep, 5)

    e = catch(curio.run, slow)
    c.exc(e, lib, FAM, "timeout_after(0.2) around a 5 s sleep", "NET_TIMEOUT",
          style="qual")

    async def refused():
        await curio.open_connection("127.0.0.1", free_port())

    e = catch(curio.run, refused)
    c.exc(e, lib, FAM, "open_connection to a closed loopback port", "NET_CONNECTION_REFUSED")

    async def cancelled():
        t = await curio.spawn(curio.sleep, 5)
        await curio.sleep(0.05)
        await t.cancel()
        await t.join()

    e = catch(curio.run, cancelled)
    c.exc(e, lib, FAM, "join() a task that was cancelled", "RUN_CANCELLED", style="chain")

    async def proc():
        p = curio.subprocess.Popen(["holdout-missing-tool", "--version"])
        await p.wait()

    e = catch(curio.run, proc)
    c.exc(e, lib, FAM, "subprocess.Popen of a program that does not exist", "TOOL_EXECUTABLE_NOT_FOUND",
          accept=["DATA_OBJECT_NOT_FOUND"], must="No such file")

    async def checked():
        await curio.subprocess.check_output(["sh", "-c", "echo migrate failed >&2; exit 4"])

    e = catch(curio.run, checked)
    c.exc(e, lib, FAM, "check_output of a command that exits 4", "TOOL_SUBPROCESS_FAILED", must="4")


GEVENT_CHILD = r"""
import json, socket, sys
from gevent import monkey; monkey.patch_all()
import gevent, gevent.socket, gevent.subprocess, gevent.pool, gevent.queue
out = {}
def rec(key, fn):
    try:
        fn()
    except BaseException as e:
        out[key] = [type(e).__module__, type(e).__qualname__, str(e)]
def t1():
    with gevent.Timeout(0.2):
        gevent.sleep(5)
rec("timeout", t1)
rec("refused", lambda: gevent.socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1))
def t3():
    s = gevent.socket.create_connection(("127.0.0.1", int(sys.argv[2])), timeout=0.3)
    s.recv(10)
rec("readtimeout", t3)
rec("missing", lambda: gevent.subprocess.check_call(["holdout-missing-tool"]))
rec("exit", lambda: gevent.subprocess.check_output(["sh", "-c", "exit 5"]))
def t6():
    g = gevent.spawn(gevent.sleep, 5)
    gevent.sleep(0.01)
    g.kill(block=True)
    g.get()
rec("killed", t6)
rec("queue", lambda: gevent.queue.Queue().get(timeout=0.1))
print(json.dumps(out))
"""


def _gevent(c: Corpus):
    import json

    lib = ver("gevent")
    with silent_server() as sport:
        res = subprocess.run([sys.executable, "-c", GEVENT_CHILD, str(free_port()), str(sport)],
                             capture_output=True, text=True, timeout=60)
    try:
        out = json.loads(res.stdout.strip().splitlines()[-1])
    except Exception:  # noqa: BLE001
        c.skipped.append(f"gevent child: {res.stderr[-800:]}")
        return

    def add(key, meaning, provoked, accept=None, qual=True):
        if key not in out:
            c.skipped.append(f"gevent {key}: nothing raised")
            return
        mod, name, text = out[key]
        cls = f"{mod}.{name}" if qual and mod != "builtins" else name
        c.add(lib, FAM, provoked, f"{cls}: {text}".rstrip(": ") if text else cls, meaning, accept)

    add("timeout", "NET_TIMEOUT", "gevent.Timeout(0.2) around a 5 s sleep")
    add("refused", "NET_CONNECTION_REFUSED", "create_connection to a closed loopback port (monkey-patched)",
        qual=False)
    add("readtimeout", "NET_TIMEOUT", "recv on a socket that never sends, timeout 0.3 s (monkey-patched)",
        ["NET_READ_TIMEOUT"])
    add("missing", "TOOL_EXECUTABLE_NOT_FOUND", "gevent.subprocess.check_call of a program that does not exist",
        ["DATA_OBJECT_NOT_FOUND"])
    add("exit", "TOOL_SUBPROCESS_FAILED", "gevent.subprocess.check_output of a command that exits 5")
    add("killed", "RUN_CANCELLED", "get() of a greenlet that was killed")


def _uvloop(c: Corpus):
    import asyncio

    import uvloop

    lib = ver("uvloop")

    async def refused():
        await asyncio.open_connection("127.0.0.1", free_port())

    e = catch(uvloop.run, refused())
    c.exc(e, lib, FAM, "open_connection to a closed loopback port (uvloop)", "NET_CONNECTION_REFUSED")

    async def cancelled():
        t = asyncio.ensure_future(asyncio.sleep(5))
        await asyncio.sleep(0.01)
        t.cancel("shutdown requested by the supervisor")
        await t

    e = catch(uvloop.run, cancelled())
    c.exc(e, lib, FAM, "await a task cancelled with a message (uvloop)", "RUN_CANCELLED", style="qual")

    async def tls_selfsigned(port):
        await asyncio.open_connection("127.0.0.1", port, ssl=True)

    from .certs import Certs
    from .servers import ScriptedServer

    certs = Certs()
    with ScriptedServer(tls=certs.server_ctx(certs.expired)) as srv:
        import ssl
        ctx = ssl.create_default_context(cafile=certs.ca.cert)

        async def tls_expired():
            await asyncio.open_connection("127.0.0.1", srv.port, ssl=ctx, server_hostname="localhost")

        e = catch(uvloop.run, tls_expired())
        c.exc(e, lib, "tls", "TLS connect to a server with an expired certificate (uvloop)", "NET_TLS_ERROR",
              must="expired")
    with blackhole() as port:
        async def ct():
            await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 0.3)

        e = catch(uvloop.run, ct())
        c.exc(e, lib, FAM, "open_connection to a full accept queue inside wait_for(0.3) (uvloop)", "NET_TIMEOUT",
              accept=["NET_CONNECT_TIMEOUT"], style="qual")


def run(c: Corpus):
    for fn in (_curio, _gevent, _uvloop):
        try:
            fn(c)
        except Exception:  # noqa: BLE001
            import traceback
            c.skipped.append(f"{fn.__name__} crashed: {traceback.format_exc()[-1500:]}")
