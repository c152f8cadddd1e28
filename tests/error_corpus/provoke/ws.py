"""WebSockets: the websockets library (sync client) and aiohttp's client against a loopback websockets server that
refuses handshakes and closes with various codes."""

from __future__ import annotations

import asyncio
import threading
from http import HTTPStatus

from .common import Corpus, eof_server, free_port, silent_server, ver
from .http_clients import catch

FAM = "websocket"
CLOSES = {  # path -> (code, reason, meaning)
    "/policy": (1008, "not allowed to subscribe to channel 'billing'", "AUTH_FORBIDDEN"),
    "/internal": (1011, "worker crashed while handling the request", "INFRA_INTERNAL_SERVER_ERROR"),
    "/expired": (4001, "token expired", "AUTH_TOKEN_EXPIRED"),
    "/restart": (1012, "service restart", "INFRA_SERVICE_UNAVAILABLE"),
    "/later": (1013, "try again later", "INFRA_SERVICE_UNAVAILABLE"),
}
REFUSALS = {"/private": (HTTPStatus.UNAUTHORIZED, "AUTH_UNAUTHORIZED"),
            "/forbidden": (HTTPStatus.FORBIDDEN, "AUTH_FORBIDDEN"),
            "/missing": (HTTPStatus.NOT_FOUND, "DATA_OBJECT_NOT_FOUND"),
            "/busy": (HTTPStatus.SERVICE_UNAVAILABLE, "INFRA_SERVICE_UNAVAILABLE")}


class _Server:
    """A websockets server in its own event loop thread."""

    def __init__(self):
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        self.ready.wait(5)

    def _run(self):
        from websockets.asyncio.server import serve

        async def process_request(conn, request):
            if request.path in REFUSALS:
                return conn.respond(REFUSALS[request.path][0], "refused\n")
            return None

        async def handler(ws):
            path = ws.request.path
            if path in CLOSES:
                code, reason, _ = CLOSES[path]
                await ws.close(code, reason)
            elif path == "/abort":
                ws.transport.abort()
            else:
                async for _ in ws:
                    pass

        async def main():
            self.stop = asyncio.Event()
            async with serve(handler, "127.0.0.1", self.port, process_request=process_request, max_size=1024):
                self.ready.set()
                await self.stop.wait()

        self.loop.run_until_complete(main())

    def close(self):
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(5)


def _websockets(c: Corpus, srv: _Server):
    from websockets.sync.client import connect

    lib = ver("websockets")
    url = f"ws://127.0.0.1:{srv.port}"

    def session(path, send=None, **kw):
        kw.setdefault("open_timeout", 2)
        with connect(url + path, **kw) as ws:
            if send is not None:
                ws.send(send)
            ws.recv(timeout=3)

    for path, (status, meaning) in REFUSALS.items():
        e = catch(session, path)
        c.exc(e, lib, FAM, f"handshake answered HTTP {int(status)}", meaning, must=str(int(status)))
    for path, (code, _, meaning) in CLOSES.items():
        e = catch(session, path)
        c.exc(e, lib, FAM, f"server closes with code {code}", meaning, must=str(code))
    e = catch(session, "/echo", "x" * 4096)
    c.exc(e, lib, FAM, "message larger than the server's max_size", "VAL_PAYLOAD_TOO_LARGE", must="1009")
    e = catch(session, "/abort")
    c.exc(e, lib, FAM, "server drops the TCP connection without a close frame", "NET_CONNECTION_RESET",
          must="no close frame")
    e = catch(lambda: connect(f"ws://127.0.0.1:{free_port()}/events", open_timeout=1))
    c.exc(e, lib, FAM, "connect to a closed port", "NET_CONNECTION_REFUSED")
    with silent_server() as port:
        e = catch(lambda: connect(f"ws://127.0.0.1:{port}/events", open_timeout=0.5))
        c.exc(e, lib, FAM, "connect to a server that never answers the handshake, open_timeout 0.5 s",
              "NET_READ_TIMEOUT", accept=["NET_TIMEOUT"])
    with eof_server() as port:
        e = catch(lambda: connect(f"ws://127.0.0.1:{port}/events", open_timeout=1))
        c.exc(e, lib, FAM, "connect to a server that closes during the handshake", "NET_CONNECTION_RESET",
              accept=["NET_CONNECTION_ERROR"])


def _aiohttp_ws(c: Corpus, srv: _Server):
    import aiohttp

    lib = ver("aiohttp")

    async def session(path):
        async with aiohttp.ClientSession() as s:
            async with s.ws_connect(f"ws://127.0.0.1:{srv.port}{path}") as ws:
                await ws.receive(timeout=3)

    for path in ("/private", "/forbidden"):
        e = catch(asyncio.run, session(path))
        c.exc(e, lib, FAM, f"ws_connect handshake answered HTTP {int(REFUSALS[path][0])}", REFUSALS[path][1])


def run(c: Corpus):
    srv = _Server()
    try:
        _websockets(c, srv)
        _aiohttp_ws(c, srv)
    finally:
        srv.close()
