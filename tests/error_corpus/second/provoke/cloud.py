"""Cloud SDKs not in the main corpus: minio (fake S3), azure-data-tables (fake Table service), azure-identity,
azure-servicebus."""

from __future__ import annotations

import os

from .common import Corpus, catch, free_port, silent_server, ver
from .servers import Resp, ScriptedServer

FAM = "cloud"


def s3err(code, message, resource, extra=""):
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
            f'<Resource>{resource}</Resource>{extra}<RequestId>1889C0F3A7B2D4E1</RequestId>'
            f'<HostId>dd9025bab4ad464b049177c95eb6ebf374d3b3fd1af9251148b658df7ac2e3e8</HostId></Error>')


def _minio(c: Corpus):
    from minio import Minio

    lib = ver("minio")
    cases = {
        "missing-key": (404, "NoSuchKey", "The specified key does not exist.", "DATA_OBJECT_NOT_FOUND", None),
        "missing-bucket": (404, "NoSuchBucket", "The specified bucket does not exist", "DATA_OBJECT_NOT_FOUND", None),
        "denied": (403, "AccessDenied", "Access Denied.", "AUTH_FORBIDDEN", None),
        "badkey": (403, "InvalidAccessKeyId", "The Access Key Id you provided does not exist in our records.",
                   "AUTH_CREDENTIALS_MISSING", None),
        "badsig": (403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature "
                                                  "you provided. Check your key and signing method.",
                   "AUTH_CREDENTIALS_MISSING", None),
        "slow": (503, "SlowDown", "Resource requested is unreadable, please reduce your request rate",
                 "RATE_LIMIT_THROTTLED", None),
        "expired": (400, "ExpiredToken", "The provided token has expired.", "AUTH_TOKEN_EXPIRED", None),
        "owned": (409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and "
                                                   "you already own it.", "DATA_CONFLICT", None),
        "quota": (507, "XMinioStorageFull", "Storage backend has reached its minimum free drive threshold. Please "
                                            "delete a few objects to proceed.", "RES_DISK_FULL",
                  ["INFRA_HTTP_5XX"]),
    }

    def route(h):
        parts = h.path.split("?")[0].strip("/").split("/")
        bucket = parts[0] if parts else ""
        if h.command == "GET" and "location" in h.path:
            return Resp(200, '<?xml version="1.0" encoding="UTF-8"?><LocationConstraint '
                             'xmlns="http://s3.amazonaws.com/doc/2006-03-01/">us-east-1</LocationConstraint>',
                        ctype="application/xml")
        if bucket in cases:
            st, code, msg, _, _a = cases[bucket]
            return Resp(st, s3err(code, msg, h.path.split("?")[0], f"<BucketName>{bucket}</BucketName>"),
                        ctype="application/xml")
        return Resp(200, "", ctype="application/xml")

    import urllib3

    with ScriptedServer(fallback=route) as srv:
        cl = Minio(f"127.0.0.1:{srv.port}", access_key="AKIAHOLDOUT", secret_key="secret", secure=False,
                   region="us-east-1")
        e = catch(cl.get_object, "slow", "runs/42/trace.json")
        c.exc(e, lib, FAM, "get_object answered 503 SlowDown every time (urllib3 retries of the default client)",
              "INFRA_SERVICE_UNAVAILABLE", must="503")
        cl = Minio(f"127.0.0.1:{srv.port}", access_key="AKIAHOLDOUT", secret_key="secret", secure=False,
                   region="us-east-1", http_client=urllib3.PoolManager(timeout=2, retries=urllib3.Retry(total=0)))
        for bucket, (st, code, msg, meaning, acc) in cases.items():
            if bucket == "owned":
                e = catch(cl.make_bucket, bucket)
            else:
                e = catch(cl.get_object, bucket, "runs/42/trace.json")
            c.exc(e, lib, FAM, f"S3 call answered {st} {code} (fake S3 server)", meaning, accept=acc, must=code)
    import urllib3

    cl = Minio(f"127.0.0.1:{free_port()}", access_key="a", secret_key="b", secure=False, region="us-east-1",
               http_client=urllib3.PoolManager(timeout=1, retries=urllib3.Retry(total=0)))
    e = catch(cl.bucket_exists, "agent-artifacts")
    c.exc(e, lib, FAM, "bucket_exists against a closed loopback port", "INFRA_OBJECT_STORE_UNREACHABLE",
          accept=["NET_CONNECTION_REFUSED"], must="refused")
    with silent_server() as port:
        cl = Minio(f"127.0.0.1:{port}", access_key="a", secret_key="b", secure=False, region="us-east-1",
                   http_client=urllib3.PoolManager(timeout=urllib3.Timeout(connect=1, read=0.5),
                                                   retries=urllib3.Retry(total=0)))
        e = catch(cl.stat_object, "agent-artifacts", "runs/42/trace.json")
        c.exc(e, lib, FAM, "stat_object against a port that never answers, read timeout 0.5 s", "NET_READ_TIMEOUT",
              must="timed out")


