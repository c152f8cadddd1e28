"""Cloud SDKs: boto3 against moto's server and a loopback AWS-error server, google-cloud-storage, azure-storage-blob."""

from __future__ import annotations

import json
import os
import shutil

from .common import Corpus, blackhole, free_port, silent_server, tool_version, ver
from .common import run as sh
from .http_clients import catch
from .servers import Resp, ScriptedServer

FAM = "cloud"
CREDS = {"aws_access_key_id": "AKIAIOSFODNN7EXAMPLE", "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
         "region_name": "us-east-1"}

S3_ERRORS = {  # key -> (status, code, message, meaning)
    "slowdown": (503, "SlowDown", "Please reduce your request rate.", "RATE_LIMIT_THROTTLED"),
    "denied": (403, "AccessDenied", "Access Denied", "AUTH_FORBIDDEN"),
    "expired": (400, "ExpiredToken", "The provided token has expired.", "AUTH_TOKEN_EXPIRED"),
    "badkey": (403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.",
               "AUTH_CREDENTIALS_MISSING"),
    "badsig": (403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you "
               "provided. Check your key and signing method.", "AUTH_CREDENTIALS_MISSING"),
    "internal": (500, "InternalError", "We encountered an internal error. Please try again.",
                 "INFRA_INTERNAL_SERVER_ERROR"),
    "unavailable": (503, "ServiceUnavailable", "Service is unable to handle request.", "INFRA_SERVICE_UNAVAILABLE"),
    "toolarge": (400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed object size.",
                 "VAL_PAYLOAD_TOO_LARGE"),
}

DDB_ERRORS = {  # table -> (status, type, message, meaning)
    "throttled": (400, "ThrottlingException", "Rate exceeded", "RATE_LIMIT_THROTTLED"),
    "hot": (400, "ProvisionedThroughputExceededException", "The level of configured provisioned throughput for the "
            "table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
            "RATE_LIMIT_THROTTLED"),
    "badtoken": (400, "UnrecognizedClientException", "The security token included in the request is invalid.",
                 "AUTH_CREDENTIALS_MISSING"),
    "expired": (400, "ExpiredTokenException", "The security token included in the request is expired",
                "AUTH_TOKEN_EXPIRED"),
    "denied": (400, "AccessDeniedException", "User: arn:aws:iam::123456789012:user/agent-runner is not authorized to "
               "perform: dynamodb:GetItem on resource: arn:aws:dynamodb:us-east-1:123456789012:table/denied because "
               "no identity-based policy allows the dynamodb:GetItem action", "AUTH_FORBIDDEN"),
    "internal": (500, "InternalServerError", "Internal server error", "INFRA_INTERNAL_SERVER_ERROR"),
}

BEDROCK_ERRORS = {  # model id -> (status, type, message, meaning)
    "anthropic.claude-3-haiku-20240307-v1:0": (429, "ThrottlingException",
                                               "Too many requests, please wait before trying again.",
                                               "RATE_LIMIT_THROTTLED"),
    "anthropic.claude-3-sonnet-20240229-v1:0": (400, "ValidationException", "Input is too long for requested model.",
                                                "LLM_CONTEXT_LENGTH_EXCEEDED"),
    "meta.llama3-70b-instruct-v1:0": (403, "AccessDeniedException",
                                      "You don't have access to the model with the specified model ID.",
                                      "LLM_MODEL_NOT_FOUND"),
    "amazon.titan-text-express-v1": (503, "ServiceUnavailableException",
                                     "Bedrock is unable to process your request.", "INFRA_SERVICE_UNAVAILABLE"),
}


