"""RPC frameworks: grpcio (a loopback server answering each status code) and thrift (a loopback server)."""

from __future__ import annotations

import asyncio
import socketserver
import threading
import time
from concurrent import futures

from .certs import Certs
from .common import Corpus, blackhole, eof_server, free_port, silent_server, ver
from .http_clients import catch

FAM = "rpc"
SERVICE = "agent.v1.ToolService"


def _grpc_methods(grpc):
    """One method per scripted outcome."""
    S = grpc.StatusCode

    def abort(code, details):
        def h(req, ctx):
            ctx.abort(code, details)
        return h

    def slow(req, ctx):
        time.sleep(2)
        return b"late"

    def boom(req, ctx):
        raise ZeroDivisionError("division by zero")

    def big(req, ctx):
        return b"x" * (5 * 1024 * 1024)

    def stream(req, ctx):
        for i in range(50):
            time.sleep(0.05)
            yield b"chunk"

    table = {
        "GetDocument": abort(S.NOT_FOUND, "document 8f14e45f-ceea-467f-a0e6-0e6e5c3a6e1b not found"),
        "RunTool": abort(S.UNAUTHENTICATED, "Request had invalid authentication credentials. Expected OAuth 2 access "
                                             "token, login cookie or other valid authentication credential."),
        "DeleteIndex": abort(S.PERMISSION_DENIED, "caller 'agent-runner@prod' lacks permission 'index.delete'"),
        "Search": abort(S.INVALID_ARGUMENT, "field 'query' must not be empty"),
        "Embed": abort(S.RESOURCE_EXHAUSTED, "rate limit exceeded: 600 requests per minute per project"),
        "Translate": abort(S.RESOURCE_EXHAUSTED, "Quota exceeded for quota metric 'Requests per day' and limit "
                                                 "'Requests per day per project' of service 'translate.example'"),
        "Summarize": abort(S.INTERNAL, "internal error: worker panicked"),
        "Classify": abort(S.UNAVAILABLE, "the service is currently unavailable: backend draining"),
        "CreateBucket": abort(S.ALREADY_EXISTS, "bucket 'agent-artifacts' already exists"),
        "CommitTxn": abort(S.ABORTED, "transaction aborted: concurrent modification of row 42"),
        "Slow": slow,
        "Boom": boom,
        "Big": big,
    }
    handlers = {k: grpc.unary_unary_rpc_method_handler(v) for k, v in table.items()}
    handlers["Stream"] = grpc.unary_stream_rpc_method_handler(stream)
    return handlers


MEANINGS = {
    "GetDocument": ("DATA_OBJECT_NOT_FOUND", "NOT_FOUND"),
    "RunTool": ("AUTH_UNAUTHORIZED", "UNAUTHENTICATED"),
    "DeleteIndex": ("AUTH_FORBIDDEN", "PERMISSION_DENIED"),
    "Search": ("VAL_BAD_REQUEST", "INVALID_ARGUMENT"),
    "Embed": ("RATE_LIMIT_HTTP_429", "RESOURCE_EXHAUSTED (rate limit)"),
    "Translate": ("RATE_LIMIT_QUOTA_EXCEEDED", "RESOURCE_EXHAUSTED (quota)"),
    "Summarize": ("INFRA_INTERNAL_SERVER_ERROR", "INTERNAL"),
    "Classify": ("INFRA_SERVICE_UNAVAILABLE", "UNAVAILABLE"),
    "CreateBucket": ("DATA_CONFLICT", "ALREADY_EXISTS"),
    "CommitTxn": ("DATA_CONFLICT", "ABORTED"),
}


