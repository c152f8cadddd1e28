"""HTTP clients not in the main corpus: httplib2, tornado, httpcore, niquests (its own venv), treq if present."""

from __future__ import annotations

import json
import os
import subprocess

from .certs import Certs
from .common import Corpus, blackhole, catch, free_port, ver
from .servers import STATUS_MEANING, STATUS_PATHS, Resp, ScriptedServer, app_routes

FAM = "http"


def routes():
    r = app_routes()
    r["/redirect-loop"] = Resp(302, "", headers={"Location": "/redirect-loop"})
    return r


def _httplib2(c: Corpus, srv, tls_srv):
    import httplib2

    lib = ver("httplib2")
    h = httplib2.Http(timeout=1)
    e = catch(h.request, f"http://127.0.0.1:{free_port()}/v1/items")
    c.exc(e, lib, FAM, "GET on a closed loopback port", "NET_CONNECTION_REFUSED", must="refused", style="qual")
    e = catch(httplib2.Http(timeout=0.5).request, srv.url + "/slow")
    c.exc(e, lib, FAM, "GET on a server that answers after 3 s, timeout 0.5 s", "NET_TIMEOUT", must="timed out",
          style="name")
    e = catch(h.request, srv.url + "/redirect-loop")
    c.exc(e, lib, FAM, "GET on an endpoint that redirects to itself", "NET_TOO_MANY_REDIRECTS", must="redirect",
          style="qual")
    e = catch(httplib2.Http(timeout=2).request, tls_srv.url + "/ok")
    c.exc(e, lib, "tls", "GET to an HTTPS server with a self-signed certificate", "NET_TLS_ERROR",
          must="certificate", style="name")
    e = catch(h.request, srv.url + "/drop")
    c.exc(e, lib, FAM, "GET; the server closes the connection without answering", "NET_CONNECTION_RESET",
          style="qual")


def _tornado(c: Corpus, srv, tls_srv):
    import asyncio

    from tornado.httpclient import AsyncHTTPClient, HTTPRequest

    lib = ver("tornado")

    async def fetch(url, **kw):
        client = AsyncHTTPClient(force_instance=True)
        try:
            return await client.fetch(HTTPRequest(url, **kw))
        finally:
            client.close()

    def get(url, **kw):
        kw.setdefault("request_timeout", 2)
        kw.setdefault("connect_timeout", 2)
        return asyncio.run(fetch(url, **kw))

    for code in (401, 404, 429, 500, 502, 503, 504, 413, 422):
        path = STATUS_PATHS[code]
        e = catch(get, srv.url + path)
        c.exc(e, lib, FAM, f"fetch answered HTTP {code} by a loopback server", STATUS_MEANING[code], must=str(code))
    e = catch(get, f"http://127.0.0.1:{free_port()}/v1/items")
    c.exc(e, lib, FAM, "fetch on a closed loopback port", "NET_CONNECTION_REFUSED", must="refused")
    e = catch(get, srv.url + "/slow", request_timeout=0.4)
    c.exc(e, lib, FAM, "fetch on a server answering after 3 s, request_timeout 0.4 s", "NET_TIMEOUT",
          must="timeout")
    with blackhole() as port:
        e = catch(get, f"http://127.0.0.1:{port}/v1/items", connect_timeout=0.3)
        c.exc(e, lib, FAM, "fetch to a port whose accept queue is full, connect_timeout 0.3 s",
              "NET_CONNECT_TIMEOUT", must="connect")
    e = catch(get, tls_srv.url + "/ok")
    c.exc(e, lib, "tls", "fetch from an HTTPS server with a self-signed certificate", "NET_TLS_ERROR",
          must="certificate")
    e = catch(get, srv.url + "/drop")
    c.exc(e, lib, FAM, "fetch; the server closes the connection without answering", "NET_CONNECTION_RESET",
          must="closed")


def _httpcore(c: Corpus, srv, tls_srv):
    import httpcore

    lib = ver("httpcore")

    def get(url, **kw):
        with httpcore.ConnectionPool(**kw) as pool:
            return pool.request("GET", url, extensions={"timeout": {"connect": 1, "read": 0.4, "write": 1, "pool": 1}})

    e = catch(get, f"http://127.0.0.1:{free_port()}/v1/items")
    c.exc(e, lib, FAM, "request on a closed loopback port", "NET_CONNECTION_REFUSED", must="refused")
    e = catch(get, srv.url + "/slow")
    c.exc(e, lib, FAM, "request on a server answering after 3 s, read timeout 0.4 s", "NET_READ_TIMEOUT",
          style="qual", bare="NET_TIMEOUT", must="timed out")
    e = catch(get, srv.url + "/drop")
    c.exc(e, lib, FAM, "request; the server closes the connection without answering", "NET_CONNECTION_RESET",
          must="disconnected")
    e = catch(get, tls_srv.url + "/ok")
    c.exc(e, lib, "tls", "request to an HTTPS server with a self-signed certificate", "NET_TLS_ERROR",
          must="certificate")
    e = catch(get, srv.url + "/short")
    if e is None:
        def read_short():
            with httpcore.ConnectionPool() as pool:
                with pool.stream("GET", srv.url + "/short") as r:
                    r.read()
        e = catch(read_short)
    c.exc(e, lib, FAM, "request; the body is shorter than Content-Length and the connection closes",
          "NET_CONNECTION_RESET", must="closed")


def _niquests(c: Corpus):
    py = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), ".venv-niq", "bin", "python")
    if not os.path.exists(py):
        c.skipped.append("niquests: no .venv-niq")
        return
    child = os.path.join(os.path.dirname(__file__), "niq_child.py")
    res = subprocess.run([py, child], capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        c.skipped.append(f"niquests child failed: {res.stderr[-800:]}")
        return
    out = json.loads(res.stdout.strip().splitlines()[-1])
    for r in out["records"]:
        c.add(r["library"], r["family"], r["provoked"], r["message"], r["meaning"], r.get("accept"))
    c.skipped.extend(f"niquests: {s}" for s in out["skipped"])


def run(c: Corpus):
    certs = Certs()
    with ScriptedServer(routes()) as srv, ScriptedServer(routes(), tls=certs.server_ctx(certs.selfsigned)) as tls_srv:
        _httplib2(c, srv, tls_srv)
        _tornado(c, srv, tls_srv)
        _httpcore(c, srv, tls_srv)
    _niquests(c)