def _aws_fallback(h):
    """Answer S3 paths, DynamoDB JSON calls, Lambda and Bedrock REST calls with AWS-shaped errors."""
    path = h.path.split("?")[0]
    target = h.headers.get("X-Amz-Target", "")
    if target.startswith("DynamoDB_"):
        table = json.loads(h.body or b"{}").get("TableName", "")
        st, typ, msg, _ = DDB_ERRORS.get(table, (400, "ResourceNotFoundException", "Requested resource not found", ""))
        return Resp(st, {"__type": f"com.amazonaws.dynamodb.v20120810#{typ}", "message": msg},
                    ctype="application/x-amz-json-1.0")
    if path.startswith("/2015-03-31/functions/"):
        return Resp(429, {"message": "Rate Exceeded.", "Reason": "ReservedFunctionConcurrentInvocationLimitExceeded",
                          "Type": "User"}, headers={"x-amzn-ErrorType": "TooManyRequestsException"})
    if path.startswith("/model/"):
        from urllib.parse import unquote

        model = unquote(path.split("/")[2])
        st, typ, msg, _ = BEDROCK_ERRORS[model]
        return Resp(st, {"message": msg}, headers={"x-amzn-ErrorType": f"{typ}:http://internal.amazon.com/coral/"})
    key = path.rsplit("/", 1)[-1]
    st, code, msg, _ = S3_ERRORS.get(key, (404, "NoSuchKey", "The specified key does not exist.", ""))
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{msg}</Message>'
           f"<Key>{key}</Key><RequestId>4442587FB7D0A2F9</RequestId><HostId>r2d2c3po</HostId></Error>")
    return Resp(st, xml, ctype="application/xml")