def _grpc(c: Corpus):
    import grpc

    lib = ver("grpcio")
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, _grpc_methods(grpc)),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        ch = grpc.insecure_channel(f"127.0.0.1:{port}")

        def call(method, timeout=2, channel=ch):
            return channel.unary_unary(f"/{SERVICE}/{method}")(b"req", timeout=timeout)

        for method, (meaning, what) in MEANINGS.items():
            e = catch(call, method)
            accept = ["INFRA_DB_LOCK_CONFLICT"] if method == "CommitTxn" else None
            c.exc(e, lib, FAM, f"unary call answered {what} by a loopback gRPC server", meaning, accept=accept,
                  must=what.split(" ")[0])
        e = catch(call, "Slow", 0.3)
        c.exc(e, lib, FAM, "unary call with a 0.3 s deadline to a handler that takes 2 s", "NET_TIMEOUT",
              must="DEADLINE_EXCEEDED")
        e = catch(call, "Boom")
        c.exc(e, lib, FAM, "unary call whose server handler raises ZeroDivisionError", "INFRA_INTERNAL_SERVER_ERROR",
              must="UNKNOWN")
        e = catch(call, "Big")
        c.exc(e, lib, FAM, "unary call whose 5 MiB response exceeds the 4 MiB receive limit",
              "VAL_PAYLOAD_TOO_LARGE", must="larger than max")
        e = catch(call, "NoSuchMethod")
        c.exc(e, lib, FAM, "call to a method the server does not implement", "INFRA_NOT_IMPLEMENTED",
              must="UNIMPLEMENTED")

        def cancelled():
            it = ch.unary_stream(f"/{SERVICE}/Stream")(b"req", timeout=5)
            next(it)
            it.cancel()
            for _ in it:
                pass

        e = catch(cancelled)
        c.exc(e, lib, FAM, "server stream cancelled by the client with call.cancel()", "RUN_CANCELLED",
              must="CANCELLED")
        closed = grpc.insecure_channel(f"127.0.0.1:{free_port()}")
        e = catch(call, "GetDocument", 2, closed)
        c.exc(e, lib, FAM, "unary call on a channel to a closed port", "NET_CONNECTION_REFUSED", must="refused")
        with blackhole() as bport:
            e = catch(call, "GetDocument", 0.5, grpc.insecure_channel(f"127.0.0.1:{bport}"))
            c.exc(e, lib, FAM, "unary call with a 0.5 s deadline to a port whose accept queue is full", "NET_TIMEOUT",
                  accept=["NET_CONNECT_TIMEOUT"])
        with eof_server(immediate=True) as eport:
            e = catch(call, "GetDocument", 1, grpc.insecure_channel(f"127.0.0.1:{eport}"))
            c.exc(e, lib, FAM, "unary call to a port that accepts and closes at once", "NET_CONNECTION_RESET",
                  accept=["NET_CONNECTION_REFUSED"])
        sec = grpc.secure_channel(f"127.0.0.1:{port}", grpc.ssl_channel_credentials())
        e = catch(call, "GetDocument", 2, sec)
        c.exc(e, lib, FAM, "TLS channel to a plaintext gRPC server", "NET_TLS_ERROR")

        async def aio_calls():
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as ach:
                for method in ("RunTool", "Embed", "Classify"):
                    try:
                        await ach.unary_unary(f"/{SERVICE}/{method}")(b"req", timeout=2)
                    except grpc.aio.AioRpcError as ex:
                        c.exc(ex, lib + " (grpc.aio)", FAM, f"async unary call answered {MEANINGS[method][1]}",
                              MEANINGS[method][0])
                try:
                    await ach.unary_unary(f"/{SERVICE}/Slow")(b"req", timeout=0.3)
                except grpc.aio.AioRpcError as ex:
                    c.exc(ex, lib + " (grpc.aio)", FAM, "async unary call with a 0.3 s deadline to a slow handler",
                          "NET_TIMEOUT")
                task = asyncio.ensure_future(ach.unary_unary(f"/{SERVICE}/Slow")(b"req", timeout=5))
                await asyncio.sleep(0.2)
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError as ex:
                    c.exc(ex, lib + " (grpc.aio)", FAM, "asyncio task awaiting a slow call cancelled", "RUN_CANCELLED",
                          style="qual")

        asyncio.run(aio_calls())
    finally:
        server.stop(0)
    certs = Certs()
    tls_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    tls_server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, _grpc_methods(grpc)),))
    with open(certs.selfsigned.key, "rb") as k, open(certs.selfsigned.cert, "rb") as cf:
        creds = grpc.ssl_server_credentials([(k.read(), cf.read())])
    tport = tls_server.add_secure_port("127.0.0.1:0", creds)
    tls_server.start()
    try:
        sec = grpc.secure_channel(f"localhost:{tport}", grpc.ssl_channel_credentials())
        e = catch(lambda: sec.unary_unary(f"/{SERVICE}/GetDocument")(b"req", timeout=2))
        c.exc(e, lib, FAM, "TLS channel to a gRPC server with a self-signed certificate", "NET_TLS_ERROR")
    finally:
        tls_server.stop(0)


