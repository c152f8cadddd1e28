"""Shared helpers: the record collector, message formats, versions, loopback ports and processes."""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback
import zlib
from dataclasses import dataclass, field

MAX_CHARS = 2000
STYLES = ("qual", "name", "str", "name", "tb", "qual", "str", "name")


def trim(text: str, limit: int = MAX_CHARS) -> str:
    """Strip the text and cut it at a line boundary below the limit."""
    text = text.strip()
    if len(text) <= limit:
        return text
    out = []
    size = 0
    for line in text.splitlines():
        if size + len(line) + 1 > limit:
            break
        out.append(line)
        size += len(line) + 1
    if not out:
        return text[:limit]
    return "\n".join(out)


def _norm(text: str) -> str:
    """A near-duplicate key: digits, hex and quoted values folded."""
    text = re.sub(r"0x[0-9a-fA-F]+", "H", text)
    text = re.sub(r"\d{4,}", "N", text)
    return re.sub(r"\s+", " ", text).strip().lower()


def chain(exc: BaseException) -> list[BaseException]:
    """The exception chain, oldest first, as Python prints it."""
    seen: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in seen:
        seen.append(cur)
        if cur.__cause__ is not None:
            cur = cur.__cause__
        elif cur.__context__ is not None and not cur.__suppress_context__:
            cur = cur.__context__
        else:
            cur = None
    return list(reversed(seen))


def fmt(exc: BaseException, style: str) -> str:
    """Format an exception the way an agent runtime would log it."""
    cls = type(exc)
    if style == "qual":
        return f"{cls.__module__}.{cls.__qualname__}: {exc}"
    if style == "name":
        return f"{cls.__name__}: {exc}"
    if style == "str":
        return str(exc)
    if style == "repr":
        return repr(exc)
    if style == "tb":
        return "".join(traceback.format_exception_only(cls, exc)).strip()
    if style == "chain":
        parts = []
        links = chain(exc)
        for i, e in enumerate(links):
            parts.append("".join(traceback.format_exception_only(type(e), e)).strip())
            if i + 1 < len(links):
                nxt = links[i + 1]
                if nxt.__cause__ is e:
                    parts.append("The above exception was the direct cause of the following exception:")
                else:
                    parts.append("During handling of the above exception, another exception occurred:")
        return "\n\n".join(parts)
    raise ValueError(style)


@dataclass
class Corpus:
    """Collects records, rotates message formats and drops duplicates."""

    records: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    _seen: set = field(default_factory=set)
    _style: int = 0

    def next_style(self, key: str = "") -> str:
        """A message format for this case, stable across runs (a hash of the case picks it)."""
        if key:
            return STYLES[zlib.crc32(key.encode()) % len(STYLES)]
        self._style += 1
        return STYLES[self._style % len(STYLES)]

    def add(self, library: str, family: str, provoked: str, message: str, meaning: str,
            accept: list[str] | None = None, must: tuple[str, ...] | str = ()) -> bool:
        """Record one message; refuse it when an expected fragment is absent or it repeats."""
        message = trim(message)
        if isinstance(must, str):
            must = (must,)
        if not message:
            self.skipped.append(f"{library}: {provoked}: empty message")
            return False
        low = message.lower()
        missing = [m for m in must if m.lower() not in low]
        if missing:
            self.skipped.append(f"{library}: {provoked}: expected {missing!r} in {message[:300]!r}")
            return False
        key = (library.split(" ")[0], _norm(message))
        if key in self._seen:
            self.skipped.append(f"{library}: {provoked}: duplicate")
            return False
        self._seen.add(key)
        rec = {"family": family, "library": library, "provoked": provoked, "message": message,
               "meaning": meaning}
        if accept:
            rec["accept"] = list(accept)
        self.records.append(rec)
        return True

    def exc(self, exc: BaseException, library: str, family: str, provoked: str, meaning: str,
            accept: list[str] | None = None, style: str | None = None,
            must: tuple[str, ...] | str = (), bare: str | None = None, allow_local: bool = False) -> bool:
        """Record a caught exception in one of the logging formats.

        `bare` is the meaning when the message is only str(exc), for exceptions whose class name carries
        information the text lacks (httpx.ConnectTimeout: 'timed out')."""
        if exc is None:
            self.skipped.append(f"{library}: {provoked}: nothing was raised")
            return False
        if isinstance(exc, (TypeError, AttributeError, NameError, ImportError, KeyError, ValueError)) and \
                type(exc).__module__ == "builtins" and not allow_local:
            self.skipped.append(f"{library}: {provoked}: provoker bug? {exc!r}")
            return False
        style = style or self.next_style(f"{library.split(' ')[0]}|{provoked}")
        if style == "str" and not str(exc).strip():
            style = "name"
        if style == "str" and bare is not None and bare != meaning:
            meaning, accept = bare, [meaning]
        return self.add(library, family, provoked, fmt(exc, style), meaning, accept, must)

    def cli(self, res: Proc, library: str, family: str, provoked: str, meaning: str,
            accept: list[str] | None = None, must: tuple[str, ...] | str = (),
            stream: str = "stderr", status: bool | None = None, keep=None) -> bool:
        """Record a command's trimmed output, sometimes followed by its exit status."""
        text = res.stderr if stream == "stderr" else res.stdout if stream == "stdout" else (
            res.stdout + "\n" + res.stderr)
        lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
        if keep is not None:
            lines = [ln for ln in lines if keep(ln)]
        text = "\n".join(lines)
        if status is None:
            status = zlib.crc32(f"{library.split(' ')[0]}|{provoked}".encode()) % 2 == 0
        if status or not text:
            text = f"{text} (exit status {res.rc})".strip()
        return self.add(library, family, provoked, text, meaning, accept, must)