def _boto3(c: Corpus):
    import boto3
    from botocore.config import Config
    from moto.server import ThreadedMotoServer

    lib = ver("boto3")
    cfg = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1, read_timeout=1)
    ses = boto3.session.Session(**CREDS)
    mport = free_port()
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=mport, verbose=False)
    moto.start()
    try:
        ep = f"http://127.0.0.1:{mport}"

        slow_ok = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2, read_timeout=20)

        def cl(name):  # moto loads each service's backend on first use, which can take seconds
            return ses.client(name, endpoint_url=ep, config=slow_ok)

        s3 = cl("s3")
        s3.create_bucket(Bucket="agent-artifacts")
        e = catch(s3.get_object, Bucket="agent-artifacts", Key="runs/2024-05-01/report.json")
        c.exc(e, lib, FAM, "S3 GetObject of a missing key (moto server)", "DATA_OBJECT_NOT_FOUND", must="NoSuchKey")
        e = catch(s3.head_object, Bucket="agent-artifacts", Key="runs/missing.parquet")
        c.exc(e, lib, FAM, "S3 HeadObject of a missing key (moto server)", "DATA_OBJECT_NOT_FOUND", must="404")
        e = catch(s3.list_objects_v2, Bucket="agent-artifacts-staging")
        c.exc(e, lib, FAM, "S3 ListObjectsV2 on a missing bucket (moto server)", "DATA_OBJECT_NOT_FOUND",
              must="NoSuchBucket")
        e = catch(s3.get_object, Bucket="agent-artifacts")
        c.exc(e, lib, FAM, "S3 GetObject without the Key parameter", "VAL_MISSING_REQUIRED",
              accept=["VAL_BAD_REQUEST"], must="Key")
        ddb = cl("dynamodb")
        e = catch(ddb.describe_table, TableName="agent_runs")
        c.exc(e, lib, FAM, "DynamoDB DescribeTable of a missing table (moto server)", "DATA_OBJECT_NOT_FOUND",
              must="ResourceNotFound")
        ddb.create_table(TableName="sessions", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                         AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                         BillingMode="PAY_PER_REQUEST")
        ddb.put_item(TableName="sessions", Item={"pk": {"S": "run-1"}})
        e = catch(ddb.put_item, TableName="sessions", Item={"pk": {"S": "run-1"}},
                  ConditionExpression="attribute_not_exists(pk)")
        c.exc(e, lib, FAM, "DynamoDB conditional PutItem on an existing key", "DATA_CONSTRAINT_VIOLATION",
              accept=["DATA_CONFLICT"], must="ConditionalCheckFailed")
        e = catch(ddb.put_item, TableName="sessions", Item={"pk": {"N": "42"}})
        c.exc(e, lib, FAM, "DynamoDB PutItem with a number where the key is a string", "DATA_WRONG_TYPE",
              must="mismatch")
        e = catch(ddb.put_item, TableName="sessions", Item={"other": {"S": "x"}})
        c.exc(e, lib, FAM, "DynamoDB PutItem without the key attribute", "VAL_MISSING_REQUIRED",
              accept=["VAL_BAD_REQUEST"], must="Missing")
        for name, call, kw, must in (
            ("sqs", "get_queue_url", {"QueueName": "agent-jobs"}, "queue"),
            ("secretsmanager", "get_secret_value", {"SecretId": "prod/openai-key"}, "ResourceNotFound"),
            ("ssm", "get_parameter", {"Name": "/agent/prod/model"}, "ParameterNotFound"),
            ("lambda", "invoke", {"FunctionName": "summarize-run"}, "ResourceNotFound"),
            ("iam", "get_user", {"UserName": "agent-runner"}, "NoSuchEntity"),
            ("logs", "put_log_events", {"logGroupName": "/agent/runs", "logStreamName": "r1",
                                        "logEvents": [{"timestamp": 1, "message": "x"}]}, "ResourceNotFound"),
            ("sns", "publish", {"TopicArn": "arn:aws:sns:us-east-1:123456789012:agent-alerts", "Message": "x"},
             "NotFound"),
            ("kinesis", "describe_stream", {"StreamName": "agent-events"}, "ResourceNotFound"),
        ):
            e = catch(getattr(cl(name), call), **kw)
            c.exc(e, lib, FAM, f"{name} {call} of a missing resource (moto server)", "DATA_OBJECT_NOT_FOUND",
                  must=must)
    finally:
        moto.stop()

    with ScriptedServer(fallback=_aws_fallback) as srv:
        s3 = ses.client("s3", endpoint_url=srv.url, config=cfg)
        for key, (_, code, _, meaning) in S3_ERRORS.items():
            e = catch(s3.get_object, Bucket="agent-artifacts", Key=f"exports/{key}")
            c.exc(e, lib, FAM, f"S3 GetObject answered {code} by a loopback server", meaning, must=code)
        s3r = ses.client("s3", endpoint_url=srv.url,
                         config=Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=1))
        e = catch(s3r.get_object, Bucket="agent-artifacts", Key="exports/slowdown")
        c.exc(e, lib, FAM, "S3 GetObject answered SlowDown three times (standard retries)", "RATE_LIMIT_THROTTLED",
              must="max retries", style="str")
        ddb = ses.client("dynamodb", endpoint_url=srv.url, config=cfg)
        for table, (_, typ, _, meaning) in DDB_ERRORS.items():
            e = catch(ddb.get_item, TableName=table, Key={"pk": {"S": "run-1"}})
            c.exc(e, lib, FAM, f"DynamoDB GetItem answered {typ} by a loopback server", meaning, must=typ)
        lam = ses.client("lambda", endpoint_url=srv.url, config=cfg)
        e = catch(lam.invoke, FunctionName="summarize-run")
        c.exc(e, lib, FAM, "Lambda Invoke answered TooManyRequestsException", "RATE_LIMIT_THROTTLED",
              must="TooManyRequests")
        br = ses.client("bedrock-runtime", endpoint_url=srv.url, config=cfg)
        for model, (_, typ, _, meaning) in BEDROCK_ERRORS.items():
            e = catch(br.invoke_model, modelId=model, body=b'{"prompt": "hi"}')
            c.exc(e, ver("boto3") + " bedrock-runtime", "llm-sdk", f"Bedrock InvokeModel answered {typ}", meaning,
                  must=typ, accept=["AUTH_FORBIDDEN"] if typ == "AccessDeniedException" else None)
    e = catch(ses.client("s3", endpoint_url=f"http://127.0.0.1:{free_port()}", config=cfg).get_object,
              Bucket="agent-artifacts", Key="exports/latest.json")
    c.exc(e, lib, FAM, "S3 GetObject against an endpoint on a closed port", "INFRA_OBJECT_STORE_UNREACHABLE",
          must="endpoint")
    e = catch(ses.client("dynamodb", endpoint_url=f"http://127.0.0.1:{free_port()}", config=cfg).get_item,
              TableName="sessions", Key={"pk": {"S": "run-1"}})
    c.exc(e, lib, FAM, "DynamoDB GetItem against an endpoint on a closed port", "NET_CONNECTION_REFUSED",
          accept=["NET_CONNECTION_ERROR"])
    with silent_server() as port:
        e = catch(ses.client("s3", endpoint_url=f"http://127.0.0.1:{port}", config=cfg).get_object,
                  Bucket="agent-artifacts", Key="exports/latest.json")
        c.exc(e, lib, FAM, "S3 GetObject on an endpoint that never answers, read_timeout 1 s", "NET_READ_TIMEOUT")
    with blackhole() as port:
        e = catch(ses.client("sqs", endpoint_url=f"http://127.0.0.1:{port}", config=cfg).get_queue_url,
                  QueueName="agent-jobs")
        c.exc(e, lib, FAM, "SQS call to an endpoint whose accept queue is full, connect_timeout 1 s",
              "NET_CONNECT_TIMEOUT")
    saved = {k: os.environ.get(k) for k in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE")}
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.environ["AWS_CONFIG_FILE"] = "/nonexistent/aws"
    try:
        anon = boto3.session.Session(region_name="us-east-1")
        e = catch(anon.client("s3", endpoint_url=f"http://127.0.0.1:{free_port()}", config=cfg).list_buckets)
        c.exc(e, lib, FAM, "S3 ListBuckets with no credentials configured", "AUTH_CREDENTIALS_MISSING")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _aws_cli(c: Corpus):
    if not shutil.which("aws"):
        return
    lib = f"aws-cli {tool_version(['aws', '--version'])}"
    env = {"AWS_ACCESS_KEY_ID": CREDS["aws_access_key_id"], "AWS_SECRET_ACCESS_KEY": CREDS["aws_secret_access_key"],
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_MAX_ATTEMPTS": "1", "AWS_PAGER": ""}
    with ScriptedServer(fallback=_aws_fallback) as srv:
        for key, meaning in (("denied", "AUTH_FORBIDDEN"), ("missing.json", "DATA_OBJECT_NOT_FOUND"),
                             ("slowdown", "RATE_LIMIT_THROTTLED")):
            c.cli(sh(["aws", "s3api", "get-object", "--endpoint-url", srv.url, "--bucket", "agent-artifacts", "--key",
                      f"exports/{key}", "/tmp/corpus-aws-out"], env=env, timeout=60), lib, FAM,
                  f"aws s3api get-object answered by a loopback server ({key})", meaning)
        c.cli(sh(["aws", "dynamodb", "get-item", "--endpoint-url", srv.url, "--table-name", "throttled", "--key",
                  '{"pk": {"S": "run-1"}}'], env=env, timeout=60), lib, FAM,
              "aws dynamodb get-item answered ThrottlingException", "RATE_LIMIT_THROTTLED")
    c.cli(sh(["aws", "s3", "ls", "s3://agent-artifacts/", "--endpoint-url", f"http://127.0.0.1:{free_port()}"],
             env=env, timeout=60), lib, FAM, "aws s3 ls against an endpoint on a closed port",
          "INFRA_OBJECT_STORE_UNREACHABLE")


GCS_ERRORS = {  # object name -> (status, message, reason, meaning)
    "missing.json": (404, "No such object: agent-artifacts/reports/missing.json", "notFound", "DATA_OBJECT_NOT_FOUND"),
    "private.json": (403, "agent-runner@agent-prod.iam.gserviceaccount.com does not have storage.objects.get access "
                          "to the Google Cloud Storage object. Permission 'storage.objects.get' denied on resource "
                          "(or it may not exist).", "forbidden", "AUTH_FORBIDDEN"),
    "hot.json": (429, "The object exceeded the rate limit for object mutation operations (create, update, and "
                      "delete). Please reduce your request rate.", "rateLimitExceeded", "RATE_LIMIT_THROTTLED"),
    "backend.json": (503, "We encountered an internal error. Please try again.", "backendError",
                     "INFRA_SERVICE_UNAVAILABLE"),
    "stale.json": (412, "At least one of the pre-conditions you specified did not hold.", "conditionNotMet",
                   "DATA_CONFLICT"),
}


def _gcs(c: Corpus):
    try:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage
    except ImportError:
        return
    lib = ver("google-cloud-storage")

    def fallback(h):
        for name, (st, msg, reason, _) in GCS_ERRORS.items():
            if name in h.path or name.encode() in h.body:
                return Resp(st, {"error": {"code": st, "message": msg,
                                           "errors": [{"message": msg, "domain": "global", "reason": reason}]}})
        return Resp(404, {"error": {"code": 404, "message": "Not Found"}})

    with ScriptedServer(fallback=fallback) as srv:
        client = storage.Client(project="agent-prod", credentials=AnonymousCredentials(),
                                client_options={"api_endpoint": srv.url})
        bucket = client.bucket("agent-artifacts")
        for name, (st, _, _, meaning) in GCS_ERRORS.items():
            blob = bucket.blob(f"reports/{name}")
            if name == "stale.json":
                e = catch(blob.upload_from_string, b"{}", if_generation_match=7, retry=None, timeout=2)
            elif st in (429, 503):
                e = catch(blob.download_as_bytes, retry=None, timeout=2)
            else:
                e = catch(blob.reload, retry=None, timeout=2)
            c.exc(e, lib, FAM, f"GCS call answered {st} by a loopback server", meaning, must=str(st),
                  accept=["RATE_LIMIT_HTTP_429"] if st == 429 else None)
    client = storage.Client(project="agent-prod", credentials=AnonymousCredentials(),
                            client_options={"api_endpoint": f"http://127.0.0.1:{free_port()}"})
    e = catch(client.bucket("agent-artifacts").blob("reports/x.json").reload, retry=None, timeout=2)
    c.exc(e, lib, FAM, "GCS call against an endpoint on a closed port", "INFRA_OBJECT_STORE_UNREACHABLE",
          accept=["NET_CONNECTION_REFUSED"])


AZ_ERRORS = {  # blob name -> (status, code, message, meaning)
    "missing.json": (404, "BlobNotFound", "The specified blob does not exist.", "DATA_OBJECT_NOT_FOUND"),
    "badsig.json": (403, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the value of "
                         "Authorization header is formed correctly including the signature.",
                    "AUTH_CREDENTIALS_MISSING"),
    "perm.json": (403, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation "
                       "using this permission.", "AUTH_FORBIDDEN"),
    "busy.json": (503, "ServerBusy", "Operations per second is over the account limit.", "RATE_LIMIT_THROTTLED"),
    "exists.json": (409, "BlobAlreadyExists", "The specified blob already exists.", "DATA_CONFLICT"),
    "internal.json": (500, "InternalError", "The server encountered an internal error. Please retry the request.",
                      "INFRA_INTERNAL_SERVER_ERROR"),
    "expired.json": (403, "AuthenticationFailed", "Server failed to authenticate the request. Make sure the value of "
                          "Authorization header is formed correctly including the signature.\nAuthenticationErrorDetail:"
                          "Signature not valid in the specified time frame: Start [Sun, 31 Dec 2023 00:00:00 GMT] - "
                          "Expiry [Mon, 01 Jan 2024 00:00:00 GMT] - Current [Wed, 01 May 2024 10:00:00 GMT]",
                     "AUTH_TOKEN_EXPIRED"),
}


def _azure(c: Corpus):
    try:
        from azure.storage.blob import BlobClient
    except ImportError:
        return
    lib = ver("azure-storage-blob")

    def fallback(h):
        for name, (st, code, msg, _) in AZ_ERRORS.items():
            if name in h.path:
                xml = (f'\ufeff<?xml version="1.0" encoding="utf-8"?><Error><Code>{code}</Code><Message>{msg}\n'
                       f"RequestId:5e1a9c0d-701e-0045-3b5a-2f6c8e000000\nTime:2024-05-01T10:00:00.0000000Z"
                       f"</Message></Error>")
                return Resp(st, xml, headers={"x-ms-error-code": code, "x-ms-request-id": "5e1a9c0d"},
                            ctype="application/xml")
        return Resp(404, "")

    with ScriptedServer(fallback=fallback) as srv:
        for name, (st, code, _, meaning) in AZ_ERRORS.items():
            blob = BlobClient.from_blob_url(f"{srv.url}/devstoreaccount1/artifacts/{name}", retry_total=0)
            if name == "exists.json":
                e = catch(blob.upload_blob, b"{}", overwrite=False)
            else:
                e = catch(lambda: blob.download_blob().readall())
            c.exc(e, lib, FAM, f"blob call answered {code} ({st}) by a loopback server", meaning, must=code,
                  accept=["INFRA_SERVICE_UNAVAILABLE"] if code == "ServerBusy" else None)
    blob = BlobClient.from_blob_url(f"http://127.0.0.1:{free_port()}/devstoreaccount1/artifacts/x.json", retry_total=0)
    e = catch(lambda: blob.download_blob().readall())
    c.exc(e, lib, FAM, "blob download against an endpoint on a closed port", "INFRA_OBJECT_STORE_UNREACHABLE",
          accept=["NET_CONNECTION_REFUSED"])


def run(c: Corpus):
    _boto3(c)
    _aws_cli(c)
    _gcs(c)
    _azure(c)