class _ThriftHandler(socketserver.BaseRequestHandler):
    def handle(self):
        from thrift.protocol import TBinaryProtocol
        from thrift.Thrift import TApplicationException, TMessageType, TType
        from thrift.transport import TTransport

        trans = TTransport.TBufferedTransport(_SockTrans(self.request))
        prot = TBinaryProtocol.TBinaryProtocol(trans)
        name, _, seqid = prot.readMessageBegin()
        prot.skip(TType.STRUCT)
        prot.readMessageEnd()
        if name == "getUser":
            x = TApplicationException(TApplicationException.UNKNOWN_METHOD, f"Unknown function {name}")
        else:
            x = TApplicationException(TApplicationException.INTERNAL_ERROR,
                                      f"Internal error processing {name}: KeyError('tenant_id')")
        prot.writeMessageBegin(name, TMessageType.EXCEPTION, seqid)
        x.write(prot)
        prot.writeMessageEnd()
        trans.flush()


class _SockTrans:
    """The smallest transport over an accepted socket."""

    def __init__(self, sock):
        self.sock = sock

    def isOpen(self):
        return True

    def read(self, n):
        return self.sock.recv(n)

    def write(self, b):
        self.sock.sendall(b)

    def flush(self):
        pass


def _thrift(c: Corpus):
    try:
        from thrift.protocol import TBinaryProtocol
        from thrift.Thrift import TApplicationException, TMessageType
        from thrift.transport import TSocket, TTransport
    except ImportError:
        return
    lib = ver("thrift")

    def call(port, method, timeout_ms=1000):
        sock = TSocket.TSocket("127.0.0.1", port)
        sock.setTimeout(timeout_ms)
        trans = TTransport.TBufferedTransport(sock)
        prot = TBinaryProtocol.TBinaryProtocol(trans)
        trans.open()
        try:
            prot.writeMessageBegin(method, TMessageType.CALL, 1)
            prot.writeStructBegin(f"{method}_args")
            prot.writeFieldStop()
            prot.writeStructEnd()
            prot.writeMessageEnd()
            trans.flush()
            _, mtype, _ = prot.readMessageBegin()
            if mtype == TMessageType.EXCEPTION:
                x = TApplicationException()
                x.read(prot)
                prot.readMessageEnd()
                raise x
        finally:
            trans.close()

    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _ThriftHandler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        port = srv.server_address[1]
        e = catch(call, port, "getUser")
        c.exc(e, lib, FAM, "call of a method the thrift server does not know", "INFRA_NOT_IMPLEMENTED",
              must="Unknown function")
        e = catch(call, port, "listSessions")
        c.exc(e, lib, FAM, "call whose server handler failed (TApplicationException INTERNAL_ERROR)",
              "INFRA_INTERNAL_SERVER_ERROR", must="Internal error")
    finally:
        srv.shutdown()
        srv.server_close()
    e = catch(call, free_port(), "getUser")
    c.exc(e, lib, FAM, "TSocket.open() on a closed port", "NET_CONNECTION_REFUSED", accept=["NET_CONNECTION_ERROR"])
    with silent_server() as port:
        e = catch(call, port, "getUser", 300)
        c.exc(e, lib, FAM, "call to a server that never answers, socket timeout 300 ms", "NET_READ_TIMEOUT",
              accept=["NET_TIMEOUT"])
    with eof_server() as port:
        e = catch(call, port, "getUser")
        c.exc(e, lib, FAM, "call to a server that closes the connection without answering", "NET_CONNECTION_RESET")


def run(c: Corpus):
    _grpc(c)
    _thrift(c)
