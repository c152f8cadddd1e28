"""HTTP clients (requests, httpx, urllib3, aiohttp, urllib, http.client, pycurl) against loopback servers."""

from __future__ import annotations

import asyncio
import http.client
import io
import urllib.error
import urllib.request

from .common import Corpus, blackhole, eof_server, free_port, reset_server, silent_server, stdlib, ver
from .servers import STATUS_MEANING, STATUS_PATHS, Resp, ScriptedServer, app_routes

FAM = "http"


def catch(fn, *a, **kw):
    """Call fn and return the exception it raised (None when it did not raise)."""
    try:
        fn(*a, **kw)
    except BaseException as e:  # noqa: BLE001
        if isinstance(e, KeyboardInterrupt):
            raise
        return e
    return None


def proxy_routes() -> dict:
    """A proxy that refuses tunnels and plain requests with 407 / 403."""
    return {"*": Resp(407, "Proxy Authentication Required", headers={"Proxy-Authenticate": 'Basic realm="corp-proxy"'})}


def _requests(c: Corpus, srv: ScriptedServer, proxy: ScriptedServer):
    import requests

    lib = ver("requests")

    def get(url, **kw):
        kw.setdefault("timeout", 2)
        r = requests.get(url, **kw)
        r.raise_for_status()
        return r

    for code, path in STATUS_PATHS.items():
        e = catch(get, srv.url + path)
        c.exc(e, lib, FAM, f"GET answered HTTP {code} by a loopback server, raise_for_status()",
              STATUS_MEANING[code], must=str(code))
    port = free_port()
    e = catch(get, f"http://127.0.0.1:{port}/v1/items")
    c.exc(e, lib, FAM, "GET on a closed loopback port", "NET_CONNECTION_REFUSED", must="refused")
    with blackhole() as port:
        e = catch(get, f"http://127.0.0.1:{port}/v1/items", timeout=(0.3, 2))
        c.exc(e, lib, FAM, "GET to a port whose accept queue is full, connect timeout 0.3 s", "NET_CONNECT_TIMEOUT",
              must="timed out")
    e = catch(get, srv.url + "/slow", timeout=(1, 0.3))
    c.exc(e, lib, FAM, "GET on a server that answers after 3 s, read timeout 0.3 s", "NET_READ_TIMEOUT", must="read")
    e = catch(get, srv.url + "/reset")
    c.exc(e, lib, FAM, "GET answered by a TCP reset", "NET_CONNECTION_RESET", must="reset")
    e = catch(get, srv.url + "/drop")
    c.exc(e, lib, FAM, "GET; the server closes the connection without answering", "NET_CONNECTION_RESET")
    e = catch(lambda: get(srv.url + "/short").content)
    c.exc(e, lib, FAM, "GET; the body is shorter than Content-Length and the connection closes",
          "NET_CONNECTION_RESET", must="IncompleteRead")
    e = catch(lambda: get(srv.url + "/html").json())
    c.exc(e, lib, FAM, "response.json() on an HTML page", "DATA_JSON_DECODE")
    e = catch(get, "http://internal.example.invalid/v1/items", proxies={"http": f"http://127.0.0.1:{free_port()}"})
    c.exc(e, lib, FAM, "GET through a proxy on a closed loopback port", "NET_PROXY_ERROR",
          accept=["NET_CONNECTION_REFUSED"], must="proxy")
    e = catch(get, "https://api.example.invalid/v1/items", proxies={"https": proxy.url})
    c.exc(e, lib, FAM, "HTTPS through a loopback proxy that answers CONNECT with 407", "NET_PROXY_ERROR", must="407")
    e = catch(get, srv.url + "/redirect-loop")
    c.exc(e, lib, FAM, "GET on an endpoint that redirects to itself", "NET_TOO_MANY_REDIRECTS", must="redirect")


