"""RPC and API clients not in the main corpus: zeep (SOAP), gql (GraphQL), grpclib."""

from __future__ import annotations

import asyncio

from .common import Corpus, catch, free_port, ver
from .servers import Resp, ScriptedServer

FAM = "rpc"

WSDL = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://schemas.xmlsoap.org/wsdl/" xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
  xmlns:tns="http://example.invalid/billing" xmlns:xsd="http://www.w3.org/2001/XMLSchema"
  targetNamespace="http://example.invalid/billing" name="Billing">
  <types>
    <xsd:schema targetNamespace="http://example.invalid/billing" elementFormDefault="qualified">
      <xsd:element name="GetInvoice">
        <xsd:complexType><xsd:sequence><xsd:element name="invoiceId" type="xsd:int"/></xsd:sequence></xsd:complexType>
      </xsd:element>
      <xsd:element name="GetInvoiceResponse">
        <xsd:complexType><xsd:sequence><xsd:element name="amount" type="xsd:decimal"/></xsd:sequence></xsd:complexType>
      </xsd:element>
    </xsd:schema>
  </types>
  <message name="GetInvoiceIn"><part name="parameters" element="tns:GetInvoice"/></message>
  <message name="GetInvoiceOut"><part name="parameters" element="tns:GetInvoiceResponse"/></message>
  <portType name="BillingPort">
    <operation name="GetInvoice"><input message="tns:GetInvoiceIn"/><output message="tns:GetInvoiceOut"/></operation>
  </portType>
  <binding name="BillingBinding" type="tns:BillingPort">
    <soap:binding style="document" transport="http://schemas.xmlsoap.org/soap/http"/>
    <operation name="GetInvoice">
      <soap:operation soapAction="http://example.invalid/billing/GetInvoice"/>
      <input><soap:body use="literal"/></input><output><soap:body use="literal"/></output>
    </operation>
  </binding>
  <service name="BillingService">
    <port name="BillingPort" binding="tns:BillingBinding"><soap:address location="ENDPOINT"/></port>
  </service>
</definitions>
"""


def fault(code, text):
    return f"""<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body><soap:Fault><faultcode>{code}</faultcode><faultstring>{text}</faultstring></soap:Fault></soap:Body>