def ver(dist: str, label: str | None = None) -> str:
    """'label version' of an installed distribution."""
    return f"{label or dist} {importlib.metadata.version(dist)}"


PY = f"Python {sys.version.split()[0]}"


def stdlib(mod: str) -> str:
    """Library label of a standard-library module."""
    return f"{mod} ({PY})"


def tool_version(cmd: list[str], pattern: str = r"(\d+\.\d+(?:\.\d+)?)") -> str:
    """The first version number a tool prints about itself."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    except Exception:
        return "unknown"
    m = re.search(pattern, out.stdout + out.stderr)
    return m.group(1) if m else "unknown"


@dataclass
class Proc:
    """The outcome of a command."""

    rc: int
    stdout: str
    stderr: str


def run(cmd, timeout: float = 20, env: dict | None = None, input: str | None = None,
        cwd: str | None = None, shell: bool = False) -> Proc:
    """Run a command and capture its output; a hang of the harness itself is reported as rc -999."""
    full_env = dict(os.environ)
    if env:
        full_env.update(env)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env,
                           input=input, cwd=cwd, shell=shell)
        return Proc(p.returncode, p.stdout, p.stderr)
    except subprocess.TimeoutExpired as e:
        return Proc(-999, str(e.stdout or ""), str(e.stderr or ""))


def have(exe: str) -> bool:
    """Whether an executable is on PATH."""
    return shutil.which(exe) is not None


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Server:
    """A background TCP listener with a per-connection behaviour."""

    def __init__(self, behaviour, backlog: int = 64):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        self.port = self.sock.getsockname()[1]
        self.behaviour = behaviour
        self.conns: list[socket.socket] = []
        self.stopped = False
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self):
        while not self.stopped:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        with contextlib.suppress(OSError):
            self.behaviour(conn)

    def close(self):
        self.stopped = True
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()
        for c in self.conns:
            with contextlib.suppress(OSError):
                c.close()


def _silent(conn):
    time.sleep(30)


def _reset(conn):
    conn.settimeout(2)
    with contextlib.suppress(OSError):
        conn.recv(65536)
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    conn.close()


def _eof(conn):
    conn.settimeout(2)
    with contextlib.suppress(OSError):
        conn.recv(65536)
    conn.close()


def _eof_now(conn):
    conn.close()


@contextlib.contextmanager
def silent_server():
    """A port that accepts connections and never answers (read timeouts)."""
    s = _Server(_silent)
    try:
        yield s.port
    finally:
        s.close()


@contextlib.contextmanager
def reset_server():
    """A port that reads the request and answers with a TCP reset."""
    s = _Server(_reset)
    try:
        yield s.port
    finally:
        s.close()


@contextlib.contextmanager
def eof_server(immediate: bool = False):
    """A port that closes the connection without answering."""
    s = _Server(_eof_now if immediate else _eof)
    try:
        yield s.port
    finally:
        s.close()


@contextlib.contextmanager
def blackhole():
    """A port whose accept queue is full, so new connections hang in SYN (connect timeouts)."""
    lsock = socket.socket()
    lsock.bind(("127.0.0.1", 0))
    lsock.listen(0)
    port = lsock.getsockname()[1]
    fillers = []
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        with contextlib.suppress(BlockingIOError, OSError):
            c.connect(("127.0.0.1", port))
        fillers.append(c)
    time.sleep(0.1)
    try:
        yield port
    finally:
        for c in fillers:
            c.close()
        lsock.close()


def keep_meaningful(line: str) -> bool:
    """Drop stack-frame lines from another runtime's uncaught-error output."""
    s = line.strip()
    return not (s.startswith("at ") or s.startswith("... ") or s.startswith("^") or s.startswith("Node.js v")
                or s.startswith("node:internal") or s == "}" or s == "{")


def catch(fn, *a, **kw):
    """Call fn and return the exception it raised (None when it did not raise)."""
    try:
        fn(*a, **kw)
    except BaseException as e:  # noqa: BLE001
        if isinstance(e, KeyboardInterrupt):
            raise
        return e
    return None


def acatch(coro_fn, *a, **kw):
    """Run an async function with asyncio and return what it raised."""
    import asyncio

    async def wrap():
        return await coro_fn(*a, **kw)

    return catch(asyncio.run, wrap())
