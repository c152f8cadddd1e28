"""Other languages' runtimes and toolchains (node, java, rustc/cargo, go) printing real errors on stderr."""

from __future__ import annotations

import os
import re
import shutil
import tempfile

from .certs import Certs
from .common import Corpus, blackhole, free_port, reset_server, silent_server, tool_version
from .common import run as sh
from .servers import Resp, ScriptedServer

FAM = "lang"
PROGRAMS = os.path.join(os.path.dirname(__file__), "programs")
NODE_KEEP = re.compile(r"^\s*(<ref \*\d+> )?(\[cause\]|code:|errno:|syscall:|address:|port:|FATAL|\w*Error\b|"
                       r"\w*Exception\b|DOMException|Uncaught)")


def _node_keep(ln: str) -> bool:
    return (bool(NODE_KEEP.match(ln)) and "node:internal" not in ln and "captureStackTrace" not in ln
            and "triggerUncaughtException" not in ln)


def _java_keep(ln: str) -> bool:
    return not ln.startswith(("\tat ", "\t... ")) and ln.strip() != ""


def _rust_keep(ln: str) -> bool:
    return not ln.startswith("note: run with")


def _node(c, srv, tls, tmp):
    if not shutil.which("node"):
        return
    lib = f"node {tool_version(['node', '--version'])}"
    js = os.path.join(PROGRAMS, "errs.js")

    def node(*args, flags=()):
        return sh(["node", *flags, js, *args], timeout=60)

    c.cli(node("fetch", f"http://127.0.0.1:{free_port()}/v1/items"), lib, FAM, "fetch() of a closed loopback port",
          "NET_CONNECTION_REFUSED", keep=_node_keep, must="ECONNREFUSED")
    c.cli(node("fetch-timeout", srv.url + "/slow"), lib, FAM, "fetch() with AbortSignal.timeout(300) on a slow server",
          "NET_TIMEOUT", accept=["NET_READ_TIMEOUT"], keep=_node_keep, must="timeout")
    c.cli(sh(["node", os.path.join(PROGRAMS, "errs.js"), "fetch", f"https://localhost:{tls.port}/"], timeout=60), lib,
          FAM, "fetch() of an https server with a self-signed certificate", "NET_TLS_ERROR", keep=_node_keep,
          must="certificate")
    c.cli(node("read"), lib, FAM, "fs.readFileSync of a missing file", "DATA_OBJECT_NOT_FOUND", keep=_node_keep,
          must="ENOENT")
    c.cli(node("json"), lib, FAM, "JSON.parse of prose", "DATA_JSON_DECODE", keep=_node_keep, must="JSON")
    with reset_server() as port:
        c.cli(node("hangup", f"http://127.0.0.1:{port}/"), lib, FAM, "http.get answered by a TCP reset",
              "NET_CONNECTION_RESET", keep=_node_keep, must="ECONNRESET")
    c.cli(node("spawn"), lib, FAM, "execFileSync of a program that is not installed", "TOOL_EXECUTABLE_NOT_FOUND",
          keep=_node_keep, must="ENOENT")
    c.cli(node("exec"), lib, FAM, "execSync of ls on a missing directory", "TOOL_SUBPROCESS_FAILED",
          accept=["DATA_OBJECT_NOT_FOUND"], keep=_node_keep, must="Command failed")
    c.cli(node("stack"), lib, FAM, "unbounded recursion", "RES_RECURSION_DEPTH", keep=_node_keep,
          must="call stack")
    c.cli(node("heap", flags=("--max-old-space-size=32",)), lib, FAM, "array growth with --max-old-space-size=32",
          "RES_OUT_OF_MEMORY", keep=lambda ln: "FATAL" in ln, must="heap out of memory")


