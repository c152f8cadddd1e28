"""OS-level errors through libraries not in the main corpus: aiofiles, psutil, filelock-free; run in children as
`nobody` or with lowered rlimits so root's privileges do not hide them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from .common import Corpus, ver

CHILD = r"""
import asyncio, json, os, resource, sys
out = {}
async def rec(key, coro):
    try:
        await coro
    except BaseException as e:
        out[key] = [type(e).__module__, type(e).__qualname__, str(e)]
import aiofiles, aiofiles.os, aiofiles.threadpool, psutil, concurrent.futures.thread, asyncio.base_events
if sys.argv[1] == "nobody":
    os.setgid(65534); os.setuid(65534)
async def main(mode, d):
    if mode == "nobody":
        async def w():
            async with aiofiles.open("/etc/shadow") as f:
                await f.read()
        await rec("perm", w())
        async def w2():
            async with aiofiles.open(os.path.join(d, "out.json"), "w") as f:
                await f.write("{}")
        await rec("permdir", w2())
        try:
            psutil.Process(1).environ()
        except BaseException as e:
            out["psutil_denied"] = [type(e).__module__, type(e).__qualname__, str(e)]
    elif mode == "full":
        async def w():
            async with aiofiles.open("/dev/full", "w") as f:
                await f.write("x" * 10000)
                await f.flush()
        await rec("full", w())
        async def missing():
            async with aiofiles.open("/nonexistent/holdout/checkpoint.pt", "rb") as f:
                await f.read()
        await rec("missing", missing())
        try:
            p = psutil.Process(int(sys.argv[3]))
            p.name()
        except BaseException as e:
            out["psutil_gone"] = [type(e).__module__, type(e).__qualname__, str(e)]
    elif mode == "nofile":
        resource.setrlimit(resource.RLIMIT_NOFILE, (24, 24))
        async def many():
            fs = []
            for i in range(64):
                fs.append(await aiofiles.open(__file__ if False else "/etc/hostname"))
        await rec("nofile", many())
asyncio.run(main(sys.argv[1], sys.argv[2]))
print(json.dumps(out))
"""


def _child(mode, d, extra="0", nobody=False):
    def demote():
        os.setgid(65534)
        os.setuid(65534)

    res = subprocess.run([sys.executable, "-c", CHILD, mode, d, extra], capture_output=True, text=True, timeout=60,
                         cwd="/")
    try:
        return json.loads(res.stdout.strip().splitlines()[-1])
    except Exception:  # noqa: BLE001
        return {"_err": res.stderr[-500:]}


def run(c: Corpus):
    d = tempfile.mkdtemp(prefix="holdout-os-")
    os.chmod(d, 0o755)
    dead = subprocess.Popen(["true"])
    dead.wait()
    outs = {}
    outs.update(_child("nobody", d, nobody=True))
    outs.update(_child("full", d, str(dead.pid)))
    outs.update(_child("nofile", d, str(dead.pid)))
    if "_err" in outs:
        c.skipped.append(f"oserr child: {outs['_err']}")
    lib_a, lib_p = ver("aiofiles"), ver("psutil")

    def add(key, lib, meaning, provoked, accept=None, qual=False):
        if key not in outs:
            c.skipped.append(f"oserr {key}: nothing raised")
            return
        mod, name, text = outs[key]
        cls = f"{mod}.{name}" if qual and mod != "builtins" else name
        c.add(lib, "os", provoked, f"{cls}: {text}", meaning, accept)

    add("perm", lib_a, "PERM_FILE_ACCESS", "aiofiles.open('/etc/shadow') as nobody")
    add("permdir", lib_a, "PERM_FILE_ACCESS", "aiofiles.open(..., 'w') in a root-owned 0755 directory as nobody")
    add("full", lib_a, "RES_DISK_FULL", "aiofiles write + flush to /dev/full")
    add("missing", lib_a, "DATA_OBJECT_NOT_FOUND", "aiofiles.open of a checkpoint path that does not exist",
        ["CKPT_NOT_FOUND"])
    add("nofile", lib_a, "RES_TOO_MANY_OPEN_FILES", "open 64 files with RLIMIT_NOFILE 24")
    add("psutil_denied", lib_p, "PERM_FILE_ACCESS", "Process(1).environ() as nobody", qual=True)
    add("psutil_gone", lib_p, "DATA_OBJECT_NOT_FOUND", "Process(pid) of a process that has exited", qual=True)