def _httpx(c: Corpus, srv: ScriptedServer, proxy: ScriptedServer):
    import httpx

    lib = ver("httpx")

    def get(url, client=None, **kw):
        kw.setdefault("timeout", 2)
        r = (client or httpx).get(url, **kw)
        r.raise_for_status()
        return r

    for code, path in STATUS_PATHS.items():
        e = catch(get, srv.url + path)
        c.exc(e, lib, FAM, f"GET answered HTTP {code}, raise_for_status()", STATUS_MEANING[code], must=str(code))
    e = catch(get, f"http://127.0.0.1:{free_port()}/v1/items")
    c.exc(e, lib, FAM, "GET on a closed loopback port", "NET_CONNECTION_REFUSED", must="refused")
    with blackhole() as port:
        e = catch(get, f"http://127.0.0.1:{port}/", timeout=httpx.Timeout(2, connect=0.3))
        c.exc(e, lib, FAM, "GET to a port whose accept queue is full, connect timeout 0.3 s", "NET_CONNECT_TIMEOUT",
              bare="NET_TIMEOUT", style="name")
    e = catch(get, srv.url + "/slow", timeout=httpx.Timeout(2, read=0.3))
    c.exc(e, lib, FAM, "GET on a server that answers after 3 s, read timeout 0.3 s", "NET_READ_TIMEOUT",
          bare="NET_TIMEOUT", style="qual")
    e = catch(get, srv.url + "/reset")
    c.exc(e, lib, FAM, "GET answered by a TCP reset", "NET_CONNECTION_RESET", must="reset")
    e = catch(get, srv.url + "/drop")
    c.exc(e, lib, FAM, "GET; the server closes the connection without answering", "NET_CONNECTION_RESET")
    e = catch(get, srv.url + "/short")
    c.exc(e, lib, FAM, "GET; the body is shorter than Content-Length", "NET_CONNECTION_RESET")
    e = catch(lambda: get(srv.url + "/html").json())
    c.exc(e, lib, FAM, "response.json() on an HTML page", "DATA_JSON_DECODE")
    with httpx.Client(proxy=proxy.url, timeout=2) as client:
        e = catch(get, "https://api.example.invalid/v1/items", client=client)
        c.exc(e, lib, FAM, "HTTPS through a loopback proxy that answers CONNECT with 407", "NET_PROXY_ERROR")
    limits = httpx.Limits(max_connections=1)
    with httpx.Client(limits=limits, timeout=httpx.Timeout(3, pool=0.2)) as client:
        import threading

        t = threading.Thread(target=catch, args=(client.get, srv.url + "/slow"))
        t.start()
        import time

        time.sleep(0.2)
        e = catch(client.get, srv.url + "/ok")
        c.exc(e, lib, FAM, "second GET while the only pooled connection is busy, pool timeout 0.2 s",
              "RES_POOL_EXHAUSTED", style="qual")
        t.join()

    async def agen():
        async with httpx.AsyncClient(timeout=2) as ac:
            r = await ac.post(srv.url + "/v1/tickets", json={"title": ""})
            r.raise_for_status()

    e = catch(asyncio.run, agen())
    c.exc(e, lib + " (AsyncClient)", FAM, "async POST answered HTTP 422", "VAL_UNPROCESSABLE_ENTITY", style="str")


def _urllib3(c: Corpus, srv: ScriptedServer):
    import urllib3

    lib = ver("urllib3")
    pm = urllib3.PoolManager(retries=False, timeout=urllib3.Timeout(connect=0.3, read=0.3))
    e = catch(pm.request, "GET", f"http://127.0.0.1:{free_port()}/v1/items")
    c.exc(e, lib, FAM, "GET on a closed loopback port, retries=False", "NET_CONNECTION_REFUSED", must="refused")
    with blackhole() as port:
        e = catch(pm.request, "GET", f"http://127.0.0.1:{port}/")
        c.exc(e, lib, FAM, "GET to a full accept queue, connect timeout 0.3 s", "NET_CONNECT_TIMEOUT",
              must="timed out")
    e = catch(pm.request, "GET", srv.url + "/slow")
    c.exc(e, lib, FAM, "GET on a server that answers after 3 s, read timeout 0.3 s", "NET_READ_TIMEOUT", must="read")
    e = catch(pm.request, "GET", srv.url + "/drop")
    c.exc(e, lib, FAM, "GET; the server closes the connection without answering", "NET_CONNECTION_RESET")
    e = catch(pm.request, "GET", srv.url + "/reset")
    c.exc(e, lib, FAM, "GET answered by a TCP reset", "NET_CONNECTION_RESET", must="reset")
    e = catch(pm.request, "GET", srv.url + "/short")
    c.exc(e, lib, FAM, "GET; the body is shorter than Content-Length", "NET_CONNECTION_RESET")
    pm2 = urllib3.PoolManager(retries=urllib3.Retry(total=0), timeout=1)
    e = catch(pm2.request, "GET", f"http://127.0.0.1:{free_port()}/v1/items")
    c.exc(e, lib, FAM, "GET on a closed port with Retry(total=0)", "NET_CONNECTION_REFUSED", must="refused")
    pp = urllib3.ProxyManager(f"http://127.0.0.1:{free_port()}", retries=False, timeout=1)
    e = catch(pp.request, "GET", "http://internal.example.invalid/")
    c.exc(e, lib, FAM, "GET through a proxy on a closed loopback port", "NET_PROXY_ERROR",
          accept=["NET_CONNECTION_REFUSED"])