def _java(c, srv, tls, tmp):
    if not (shutil.which("javac") and shutil.which("java")):
        return
    if sh(["javac", "-d", tmp, os.path.join(PROGRAMS, "Errs.java")], timeout=120).rc != 0:
        c.skipped.append("javac failed")
        return
    lib = f"OpenJDK {tool_version(['java', '-version'])}"

    def java(*args, flags=()):
        return sh(["java", *flags, "-cp", tmp, "Errs", *args], timeout=60)

    c.cli(java("refused", str(free_port())), lib, FAM, "new Socket() to a closed port", "NET_CONNECTION_REFUSED",
          keep=_java_keep, must="refused")
    with blackhole() as port:
        c.cli(java("connect-timeout", str(port)), lib, FAM, "Socket.connect(timeout 300 ms) to a full accept queue",
              "NET_CONNECT_TIMEOUT", keep=_java_keep, must="timed out")
    with silent_server() as port:
        c.cli(java("read-timeout", str(port)), lib, FAM, "read() with SO_TIMEOUT 300 ms on a silent server",
              "NET_READ_TIMEOUT", keep=_java_keep, must="timed out")
    c.cli(java("http-timeout", srv.url + "/slow"), lib, FAM, "HttpClient.send with a 300 ms request timeout",
          "NET_TIMEOUT", accept=["NET_READ_TIMEOUT"], keep=_java_keep, must="timed out")
    c.cli(java("tls", f"https://localhost:{tls.port}/"), lib, FAM, "HttpClient.send to a self-signed https server",
          "NET_TLS_ERROR", keep=_java_keep)
    c.cli(java("file"), lib, FAM, "Files.readString of a missing file", "DATA_OBJECT_NOT_FOUND", keep=_java_keep)
    c.cli(java("stack", flags=("-Xss256k",)), lib, FAM, "unbounded recursion", "RES_RECURSION_DEPTH",
          keep=lambda ln: not ln.startswith("\tat "), must="StackOverflowError")
    c.cli(java("heap", flags=("-Xmx32m",)), lib, FAM, "allocation loop with -Xmx32m", "RES_OUT_OF_MEMORY",
          keep=_java_keep, must="OutOfMemoryError")
    c.cli(java("number"), lib, FAM, "Integer.parseInt(\"12.5k\")", "DATA_PARSE_ERROR", keep=_java_keep)


def _rust(c, tmp):
    if not shutil.which("rustc"):
        return
    lib = f"rustc {tool_version(['rustc', '--version'])}"
    exe = os.path.join(tmp, "errs")
    if sh(["rustc", "-O", "-o", exe, os.path.join(PROGRAMS, "errs.rs")], timeout=300).rc != 0:
        c.skipped.append("rustc failed")
        return
    def rsh(cmd, **kw):
        from .common import run

        return run(cmd, env={"RUST_BACKTRACE": "0"}, **kw)

    c.cli(rsh([exe, "refused", str(free_port())]), lib + " (program)", FAM, "TcpStream::connect(..).unwrap() on a "
          "closed port", "NET_CONNECTION_REFUSED", keep=_rust_keep, must="ConnectionRefused")
    with blackhole() as port:
        c.cli(rsh([exe, "connect-timeout", str(port)]), lib + " (program)", FAM,
              "TcpStream::connect_timeout(300 ms) to a full accept queue", "NET_CONNECT_TIMEOUT", keep=_rust_keep,
              must="TimedOut")
    c.cli(rsh([exe, "file"]), lib + " (program)", FAM, "fs::read_to_string(..).expect() of a missing file",
          "DATA_OBJECT_NOT_FOUND", keep=_rust_keep, must="NotFound")
    c.cli(rsh([exe, "parse"]), lib + " (program)", FAM, "\"12.5k\".parse::<u32>().unwrap()", "DATA_PARSE_ERROR",
          keep=_rust_keep, must="ParseIntError")
    bad = os.path.join(tmp, "bad.rs")
    with open(bad, "w") as f:
        f.write('fn main() {\n    let retries: u32 = "3";\n    println!("{}", retries);\n}\n')
    c.cli(sh(["rustc", "-o", os.path.join(tmp, "bad"), bad]), lib, FAM, "rustc on a program with a type error",
          "TOOL_SUBPROCESS_FAILED", status=True, keep=lambda ln: not ln.startswith(("For more information",
                                                                                  "error: aborting")))
    if shutil.which("cargo"):
        proj = os.path.join(tmp, "agent-tool")
        os.makedirs(os.path.join(proj, "src"))
        with open(os.path.join(proj, "Cargo.toml"), "w") as f:
            f.write('[package]\nname = "agent-tool"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n'
                    'serde_json = "1"\n')
        with open(os.path.join(proj, "src", "main.rs"), "w") as f:
            f.write("fn main() {}\n")
        res = sh(["cargo", "build", "--offline", "--quiet"], cwd=proj, timeout=120,
                 env={"CARGO_HOME": os.path.join(tmp, "cargo-home")})
        c.cli(res, f"cargo {tool_version(['cargo', '--version'])}", FAM,
              "cargo build --offline of a crate whose dependency is not in the local registry",
              "TOOL_SUBPROCESS_FAILED", status=True)


