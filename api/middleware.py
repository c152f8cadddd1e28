"""ASGI middleware: body size limit and JSON bodies sent without a JSON content type."""
from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BODY_METHODS = {"POST", "PUT", "PATCH"}
# Content types under which a body that looks like JSON is read as JSON. The original runbook's
# feature-flag curl sends `-d '{"enabled": false}'` without a header, i.e. as form-urlencoded.
LENIENT_TYPES = {"", "application/x-www-form-urlencoded", "text/plain"}


async def _send_json(send: Send, status: int, detail: str, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({
        "type": "http.response.start", "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                    *(headers or [])],
    })
    await send({"type": "http.response.body", "body": body})


class RequestGuard:
    """Refuses bodies over `max_body_bytes` (413), NUL characters in the query (422), and reads
    JSON-looking bodies as JSON whatever the declared content type (so the runbook's curl works)."""

    def __init__(self, app: ASGIApp, *, max_body_bytes: Callable[[], int]) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", ""):
            await _send_json(send, 404, "not found")
            return
        query = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            await _send_json(send, 422, "query parameters must not contain NUL characters")
            return
        try:
            parse_qsl(query.decode("utf-8"), keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError):
            await _send_json(send, 422, "query string is not valid UTF-8")
            return
        limit = self.max_body_bytes()
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                if int(declared) > limit:
                    await _send_json(send, 413, f"request body larger than {limit} bytes")
                    return
            except ValueError:
                await _send_json(send, 400, "invalid Content-Length header")
                return
        if scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        # Read the whole (bounded) body first: a chunked body has no Content-Length to check.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _send_json(send, 413, f"request body larger than {limit} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower().decode("latin-1")
        if content_type in LENIENT_TYPES and body.lstrip()[:1] in (b"{", b"["):
            new_headers = [(k, v) for k, v in scope["headers"] if k != b"content-type"]
            new_headers.append((b"content-type", b"application/json"))
            scope = {**scope, "headers": new_headers}
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