def _aiohttp(c: Corpus, srv: ScriptedServer, proxy: ScriptedServer):
    import aiohttp

    lib = ver("aiohttp")

    async def get(url, timeout=None, json=False, **kw):
        to = timeout or aiohttp.ClientTimeout(total=3)
        async with aiohttp.ClientSession(timeout=to, raise_for_status=True) as s:
            async with s.get(url, **kw) as r:
                if json:
                    return await r.json()
                return await r.read()

    def a(*args, **kw):
        return catch(asyncio.run, get(*args, **kw))

    for code, path in STATUS_PATHS.items():
        e = a(srv.url + path)
        c.exc(e, lib, FAM, f"GET answered HTTP {code}, raise_for_status=True", STATUS_MEANING[code], must=str(code))
    e = a(f"http://127.0.0.1:{free_port()}/v1/items")
    c.exc(e, lib, FAM, "GET on a closed loopback port", "NET_CONNECTION_REFUSED", accept=["NET_CONNECTION_ERROR"])
    with blackhole() as port:
        e = a(f"http://127.0.0.1:{port}/", timeout=aiohttp.ClientTimeout(total=3, sock_connect=0.3))
        c.exc(e, lib, FAM, "GET to a full accept queue, sock_connect timeout 0.3 s", "NET_CONNECT_TIMEOUT")
    e = a(srv.url + "/slow", timeout=aiohttp.ClientTimeout(total=3, sock_read=0.3))
    c.exc(e, lib, FAM, "GET on a server that answers after 3 s, sock_read timeout 0.3 s", "NET_READ_TIMEOUT")
    e = a(srv.url + "/slow", timeout=aiohttp.ClientTimeout(total=0.3))
    c.exc(e, lib, FAM, "GET on a server that answers after 3 s, total timeout 0.3 s", "NET_TIMEOUT", style="qual")
    e = a(srv.url + "/drop")
    c.exc(e, lib, FAM, "GET; the server closes the connection without answering", "NET_CONNECTION_RESET")
    e = a(srv.url + "/reset")
    c.exc(e, lib, FAM, "GET answered by a TCP reset", "NET_CONNECTION_RESET", must="reset")
    e = a(srv.url + "/short")
    c.exc(e, lib, FAM, "GET; the body is shorter than Content-Length", "NET_CONNECTION_RESET")
    e = a(srv.url + "/html", json=True)
    c.exc(e, lib, FAM, "response.json() on an HTML page", "DATA_JSON_DECODE")
    e = a("http://api.example.invalid/v1/items", proxy=proxy.url)
    c.exc(e, lib, FAM, "GET through a loopback proxy that answers 407", "NET_PROXY_ERROR", must="407")


def _urllib(c: Corpus, srv: ScriptedServer):
    lib = stdlib("urllib.request")

    def get(url, timeout=2):
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read()

    for code in (400, 401, 403, 404, 429, 500, 502, 503, 504):
        e = catch(get, srv.url + STATUS_PATHS[code])
        c.exc(e, lib, FAM, f"urlopen answered HTTP {code}", STATUS_MEANING[code], must=str(code))
    e = catch(get, f"http://127.0.0.1:{free_port()}/v1/items")
    c.exc(e, lib, FAM, "urlopen on a closed loopback port", "NET_CONNECTION_REFUSED", must="refused")
    with blackhole() as port:
        e = catch(get, f"http://127.0.0.1:{port}/", timeout=0.3)
        c.exc(e, lib, FAM, "urlopen to a full accept queue, timeout 0.3 s", "NET_TIMEOUT",
              accept=["NET_CONNECT_TIMEOUT"], must="timed out")
    e = catch(get, srv.url + "/slow", timeout=0.3)
    c.exc(e, lib, FAM, "urlopen on a server that answers after 3 s, timeout 0.3 s", "NET_TIMEOUT",
          accept=["NET_READ_TIMEOUT"], must="timed out")
    e = catch(get, srv.url + "/drop")
    c.exc(e, lib, FAM, "urlopen; the server closes the connection without answering", "NET_CONNECTION_RESET")
    e = catch(get, srv.url + "/reset")
    c.exc(e, lib, FAM, "urlopen answered by a TCP reset", "NET_CONNECTION_RESET", must="reset")


