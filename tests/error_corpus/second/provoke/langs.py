"""Other language runtimes not in the main corpus: ruby, perl, php (uncaught errors, stderr + exit status)."""

from __future__ import annotations

from .certs import Certs
from .common import Corpus, free_port, have, tool_version
from .common import run as sh
from .servers import ScriptedServer

FAM = "lang"


def _ruby(c: Corpus, srv, tls):
    lib = f"ruby {tool_version(['ruby', '--version'])}"

    def rb(code, provoked, meaning, must=(), accept=None, timeout=20):
        r = sh(["ruby", "-e", code], timeout=timeout)
        c.cli(r, lib, FAM, provoked, meaning, accept=accept, must=must,
              keep=lambda ln: not ln.lstrip().startswith("from ") and "... " not in ln)

    rb('require "json"; JSON.parse(%q({"model": "m", "messages": [}))', "JSON.parse of malformed JSON",
       "DATA_JSON_DECODE", must="ParserError")
    rb(f'require "net/http"; Net::HTTP.get(URI("http://127.0.0.1:{free_port()}/v1/items"))',
       "Net::HTTP.get of a closed loopback port", "NET_CONNECTION_REFUSED", must="ECONNREFUSED")
    rb(f'require "net/http"; h = Net::HTTP.new("127.0.0.1", {srv.port}); h.read_timeout = 0.5; h.get("/slow")',
       "Net::HTTP get with read_timeout 0.5 s on a server answering after 3 s", "NET_READ_TIMEOUT", must="ReadTimeout")
    rb(f'require "net/http"; r = Net::HTTP.get_response(URI("{srv.url}/v1/documents/8f14e45f")); r.value',
       "Net::HTTPResponse#value on a 404", "DATA_OBJECT_NOT_FOUND", must="404")
    rb(f'require "net/http"; r = Net::HTTP.get_response(URI("{srv.url}/v1/index")); r.value',
       "Net::HTTPResponse#value on a 503", "INFRA_SERVICE_UNAVAILABLE", must="503")
    rb(f'require "net/http"; Net::HTTP.get(URI("https://127.0.0.1:{tls.port}/ok"))',
       "Net::HTTP.get of an HTTPS server with a self-signed certificate", "NET_TLS_ERROR", must="certificate")
    rb('File.read("/nonexistent/holdout/prompt.txt")', "File.read of a file that does not exist",
       "DATA_OBJECT_NOT_FOUND", must="ENOENT")
    rb('def f(n) = f(n + 1); f(0)', "unbounded recursion", "RES_RECURSION_DEPTH", must="stack level too deep")
    rb('require "yaml"; YAML.load("steps:\\n  - a\\n - b\\n")', "YAML.load of mis-indented YAML",
       "DATA_PARSE_ERROR", must="SyntaxError")
    rb('cfg = {"model" => "m"}; cfg.fetch("api_key")', "Hash#fetch of a missing key", "DATA_MISSING_KEY",
       must="key not found")
    rb('require "timeout"; Timeout.timeout(0.2) { sleep 5 }', "Timeout.timeout(0.2) around sleep 5",
       "NET_TIMEOUT", must="execution expired")
    rb('system("holdout-missing-tool", "--version", exception: true)', "system(..., exception: true) of a missing "
       "program", "TOOL_EXECUTABLE_NOT_FOUND", must="ENOENT")


def _perl(c: Corpus, srv):
    pv = tool_version(["perl", "-e", "print $^V"], r"v(\d+\.\d+\.\d+)")
    lib = f"perl {pv}"

    def pl(code, provoked, meaning, must=(), accept=None):
        r = sh(["perl", "-e", code])
        c.cli(r, lib, FAM, provoked, meaning, accept=accept, must=must)

    pl('use JSON::PP; decode_json(q({"model": "m", "messages": [}));', "decode_json of malformed JSON",
       "DATA_JSON_DECODE", must="malformed")
    pl(f'use HTTP::Tiny; my $r = HTTP::Tiny->new(timeout => 2)->get("http://127.0.0.1:{free_port()}/v1/items"); '
       'die "GET failed: $r->{status} $r->{reason}: $r->{content}" unless $r->{success};',
       "HTTP::Tiny get of a closed loopback port, die with status and content", "NET_CONNECTION_REFUSED",
       must="refused")
    pl(f'use HTTP::Tiny; my $r = HTTP::Tiny->new(timeout => 2)->get("{srv.url}/v1/chat/completions"); '
       'die "GET failed: $r->{status} $r->{reason}\\n" unless $r->{success};',
       "HTTP::Tiny get answered 429, die with status and reason", "RATE_LIMIT_HTTP_429", must="429")
    pl('open(my $fh, "<", "/nonexistent/holdout/run.cfg") or die "Cannot open /nonexistent/holdout/run.cfg: $!\\n";',
       "open of a file that does not exist with die ... $!", "DATA_OBJECT_NOT_FOUND", must="No such file")


def _php(c: Corpus, srv):
    pv = tool_version(["php", "--version"], r"PHP (\d+\.\d+\.\d+)")
    lib = f"php {pv}"

    def ph(code, provoked, meaning, must=(), accept=None, args=()):
        r = sh(["php", *args, "-r", code])
        c.cli(r, lib, FAM, provoked, meaning, accept=accept, must=must, stream="both",
              keep=lambda ln: not ln.startswith("Stack trace") and not ln.startswith("#") and "thrown in" not in ln)

    ph('json_decode("{\\"model\\": \\"m\\", \\"messages\\": [}", flags: JSON_THROW_ON_ERROR);',
       "json_decode with JSON_THROW_ON_ERROR of malformed JSON", "DATA_JSON_DECODE", must="JsonException")
    ph(f'$r = file_get_contents("http://127.0.0.1:{free_port()}/v1/items"); if ($r === false) exit(1);',
       "file_get_contents of a closed loopback port", "NET_CONNECTION_REFUSED", must="refused")
    ph(f'$r = file_get_contents("{srv.url}/v1/documents/8f14e45f"); if ($r === false) exit(1);',
       "file_get_contents answered 404", "DATA_OBJECT_NOT_FOUND", must="404")
    ph(f'$r = file_get_contents("{srv.url}/v1/reports/daily"); if ($r === false) exit(1);',
       "file_get_contents answered 500", "INFRA_INTERNAL_SERVER_ERROR", must="500")
    ph('$s = str_repeat("x", 64 * 1024 * 1024);', "allocate 64 MB with memory_limit 16M", "RES_OUT_OF_MEMORY",
       must="memory size", args=("-d", "memory_limit=16M"))
    ph('$h = fopen("/nonexistent/holdout/run.lock", "r"); if (!$h) exit(2);', "fopen of a file that does not exist",
       "DATA_OBJECT_NOT_FOUND", must="No such file")


def run(c: Corpus):
    from .servers import app_routes

    certs = Certs()
    with ScriptedServer(app_routes()) as srv, ScriptedServer(app_routes(),
                                                             tls=certs.server_ctx(certs.selfsigned)) as tls:
        for fn, args in ((_ruby, (srv, tls)), (_perl, (srv,)), (_php, (srv,))):
            name = fn.__name__.strip("_")
            if not have(name):
                c.skipped.append(f"{name}: not installed")
                continue
            try:
                fn(c, *args)
            except Exception:  # noqa: BLE001
                import traceback
                c.skipped.append(f"{fn.__name__} crashed: {traceback.format_exc()[-1500:]}")
