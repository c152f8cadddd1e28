"""TLS failures: self-signed, expired, wrong-host and unknown-CA certificates, wrong protocol, missing client cert."""

from __future__ import annotations

import asyncio
import socket
import ssl
import urllib.request

from .certs import Certs
from .common import Corpus, eof_server, stdlib, tool_version, ver
from .common import run as sh
from .http_clients import catch
from .servers import Resp, ScriptedServer

FAM = "tls"
M = "NET_TLS_ERROR"


def _servers(certs: Certs):
    ok = {"/": Resp(200, {"ok": True})}
    return {
        "self-signed certificate": ScriptedServer(ok, tls=certs.server_ctx(certs.selfsigned)),
        "expired certificate": ScriptedServer(ok, tls=certs.server_ctx(certs.expired)),
        "certificate for another host name": ScriptedServer(ok, tls=certs.server_ctx(certs.wronghost)),
        "certificate from a private CA the client does not trust": ScriptedServer(ok, tls=certs.server_ctx(certs.good)),
        "TLS 1.3-only server, client capped at TLS 1.2": ScriptedServer(
            ok, tls=certs.server_ctx(certs.good, min_version=ssl.TLSVersion.TLSv1_3)),
        "server that requires a client certificate": ScriptedServer(
            ok, tls=certs.server_ctx(certs.good, require_client_cert=True)),
        "plain-HTTP server": ScriptedServer(ok),
    }


def _stdlib_ssl(c, certs, srv):
    lib = stdlib("ssl")

    def handshake(port, ctx, host="localhost"):
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            with ctx.wrap_socket(s, server_hostname=host) as t:
                t.sendall(b"GET / HTTP/1.0\r\n\r\n")
                t.recv(100)

    default = ssl.create_default_context()
    for what in ("self-signed certificate", "certificate from a private CA the client does not trust",
                 "plain-HTTP server"):
        e = catch(handshake, srv[what].port, default)
        c.exc(e, lib, FAM, f"wrap_socket() handshake with a {what}", M)
    e = catch(handshake, srv["expired certificate"].port, certs.client_ctx())
    c.exc(e, lib, FAM, "wrap_socket() handshake with an expired certificate (CA trusted)", M, must="expired")
    e = catch(handshake, srv["certificate for another host name"].port, certs.client_ctx())
    c.exc(e, lib, FAM, "wrap_socket() handshake, certificate for another host name (CA trusted)", M)
    e = catch(handshake, srv["TLS 1.3-only server, client capped at TLS 1.2"].port,
              certs.client_ctx(max_version=ssl.TLSVersion.TLSv1_2))
    c.exc(e, lib, FAM, "handshake with a TLS 1.3-only server, client capped at TLS 1.2", M)
    e = catch(handshake, srv["server that requires a client certificate"].port, certs.client_ctx())
    c.exc(e, lib, FAM, "handshake without the client certificate the server requires", M)
    with eof_server(immediate=True) as port:
        e = catch(handshake, port, default)
        c.exc(e, lib, FAM, "handshake with a port that closes the connection at once", M)