</soap:Envelope>"""


def _zeep(c: Corpus):
    import zeep
    from zeep.transports import Transport

    lib = ver("zeep")
    state = {}

    def route(h):
        if h.command == "GET":
            return Resp(200, WSDL.replace("ENDPOINT", f"http://127.0.0.1:{state['port']}/soap/{state['mode']}"),
                        ctype="text/xml")
        mode = h.path.rsplit("/", 1)[-1]
        if mode == "auth":
            return Resp(500, fault("soap:Client", "Authentication failed: invalid username or password"),
                        ctype="text/xml; charset=utf-8")
        if mode == "notfound":
            return Resp(500, fault("soap:Client", "Invoice 4711 was not found"), ctype="text/xml; charset=utf-8")
        if mode == "server":
            return Resp(500, fault("soap:Server", "Server was unable to process request. ---&gt; Object reference "
                                                 "not set to an instance of an object."),
                        ctype="text/xml; charset=utf-8")
        if mode == "html":
            return Resp(503, "<html><body><h1>503 Service Unavailable</h1>No server is available to handle this "
                             "request.</body></html>", ctype="text/html")
        if mode == "forbidden":
            return Resp(403, "Forbidden", ctype="text/plain")
        return Resp(200, "<not-soap>", ctype="text/xml")

    with ScriptedServer(fallback=route) as srv:
        state["port"] = srv.port

        def call(mode, arg=4711, **kw):
            state["mode"] = mode
            cl = zeep.Client(srv.url + "/wsdl", transport=Transport(timeout=2, operation_timeout=2))
            return cl.service.GetInvoice(invoiceId=arg)

        e = catch(call, "auth")
        c.exc(e, lib, FAM, "SOAP call answered a Client fault: authentication failed", "AUTH_LOGIN_FAILED",
              must="Authentication failed")
        e = catch(call, "notfound")
        c.exc(e, lib, FAM, "SOAP call answered a Client fault: invoice not found", "DATA_OBJECT_NOT_FOUND",
              must="not found")
        e = catch(call, "server")
        c.exc(e, lib, FAM, "SOAP call answered a Server fault (NullReference in the service)",
              "INFRA_INTERNAL_SERVER_ERROR", must="unable to process")
        e = catch(call, "forbidden")
        c.exc(e, lib, FAM, "SOAP call answered 403 Forbidden", "AUTH_FORBIDDEN", must="403")
    e = catch(zeep.Client, f"http://127.0.0.1:{free_port()}/billing?wsdl")
    c.exc(e, lib, FAM, "load a WSDL from a closed loopback port", "NET_CONNECTION_REFUSED", must="refused")


def _gql(c: Corpus):
    from gql import Client, gql
    from gql.transport.requests import RequestsHTTPTransport

    lib = ver("gql")
    q = gql("query { repository(owner: \"acme\", name: \"missing\") { id } }")

    def run(resp):
        with ScriptedServer(fallback=lambda h: resp) as srv:
            tr = RequestsHTTPTransport(url=srv.url + "/graphql", timeout=2, retries=0)
            with Client(transport=tr, fetch_schema_from_transport=False) as s:
                return s.execute(q)

    cases = [
        (Resp(200, {"data": {"repository": None}, "errors": [
            {"type": "NOT_FOUND", "path": ["repository"], "locations": [{"line": 1, "column": 9}],
             "message": "Could not resolve to a Repository with the name 'acme/missing'."}]}),
         "DATA_OBJECT_NOT_FOUND", "query answered a NOT_FOUND GraphQL error", "Could not resolve", None),
        (Resp(200, {"errors": [{"type": "RATE_LIMITED", "message": "API rate limit exceeded for user ID 4211."}]}),
         "RATE_LIMIT_HTTP_429", "query answered a RATE_LIMITED GraphQL error", "rate limit", None),
        (Resp(200, {"errors": [{"message": "Cannot query field \"repositry\" on type \"Query\". Did you mean "
                                           "\"repository\"?", "locations": [{"line": 1, "column": 9}],
                                "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]}),
         "VAL_BAD_REQUEST", "query with a misspelt field answered GRAPHQL_VALIDATION_FAILED", "Cannot query field",
         ["VAL_SCHEMA_VIOLATION"]),
        (Resp(200, {"errors": [{"message": "Context creation failed: Invalid or expired token",
                                "extensions": {"code": "UNAUTHENTICATED"}}]}),
         "AUTH_UNAUTHORIZED", "query answered an UNAUTHENTICATED GraphQL error", "UNAUTHENTICATED",
         ["AUTH_TOKEN_EXPIRED"]),
        (Resp(401, {"message": "Bad credentials", "documentation_url": "https://docs.github.com/graphql"}),
         "AUTH_UNAUTHORIZED", "query answered HTTP 401", "401", None),
        (Resp(502, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
                   "</center><hr><center>nginx</center></body></html>", ctype="text/html"),
         "INFRA_BAD_GATEWAY", "query answered HTTP 502 by nginx", "502", None),
        (Resp(200, "<html><body>Maintenance</body></html>", ctype="text/html"),
         "DATA_JSON_DECODE", "query answered 200 with an HTML page", "", None),
    ]
    for resp, meaning, provoked, must, acc in cases:
        e = catch(run, resp)
        c.exc(e, lib, FAM, provoked + " (fake GraphQL server)", meaning, accept=acc, must=must or ())
    tr = RequestsHTTPTransport(url=f"http://127.0.0.1:{free_port()}/graphql", timeout=2, retries=0)
    e = catch(lambda: Client(transport=tr).execute(q))
    c.exc(e, lib, FAM, "query to a closed loopback port", "NET_CONNECTION_REFUSED", must="refused")


def _grpclib(c: Corpus):
    from google.protobuf.wrappers_pb2 import StringValue
    from grpclib.client import Channel
    from grpclib.const import Cardinality, Handler, Status
    from grpclib.exceptions import GRPCError
    from grpclib.server import Server

    lib = ver("grpclib")
    cases = {
        "NotFound": (Status.NOT_FOUND, "run 42 not found", "DATA_OBJECT_NOT_FOUND", None),
        "Denied": (Status.PERMISSION_DENIED, "caller agent-7 may not read tenant acme", "AUTH_FORBIDDEN", None),
        "Unauth": (Status.UNAUTHENTICATED, "missing bearer token", "AUTH_UNAUTHORIZED", None),
        "Exhausted": (Status.RESOURCE_EXHAUSTED, "quota exceeded for quota metric 'Requests' and limit 'Requests per "
                                                 "minute' of service 'runs.example.invalid'", "RATE_LIMIT_QUOTA_EXCEEDED",
                      None),
        "Unavailable": (Status.UNAVAILABLE, "backend is draining", "INFRA_SERVICE_UNAVAILABLE", None),
        "Invalid": (Status.INVALID_ARGUMENT, "page_size must be between 1 and 100", "VAL_BAD_REQUEST", None),
        "Exists": (Status.ALREADY_EXISTS, "run 42 already exists", "DATA_CONFLICT", None),
        "Crash": (None, "", "INFRA_INTERNAL_SERVER_ERROR", None),
        "Slow": ("slow", "", "NET_TIMEOUT", None),
    }

    class Svc:
        def __mapping__(self):
            m = {}
            for name, (status, text, _, _a) in cases.items():
                async def h(stream, status=status, text=text):
                    await stream.recv_message()
                    if status is None:
                        raise RuntimeError("boom")
                    if status == "slow":
                        await asyncio.sleep(3)
                    raise GRPCError(status, text)
                m[f"/holdout.Runs/{name}"] = Handler(h, Cardinality.UNARY_UNARY, StringValue, StringValue)
            return m

    async def main():
        server = Server([Svc()])
        port = free_port()
        await server.start("127.0.0.1", port)
        out = {}
        try:
            for name in cases:
                ch = Channel("127.0.0.1", port)
                try:
                    async with ch.request(f"/holdout.Runs/{name}", Cardinality.UNARY_UNARY, StringValue, StringValue,
                                          timeout=0.5 if name == "Slow" else 3) as st:
                        await st.send_message(StringValue(value="x"), end=True)
                        await st.recv_message()
                except BaseException as ex:  # noqa: BLE001
                    out[name] = ex
                finally:
                    ch.close()
            ch = Channel("127.0.0.1", free_port())
            try:
                async with ch.request("/holdout.Runs/NotFound", Cardinality.UNARY_UNARY, StringValue,
                                      StringValue) as st:
                    await st.send_message(StringValue(value="x"), end=True)
            except BaseException as ex:  # noqa: BLE001
                out["closed"] = ex
            finally:
                ch.close()
        finally:
            server.close()
            await server.wait_closed()
        return out

    out = asyncio.run(main())
    for name, (status, text, meaning, acc) in cases.items():
        c.exc(out.get(name), lib, FAM, f"unary call answered {getattr(status, 'name', name)} by a grpclib server",
              meaning, accept=acc, allow_local=True)
    c.exc(out.get("closed"), lib, FAM, "unary call to a closed loopback port", "NET_CONNECTION_REFUSED")


def run(c: Corpus):
    for fn in (_zeep, _gql, _grpclib):
        try:
            fn(c)
        except Exception:  # noqa: BLE001
            import traceback
            c.skipped.append(f"{fn.__name__} crashed: {traceback.format_exc()[-1500:]}")
