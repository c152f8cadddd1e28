"""Async runtimes: asyncio, anyio, trio and concurrent.futures timeouts, cancellations and stream errors."""

from __future__ import annotations

import asyncio
import concurrent.futures
import time

from .common import Corpus, eof_server, free_port, reset_server, stdlib, ver
from .http_clients import catch

FAM = "async"


def _asyncio(c: Corpus):
    lib = stdlib("asyncio")

    async def wait_for():
        await asyncio.wait_for(asyncio.sleep(5), 0.2)

    e = catch(asyncio.run, wait_for())
    c.exc(e, lib, FAM, "asyncio.wait_for(sleep(5), 0.2)", "NET_TIMEOUT", style="chain")

    async def timeout_ctx():
        async with asyncio.timeout(0.2):
            await asyncio.sleep(5)

    e = catch(asyncio.run, timeout_ctx())
    c.exc(e, lib, FAM, "async with asyncio.timeout(0.2) around sleep(5)", "NET_TIMEOUT", style="tb")

    async def cancelled(msg):
        t = asyncio.ensure_future(asyncio.sleep(5))
        await asyncio.sleep(0.05)
        t.cancel(msg)
        await t

    e = catch(asyncio.run, cancelled("run 42 cancelled by user"))
    c.exc(e, lib, FAM, "task.cancel('run 42 cancelled by user') then await", "RUN_CANCELLED", style="qual")
    e = catch(asyncio.run, cancelled(None))
    c.exc(e, lib, FAM, "task.cancel() then await", "RUN_CANCELLED", style="tb")

    async def refused():
        await asyncio.open_connection("127.0.0.1", free_port())

    e = catch(asyncio.run, refused())
    c.exc(e, lib, FAM, "asyncio.open_connection to a closed port", "NET_CONNECTION_REFUSED")

    async def read_exact(port):
        r, w = await asyncio.open_connection("127.0.0.1", port)
        w.write(b"HELLO\r\n")
        await w.drain()
        try:
            await r.readexactly(16)
        finally:
            w.close()

    with eof_server() as port:
        e = catch(asyncio.run, read_exact(port))
        c.exc(e, lib, FAM, "readexactly(16) on a stream the peer closes", "NET_CONNECTION_RESET")
    with reset_server() as port:
        e = catch(asyncio.run, read_exact(port))
        c.exc(e, lib, FAM, "readexactly(16) on a stream the peer resets", "NET_CONNECTION_RESET", style="qual")

    async def group():
        async with asyncio.TaskGroup() as tg:
            tg.create_task(asyncio.open_connection("127.0.0.1", free_port()))
            tg.create_task(asyncio.sleep(1))

    e = catch(asyncio.run, group())
    c.exc(e, lib, FAM, "TaskGroup whose child connects to a closed port", "NET_CONNECTION_REFUSED", style="repr")

    async def subproc():
        await asyncio.create_subprocess_exec("whisper-cli", "--model", "base", "audio.wav")

    e = catch(asyncio.run, subproc())
    c.exc(e, lib, FAM, "create_subprocess_exec of a program that is not installed", "TOOL_EXECUTABLE_NOT_FOUND",
          style="qual")

    lib = stdlib("concurrent.futures")
    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        ex.submit(time.sleep, 0.5)
        fut = ex.submit(time.sleep, 0.1)
        fut.cancel()
        e = catch(fut.result)
        c.exc(e, lib, FAM, "result() of a future cancelled before it ran", "RUN_CANCELLED", style="qual")
        e = catch(ex.submit(time.sleep, 2).result, timeout=0.1)
        c.exc(e, lib, FAM, "future.result(timeout=0.1) on a 2 s job", "NET_TIMEOUT", accept=["TOOL_TIMEOUT"],
              style="chain")


def _anyio(c: Corpus):
    import anyio

    lib = ver("anyio")

    async def fail_after():
        with anyio.fail_after(0.2):
            await anyio.sleep(5)

    e = catch(anyio.run, fail_after)
    c.exc(e, lib, FAM, "anyio.fail_after(0.2) around sleep(5)", "NET_TIMEOUT", style="chain")

    async def connect():
        await anyio.connect_tcp("127.0.0.1", free_port())

    e = catch(anyio.run, connect)
    c.exc(e, lib, FAM, "anyio.connect_tcp to a closed port", "NET_CONNECTION_REFUSED", style="chain",
          accept=["NET_CONNECTION_ERROR"])

    async def group():
        async with anyio.create_task_group() as tg:
            tg.start_soon(connect)
            tg.start_soon(anyio.sleep, 1)

    e = catch(anyio.run, group)
    c.exc(e, lib, FAM, "task group whose child connects to a closed port", "NET_CONNECTION_ERROR",
          accept=["NET_CONNECTION_REFUSED"], style="repr")

    async def proc():
        await anyio.run_process(["git", "rev-parse", "HEAD"], cwd="/")

    e = catch(anyio.run, proc)
    c.exc(e, lib, FAM, "anyio.run_process of a command exiting 128", "TOOL_SUBPROCESS_FAILED")


def _trio(c: Corpus):
    try:
        import trio
    except ImportError:
        return
    lib = ver("trio")

    async def slow():
        with trio.fail_after(0.2):
            await trio.sleep(5)

    e = catch(trio.run, slow)
    c.exc(e, lib, FAM, "trio.fail_after(0.2) around sleep(5)", "NET_TIMEOUT", style="qual")

    async def connect():
        await trio.open_tcp_stream("127.0.0.1", free_port())

    e = catch(trio.run, connect)
    c.exc(e, lib, FAM, "trio.open_tcp_stream to a closed port", "NET_CONNECTION_REFUSED", style="chain",
          accept=["NET_CONNECTION_ERROR"])

    async def proc():
        await trio.run_process(["ls", "/var/lib/agent/cache"], capture_stderr=True)

    e = catch(trio.run, proc)
    c.exc(e, lib, FAM, "trio.run_process of ls on a missing directory", "TOOL_SUBPROCESS_FAILED")

    async def missing():
        await trio.run_process(["playwright", "install"])

    e = catch(trio.run, missing)
    c.exc(e, lib, FAM, "trio.run_process of a program that is not installed", "TOOL_EXECUTABLE_NOT_FOUND")


def run(c: Corpus):
    _asyncio(c)
    _anyio(c)
    _trio(c)