def _go(c, srv, tls, tmp):
    if not shutil.which("go"):
        return
    lib = f"go {tool_version(['go', 'version'])}"
    exe = os.path.join(tmp, "errs-go")
    env = {"GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": "", "GO111MODULE": "off",
           "GOCACHE": os.path.join(tmp, "gocache"), "HOME": tmp}
    if sh(["go", "build", "-o", exe, os.path.join(PROGRAMS, "errs.go")], env=env, timeout=300).rc != 0:
        c.skipped.append("go build failed")
        return
    prog = lib + " (net/http, os)"
    c.cli(sh([exe, "get", f"http://127.0.0.1:{free_port()}/v1/items"]), prog, FAM, "http.Get of a closed port",
          "NET_CONNECTION_REFUSED", must="refused")
    c.cli(sh([exe, "get-timeout", srv.url + "/slow"]), prog, FAM, "http.Client{Timeout: 300ms}.Get on a slow server",
          "NET_READ_TIMEOUT", accept=["NET_TIMEOUT"], must="deadline")
    c.cli(sh([exe, "canceled", srv.url + "/ok"]), prog, FAM, "request with an already cancelled context",
          "RUN_CANCELLED", must="canceled")
    c.cli(sh([exe, "get", f"https://localhost:{tls.port}/"]), prog, FAM, "http.Get of a self-signed https server",
          "NET_TLS_ERROR", must="x509")
    with blackhole() as port:
        c.cli(sh([exe, "dial-timeout", f"127.0.0.1:{port}"]), prog, FAM, "net.DialTimeout(300ms) to a full accept queue",
              "NET_CONNECT_TIMEOUT", must="timeout")
    c.cli(sh([exe, "read"]), prog, FAM, "os.ReadFile of a missing file", "DATA_OBJECT_NOT_FOUND")
    c.cli(sh([exe, "exec"]), prog, FAM, "exec.Command of a program that is not installed", "TOOL_EXECUTABLE_NOT_FOUND",
          must="not found")
    c.cli(sh([exe, "exit"]), prog, FAM, "exec.Command(ls of a missing directory).Run()", "TOOL_SUBPROCESS_FAILED",
          must="exit status")
    c.cli(sh([exe, "json"]), prog, FAM, "json.Unmarshal of prose", "DATA_JSON_DECODE", must="invalid character")


def run(c: Corpus):
    tmp = tempfile.mkdtemp(prefix="corpus-langs-")
    certs = Certs()
    with ScriptedServer({"/slow": Resp(200, "late", delay=3), "/ok": Resp(200, "ok")}) as srv, \
            ScriptedServer({"/": Resp(200, "ok")}, tls=certs.server_ctx(certs.selfsigned)) as tls:
        for fn, args in ((_node, (c, srv, tls, tmp)), (_java, (c, srv, tls, tmp)), (_rust, (c, tmp)),
                         (_go, (c, srv, tls, tmp))):
            try:
                fn(*args)
            except Exception as ex:  # noqa: BLE001
                c.skipped.append(f"{fn.__name__} aborted: {ex!r}")
    shutil.rmtree(tmp, ignore_errors=True)