def _tables(c: Corpus):
    from azure.data.tables import TableServiceClient

    lib = ver("azure-data-tables")

    def err(code, value):
        return {"odata.error": {"code": code, "message": {
            "lang": "en-US", "value": f"{value}\nRequestId:8c2f4a1e-7002-0031-2b6c-1d1a3b000000\n"
                                      f"Time:2026-12-04T19:58:00.1234567Z"}}}

    cases = {
        "MissingTable": (404, "TableNotFound", "The table specified does not exist.", "DATA_OBJECT_NOT_FOUND"),
        "Entities": (409, "EntityAlreadyExists", "The specified entity already exists.", "DATA_CONFLICT"),
        "Forbidden": (403, "AuthorizationPermissionMismatch", "This request is not authorized to perform this "
                                                               "operation using this permission.", "AUTH_FORBIDDEN"),
        "Busy": (503, "ServerBusy", "The server is busy.", "RATE_LIMIT_THROTTLED"),
        "Bad": (400, "PropertyValueTooLarge", "The property value exceeds the maximum allowed size (64KB). If the "
                                              "property value is a string, it is UTF-16 encoded and the maximum "
                                              "number of characters should be 32K or less.", "VAL_PAYLOAD_TOO_LARGE"),
    }

    def route(h):
        for table, (st, code, value, _) in cases.items():
            if table in h.path:
                return Resp(st, err(code, value), ctype="application/json;odata=minimalmetadata",
                            headers={"x-ms-error-code": code, "x-ms-request-id": "8c2f4a1e-7002-0031-2b6c-1d1a3b000000"})
        return Resp(200, {"value": []}, ctype="application/json")

    with ScriptedServer(fallback=route) as srv:
        conn = (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="
                f"Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
                f"TableEndpoint={srv.url}/devstoreaccount1;")
        svc = TableServiceClient.from_connection_string(conn, retry_total=0)
        for table, (st, code, value, meaning) in cases.items():
            t = svc.get_table_client(table)
            if table == "Entities":
                e = catch(t.create_entity, {"PartitionKey": "runs", "RowKey": "42"})
            elif table == "Bad":
                e = catch(t.upsert_entity, {"PartitionKey": "runs", "RowKey": "42", "blob": "x" * 70000})
            else:
                e = catch(lambda: list(t.query_entities("PartitionKey eq 'runs'")))
            c.exc(e, lib, FAM, f"table call answered {st} {code} (fake Table service)", meaning, must=code)
    conn = (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Zm9v;"
            f"TableEndpoint=http://127.0.0.1:{free_port()}/devstoreaccount1;")
    svc = TableServiceClient.from_connection_string(conn, retry_total=0)
    e = catch(lambda: list(svc.list_tables()))
    c.exc(e, lib, FAM, "list_tables against a closed loopback port", "NET_CONNECTION_REFUSED",
          must="refused")


def _identity(c: Corpus):
    from azure.identity import AzureCliCredential, DefaultAzureCredential, EnvironmentCredential

    lib = ver("azure-identity")
    saved = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("AZURE_")}
    try:
        e = catch(EnvironmentCredential().get_token, "https://storage.azure.com/.default")
        c.exc(e, lib, FAM, "EnvironmentCredential with no AZURE_* variables", "AUTH_CREDENTIALS_MISSING",
              must="Environment variables")
        e = catch(AzureCliCredential().get_token, "https://storage.azure.com/.default")
        c.exc(e, lib, FAM, "AzureCliCredential on a host without the az CLI", "AUTH_CREDENTIALS_MISSING",
              accept=["TOOL_EXECUTABLE_NOT_FOUND"], must="Azure CLI")
        cred = DefaultAzureCredential(exclude_managed_identity_credential=True, exclude_workload_identity_credential=True)
        e = catch(cred.get_token, "https://storage.azure.com/.default")
        c.exc(e, lib, FAM, "DefaultAzureCredential with no credential source (managed identity excluded)",
              "AUTH_CREDENTIALS_MISSING", must="failed to retrieve a token")
    finally:
        os.environ.update(saved)


def _servicebus(c: Corpus):
    from azure.servicebus import ServiceBusClient, ServiceBusMessage

    lib = ver("azure-servicebus")
    port = free_port()
    conn = (f"Endpoint=sb://127.0.0.1:{port}/;SharedAccessKeyName=RootManageSharedAccessKey;"
            f"SharedAccessKey=Zm9vYmFy;UseDevelopmentEmulator=true")
    cl = ServiceBusClient.from_connection_string(conn, retry_total=0)

    def send():
        with cl:
            with cl.get_queue_sender("agent-jobs") as s:
                s.send_messages(ServiceBusMessage("run 42"))

    e = catch(send)
    c.exc(e, lib, "broker", "send to a Service Bus emulator endpoint on a closed loopback port",
          "INFRA_CACHE_UNAVAILABLE", accept=["NET_CONNECTION_REFUSED"])


def run(c: Corpus):
    for fn in (_minio, _tables, _identity, _servicebus):
        try:
            fn(c)
        except Exception:  # noqa: BLE001
            import traceback
            c.skipped.append(f"{fn.__name__} crashed: {traceback.format_exc()[-1500:]}")
