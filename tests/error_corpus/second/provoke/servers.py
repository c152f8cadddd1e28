"""Throwaway loopback HTTP(S) servers that answer each path with a scripted response."""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
           407: "Proxy Authentication Required", 409: "Conflict", 413: "Payload Too Large",
           422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error",
           501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout",
           507: "Insufficient Storage", 529: "Overloaded"}


@dataclass
class Resp:
    """One scripted answer."""

    status: int = 200
    body: object = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    action: str = ""  # "drop": close without answering, "reset": TCP reset, "short": body shorter than announced
    ctype: str = ""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.body = b""
        if length:
            with contextlib.suppress(OSError):
                self.body = self.rfile.read(min(length, 50_000_000))
        self.server.requests.append((self.command, self.path, dict(self.headers)))
        route = self.server.route(self)
        if route is None:
            route = Resp(404, {"error": "no route"})
        if route.delay:
            time.sleep(route.delay)
        if route.action == "drop":
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        if route.action == "reset":
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()
            return
        body = route.body
        ctype = route.ctype
        extra = 0
        if route.action == "short":
            extra = 90
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            ctype = ctype or "application/json"
        elif isinstance(body, str):
            body = body.encode()
            ctype = ctype or "text/plain; charset=utf-8"
        self.send_response(route.status, REASONS.get(route.status))
        if ctype:
            self.send_header("Content-Type", ctype)
        for k, v in route.headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body) + extra))
        self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            with contextlib.suppress(OSError):
                self.wfile.write(body)
        self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_CONNECT = do_OPTIONS = _serve


class ScriptedServer(ThreadingHTTPServer):
    """An HTTP server on a free loopback port; `routes` maps a path (or path prefix ending in *) to a Resp."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, routes=None, fallback=None, tls: ssl.SSLContext | None = None):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes = dict(routes or {})
        self.fallback = fallback
        self.requests: list = []
        self.tls = tls
        self.port = self.server_address[1]
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def get_request(self):
        conn, addr = self.socket.accept()
        if self.tls is not None:
            conn.settimeout(3)
            conn = self.tls.wrap_socket(conn, server_side=True)
        return conn, addr

    def handle_error(self, request, client_address):
        pass

    def route(self, handler):
        path = handler.path.split("?")[0]
        if path in self.routes:
            r = self.routes[path]
            return r(handler) if callable(r) else r
        for key, r in self.routes.items():
            if key.endswith("*") and path.startswith(key[:-1]):
                return r(handler) if callable(r) else r
        if self.fallback is not None:
            return self.fallback(handler)
        return None

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()
        self.server_close()


def status_routes(prefix: str = "/status/") -> dict:
    """Routes /status/<code> answering that code with a small JSON body."""
    routes = {}
    for code, reason in REASONS.items():
        routes[f"{prefix}{code}"] = Resp(code, {"error": reason})
    return routes


# A realistic path per status, for HTTP clients and tools.
STATUS_PATHS = {400: "/v1/search", 401: "/v1/me", 403: "/admin/settings", 404: "/v1/documents/8f14e45f",
                409: "/v1/jobs/42/lock", 413: "/v1/upload", 422: "/v1/tickets", 429: "/v1/chat/completions",
                500: "/v1/reports/daily", 502: "/api/health", 503: "/v1/index", 504: "/v1/export"}

STATUS_MEANING = {400: "VAL_BAD_REQUEST", 401: "AUTH_UNAUTHORIZED", 403: "AUTH_FORBIDDEN", 404: "DATA_OBJECT_NOT_FOUND",
                  409: "DATA_CONFLICT", 413: "VAL_PAYLOAD_TOO_LARGE", 422: "VAL_UNPROCESSABLE_ENTITY",
                  429: "RATE_LIMIT_HTTP_429", 500: "INFRA_INTERNAL_SERVER_ERROR", 502: "INFRA_BAD_GATEWAY",
                  503: "INFRA_SERVICE_UNAVAILABLE", 504: "INFRA_GATEWAY_TIMEOUT", 501: "INFRA_HTTP_5XX",
                  507: "INFRA_HTTP_5XX", 529: "LLM_PROVIDER_OVERLOADED"}


def app_routes() -> dict:
    """The routes most HTTP provokers share: each STATUS_PATHS entry, slow, dropping, resetting and short answers."""
    routes = {path: Resp(code, {"error": {"code": code, "message": REASONS[code]}})
              for code, path in STATUS_PATHS.items()}
    routes.update({
        "/slow": Resp(200, {"ok": True}, delay=3),
        "/drop": Resp(action="drop"),
        "/reset": Resp(action="reset"),
        "/short": Resp(200, b"0123456789", action="short", ctype="application/octet-stream"),
        "/html": Resp(200, "<html><body><h1>Welcome to nginx!</h1></body></html>", ctype="text/html"),
        "/ok": Resp(200, {"ok": True}),
    })
    return routes