def _http_client(c: Corpus, srv: ScriptedServer):
    lib = stdlib("http.client")

    def req(port, path="/", timeout=2):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        conn.request("GET", path)
        r = conn.getresponse()
        return r.read()

    e = catch(req, free_port())
    c.exc(e, lib, FAM, "HTTPConnection.request on a closed port", "NET_CONNECTION_REFUSED", must="refused")
    e = catch(req, srv.port, "/short")
    c.exc(e, lib, FAM, "read a body shorter than Content-Length", "NET_CONNECTION_RESET", must="IncompleteRead")
    e = catch(req, srv.port, "/drop")
    c.exc(e, lib, FAM, "getresponse(); the server closes without answering", "NET_CONNECTION_RESET")
    e = catch(req, srv.port, "/slow", 0.3)
    c.exc(e, lib, FAM, "getresponse() on a server that answers after 3 s, timeout 0.3 s", "NET_TIMEOUT",
          accept=["NET_READ_TIMEOUT"])
    with eof_server(immediate=True) as port:
        e = catch(req, port)
        c.exc(e, lib, FAM, "request to a port that accepts and closes at once", "NET_CONNECTION_RESET")


def _pycurl(c: Corpus, srv: ScriptedServer):
    try:
        import pycurl
    except ImportError:
        return
    lib = ver("pycurl")

    def get(url, connect=1.0, total=2.0, failonerror=True):
        cu = pycurl.Curl()
        cu.setopt(pycurl.URL, url)
        cu.setopt(pycurl.WRITEDATA, io.BytesIO())
        cu.setopt(pycurl.CONNECTTIMEOUT_MS, int(connect * 1000))
        cu.setopt(pycurl.TIMEOUT_MS, int(total * 1000))
        cu.setopt(pycurl.FAILONERROR, failonerror)
        try:
            cu.perform()
        finally:
            cu.close()

    for code in (401, 404, 413, 429, 500, 503):
        e = catch(get, srv.url + STATUS_PATHS[code])
        c.exc(e, lib, FAM, f"perform() with FAILONERROR answered HTTP {code}", STATUS_MEANING[code], must=str(code))
    e = catch(get, f"http://127.0.0.1:{free_port()}/")
    c.exc(e, lib, FAM, "perform() on a closed loopback port", "NET_CONNECTION_REFUSED",
          accept=["NET_CONNECTION_ERROR"])
    with blackhole() as port:
        e = catch(get, f"http://127.0.0.1:{port}/", connect=0.3)
        c.exc(e, lib, FAM, "perform() to a full accept queue, connect timeout 0.3 s", "NET_CONNECT_TIMEOUT")
    e = catch(get, srv.url + "/slow", total=0.3)
    c.exc(e, lib, FAM, "perform() on a server that answers after 3 s, timeout 0.3 s", "NET_READ_TIMEOUT",
          accept=["NET_TIMEOUT"])
    e = catch(get, srv.url + "/drop")
    c.exc(e, lib, FAM, "perform(); the server closes without answering", "NET_CONNECTION_RESET")
    e = catch(get, srv.url + "/short")
    c.exc(e, lib, FAM, "perform(); the body is shorter than Content-Length", "NET_CONNECTION_RESET")
    with reset_server() as port:
        e = catch(get, f"http://127.0.0.1:{port}/")
        c.exc(e, lib, FAM, "perform() answered by a TCP reset", "NET_CONNECTION_RESET")
    with silent_server() as port:
        e = catch(get, f"http://127.0.0.1:{port}/", total=0.3)
        c.exc(e, lib, FAM, "perform() on a server that never answers, timeout 0.3 s", "NET_READ_TIMEOUT",
              accept=["NET_TIMEOUT"])


def run(c: Corpus):
    routes = app_routes()
    routes["/redirect-loop"] = Resp(302, b"", headers={"Location": "/redirect-loop"})
    with ScriptedServer(routes) as srv, ScriptedServer(proxy_routes()) as proxy:
        _requests(c, srv, proxy)
        _httpx(c, srv, proxy)
        _urllib3(c, srv)
        _aiohttp(c, srv, proxy)
        _urllib(c, srv)
        _http_client(c, srv)
        _pycurl(c, srv)
