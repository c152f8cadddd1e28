"""Operating-system errors: errno values, resource limits, signals; some in child processes (as nobody, or with
lowered rlimits) so that root's privileges do not mask them."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time

from .common import Corpus, eof_server, free_port, reset_server, stdlib, tool_version
from .common import run as sh
from .http_clients import catch

FAM = "os"
CHILD = r'''
import json, os, resource, sys, traceback
def emit(e):
    print(json.dumps("".join(traceback.format_exception_only(type(e), e)).strip()))
kind = sys.argv[1]
try:
    if kind == "eacces":
        open("/root/.bash_history_agent", "a").write("x")
    elif kind == "eacces_dir":
        os.listdir("/root")
    elif kind == "eperm":
        os.kill(1, 15)
    elif kind == "emfile":
        resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))
        fs = [open("/dev/null") for _ in range(64)]
    elif kind == "emfile_sock":
        import socket
        resource.setrlimit(resource.RLIMIT_NOFILE, (16, 16))
        ss = [socket.socket() for _ in range(64)]
    elif kind == "nomem":
        resource.setrlimit(resource.RLIMIT_AS, (300 * 2**20, 300 * 2**20))
        buf = bytearray(2 * 2**30)
    elif kind == "thread":
        import threading, time
        resource.setrlimit(resource.RLIMIT_NPROC, (1, 1))
        threading.Thread(target=time.sleep, args=(1,)).start()
    elif kind == "fork":
        resource.setrlimit(resource.RLIMIT_NPROC, (1, 1))
        os.fork()
except BaseException as e:
    emit(e)
'''


def _child(kind: str, as_nobody: bool = False) -> str | None:
    cmd = ["/usr/bin/python3", "-c", CHILD, kind]
    if as_nobody:
        cmd = ["runuser", "-u", "nobody", "--"] + cmd
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=30, cwd="/")
    line = p.stdout.strip().splitlines()[-1:] if p.stdout.strip() else []
    return json.loads(line[0]) if line else None


def run(c: Corpus):
    lib = stdlib("os/io")
    e = catch(open, "/var/lib/agent/outputs/report.json")
    c.exc(e, lib, FAM, "open() of a file that does not exist", "DATA_OBJECT_NOT_FOUND")
    e = catch(os.listdir, "/var/lib/agent/workspace/run-42")
    c.exc(e, lib, FAM, "os.listdir() of a directory that does not exist", "DATA_OBJECT_NOT_FOUND", style="qual")

    def write_full():
        with open("/dev/full", "w") as f:
            f.write("x" * 10000)
            f.flush()

    e = catch(write_full)
    c.exc(e, lib, FAM, "write and flush to /dev/full", "RES_DISK_FULL", must="No space left")
    e = catch(os.mkdir, "/tmp")
    c.exc(e, lib, FAM, "os.mkdir() of a directory that already exists", "DATA_CONFLICT", style="name")

    def rec(n):
        return rec(n + 1) + 1

    e = catch(rec, 0)
    c.exc(e, lib, FAM, "unbounded recursion", "RES_RECURSION_DEPTH", style="tb")
    py = f"{PYLABEL} (child process)"
    for kind, nobody, what, meaning in (
        ("eacces", True, "open() for append of a root-owned file, as user nobody", "PERM_FILE_ACCESS"),
        ("eacces_dir", True, "os.listdir('/root') as user nobody", "PERM_FILE_ACCESS"),
        ("eperm", True, "os.kill(1, SIGTERM) as user nobody", "PERM_FILE_ACCESS"),
        ("emfile", False, "opening 64 files with RLIMIT_NOFILE 16", "RES_TOO_MANY_OPEN_FILES"),
        ("emfile_sock", False, "creating 64 sockets with RLIMIT_NOFILE 16", "RES_TOO_MANY_OPEN_FILES"),
        ("nomem", False, "allocating 2 GiB with RLIMIT_AS 300 MiB", "RES_OUT_OF_MEMORY"),
        ("thread", True, "starting a thread with RLIMIT_NPROC 1, as user nobody", "RES_THREAD_LIMIT"),
        ("fork", True, "os.fork() with RLIMIT_NPROC 1, as user nobody", "RES_THREAD_LIMIT"),
    ):
        msg = _child(kind, nobody)
        if msg:
            c.add(py, FAM, what + " (traceback's last line)", msg, meaning)
        else:
            c.skipped.append(f"os child {kind}: no error")
    sk = stdlib("socket")
    s = socket.socket()
    s.settimeout(2)
    e = catch(s.connect, ("127.0.0.1", free_port()))
    c.exc(e, sk, FAM, "socket.connect() to a closed port", "NET_CONNECTION_REFUSED", style="qual")
    s.close()
    with reset_server() as port:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        s.sendall(b"PING\r\n")
        time.sleep(0.2)
        e = catch(s.recv, 100)
        c.exc(e, sk, FAM, "recv() after the peer reset the connection", "NET_CONNECTION_RESET", style="name")
        s.close()
    with eof_server(immediate=True) as port:
        s = socket.create_connection(("127.0.0.1", port), timeout=2)
        time.sleep(0.2)

        def spam():
            for _ in range(100):
                s.sendall(b"x" * 65536)
                time.sleep(0.01)

        e = catch(spam)
        c.exc(e, sk, FAM, "sendall() in a loop after the peer closed", "NET_CONNECTION_RESET")
        s.close()
    dd = f"coreutils dd {tool_version(['dd', '--version'])}"
    c.cli(sh(["dd", "if=/dev/zero", "of=/dev/full", "bs=1k", "count=1"]), dd, FAM, "dd into /dev/full",
          "RES_DISK_FULL", keep=lambda ln: "records" not in ln and "copied" not in ln)
    c.cli(sh(["runuser", "-u", "nobody", "--", "cat", "/etc/shadow"]), f"coreutils cat {tool_version(['cat', '--version'])}",
          FAM, "cat /etc/shadow as user nobody", "PERM_FILE_ACCESS")
    c.cli(sh(["runuser", "-u", "nobody", "--", "bash", "-c", "ulimit -u 1; sleep 1 & wait"]), "bash", FAM,
          "bash backgrounding a job with ulimit -u 1, as user nobody", "RES_THREAD_LIMIT")
    c.cli(sh(["bash", "-c", "ulimit -v 100000; python3 -c 'x = bytearray(500 * 2**20)'"]), "bash", FAM,
          "python3 allocating 500 MiB under ulimit -v 100000 (bash)", "RES_OUT_OF_MEMORY",
          keep=lambda ln: not ln.startswith(("  ", "Traceback")))


PYLABEL = f"Python {subprocess.run(['/usr/bin/python3', '--version'], capture_output=True, text=True).stdout.split()[-1]}"