def _http_libs(c, certs, srv):
    import aiohttp
    import httpx
    import requests

    cases = ["self-signed certificate", "expired certificate", "certificate for another host name",
             "certificate from a private CA the client does not trust", "plain-HTTP server",
             "TLS 1.3-only server, client capped at TLS 1.2", "server that requires a client certificate"]

    def verify_for(what):
        return ssl.create_default_context() if what in (cases[0], cases[3], cases[4]) else None

    lib = ver("requests")
    for what in cases:
        url = f"https://localhost:{srv[what].port}/"
        if what == cases[5]:
            import requests.adapters

            class Tls12(requests.adapters.HTTPAdapter):
                def init_poolmanager(self, *a, **kw):
                    kw["ssl_context"] = certs.client_ctx(max_version=ssl.TLSVersion.TLSv1_2)
                    return super().init_poolmanager(*a, **kw)

            s = requests.Session()
            s.mount("https://", Tls12())
            e = catch(s.get, url, timeout=2, verify=certs.ca.cert)
        else:
            e = catch(requests.get, url, timeout=2, verify=True if verify_for(what) else certs.ca.cert)
        c.exc(e, lib, FAM, f"GET https:// on a {what}", M)

    lib = ver("httpx")
    for what in cases[:5] + cases[6:]:
        ctx = verify_for(what) or certs.client_ctx()
        e = catch(httpx.get, f"https://127.0.0.1:{srv[what].port}/", verify=ctx, timeout=2)
        c.exc(e, lib, FAM, f"GET https:// on a {what}", M)

    lib = ver("aiohttp")

    async def aget(url, ctx):
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3)) as s:
            async with s.get(url, ssl=ctx) as r:
                await r.read()

    for what in cases[:4]:
        ctx = verify_for(what) or certs.client_ctx()
        e = catch(asyncio.run, aget(f"https://localhost:{srv[what].port}/", ctx))
        c.exc(e, lib, FAM, f"GET https:// on a {what}", M)

    lib = stdlib("urllib.request")
    for what in cases[:3]:
        ctx = verify_for(what) or certs.client_ctx()
        e = catch(urllib.request.urlopen, f"https://127.0.0.1:{srv[what].port}/", timeout=2, context=ctx)
        c.exc(e, lib, FAM, f"urlopen https:// on a {what}", M)


def _cli(c, certs, srv):
    curl = f"curl {tool_version(['curl', '--version'])}"
    wget = f"wget {tool_version(['wget', '--version'])}"
    openssl = f"openssl {tool_version(['openssl', 'version'])}"
    for what, trust in (("self-signed certificate", None), ("expired certificate", certs.ca.cert),
                        ("certificate for another host name", certs.ca.cert),
                        ("certificate from a private CA the client does not trust", None),
                        ("plain-HTTP server", None)):
        port = srv[what].port
        args = ["curl", "-sS", "-m", "3", f"https://localhost:{port}/"]
        if trust:
            args[1:1] = ["--cacert", trust]
        c.cli(sh(args), curl, FAM, f"curl https:// on a {what}", M, keep=lambda ln: ln.startswith("curl:"))
        wargs = ["wget", "-nv", "-O", "/dev/null", "-T", "3", "-t", "1", f"https://localhost:{port}/"]
        if trust:
            wargs[1:1] = [f"--ca-certificate={trust}"]
        c.cli(sh(wargs), wget, FAM, f"wget https:// on a {what}", M)
    port = srv["TLS 1.3-only server, client capped at TLS 1.2"].port
    c.cli(sh(["curl", "-sS", "-m", "3", "--tls-max", "1.2", "--cacert", certs.ca.cert, f"https://localhost:{port}/"]),
          curl, FAM, "curl --tls-max 1.2 on a TLS 1.3-only server", M)
    for what, extra in (("self-signed certificate", []), ("expired certificate", ["-CAfile", certs.ca.cert]),
                        ("certificate for another host name", ["-CAfile", certs.ca.cert, "-verify_hostname",
                                                               "localhost"])):
        res = sh(["openssl", "s_client", "-connect", f"127.0.0.1:{srv[what].port}", "-verify_return_error",
                   "-brief", *extra], input="")
        c.cli(res, openssl, FAM, f"openssl s_client -verify_return_error on a {what}", M, stream="both",
              keep=lambda ln: "error" in ln.lower() or "verify" in ln.lower())


def run(c: Corpus):
    certs = Certs()
    srv = _servers(certs)
    for s in srv.values():
        s.__enter__()
    try:
        _stdlib_ssl(c, certs, srv)
        _http_libs(c, certs, srv)
        _cli(c, certs, srv)
    finally:
        for s in srv.values():
            s.__exit__(None, None, None)
