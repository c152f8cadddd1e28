"""The shipped catalog recognises what real libraries print.

Each test provokes a real failure on this machine (loopback servers on free ports, a closed port, the
reserved `.invalid` TLD, the local PostgreSQL, /dev/full, a child process running as `nobody`) and feeds
the exception text to a Matcher built from the shipped catalog file, both bare (`str(exc)`) and the way
runtimes usually log it (`f"{type(exc).__name__}: {exc}"`). Only the SDKs we cannot call (OpenAI,
Anthropic) and a few cloud responses use literal sample texts; those tests are marked LITERAL SAMPLES.
"""
from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import botocore.config
import httpx
import psycopg2
import pytest
import requests
import sqlalchemy as sa
import urllib3
import yaml

from loaders.catalog.file import read_catalog_file
from loaders.catalog.matcher import Matcher

PG_HOST, PG_PORT, PG_USER = "127.0.0.1", 5432, "postgres"


@pytest.fixture(scope="module")
def matcher() -> Matcher:
    """A matcher over the shipped catalog file (no database needed)."""
    return Matcher(read_catalog_file()[1])


def code_for(matcher: Matcher, text: str) -> str:
    """The catalog code the message matches ('UNKNOWN' on a miss)."""
    return matcher.match(None, text).error_code


def assert_code(matcher: Matcher, exc: BaseException, expected: str, *, bare: bool = True) -> None:
    """The exception's text matches `expected`, with the class name prefixed and (if `bare`) without."""
    prefixed = f"{type(exc).__name__}: {exc}"
    assert code_for(matcher, prefixed) == expected, prefixed
    if bare:
        assert code_for(matcher, str(exc)) == expected, str(exc)


def raised(fn, *args, **kwargs) -> BaseException:
    """Call fn and return the exception it raised (the test fails if it raised nothing)."""
    try:
        fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - we want exactly what the library raised
        return exc
    pytest.fail(f"{fn!r} did not raise")


# ------------------------------------------------------------------ local servers


class _Handler(BaseHTTPRequestHandler):
    release: threading.Event

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        if self.path.startswith("/stall"):
            self.release.wait(5)  # longer than any client timeout used below
        elif self.path.startswith("/hangup"):
            self.close_connection = True
            return  # close without any response: the client sees the peer disconnect
        status = int(self.path.rsplit("/", 1)[-1]) if self.path.rsplit("/", 1)[-1].isdigit() else 200
        body = b"" if status != 200 else b"not json"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_HEAD = do_GET  # botocore's calls are not all GETs

    def do_POST(self) -> None:  # noqa: N802
        self.do_GET()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def http_base() -> Iterator[str]:
    """A threaded HTTP server on 127.0.0.1 (free port): /<status>, /stall, /hangup."""
    release = threading.Event()
    handler = type("Handler", (_Handler,), {"release": release})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    release.set()
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound once to find it free, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A loopback port whose listen backlog is full, so new connections hang until the client times out."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = int(server.getsockname()[1])
    fillers = []
    for _ in range(3):  # never accepted: they fill the accept queue, later SYNs are dropped
        filler = socket.socket()
        filler.setblocking(False)
        try:
            filler.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fillers.append(filler)
    yield port
    for sock in (*fillers, server):
        sock.close()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    """A requests session that ignores proxy settings from the environment (loopback only)."""
    with requests.Session() as s:
        s.trust_env = False
        yield s


@pytest.fixture
def hx() -> Iterator[httpx.Client]:
    """An httpx client that ignores proxy settings from the environment."""
    with httpx.Client(trust_env=False) as client:
        yield client


# ------------------------------------------------------------------ requests


def test_requests_connection_refused(matcher, session, closed_port):
    exc = raised(session.get, f"http://127.0.0.1:{closed_port}/", timeout=2)
    assert isinstance(exc, requests.ConnectionError)
    assert_code(matcher, exc, "NET_CONNECTION_REFUSED")


def test_requests_unresolvable_host(matcher, session):
    exc = raised(session.get, "http://no-such-host.failcat.invalid/", timeout=2)
    assert isinstance(exc, requests.ConnectionError)
    assert_code(matcher, exc, "NET_DNS_RESOLUTION")


def test_requests_read_timeout(matcher, session, http_base):
    exc = raised(session.get, f"{http_base}/stall", timeout=0.3)
    assert isinstance(exc, requests.ReadTimeout)
    assert_code(matcher, exc, "NET_READ_TIMEOUT")


def test_requests_connect_timeout(matcher, session, unanswered_port):
    exc = raised(session.get, f"http://127.0.0.1:{unanswered_port}/", timeout=(0.3, 1))
    assert isinstance(exc, requests.ConnectTimeout)
    assert_code(matcher, exc, "NET_CONNECT_TIMEOUT")


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (429, "RATE_LIMIT_HTTP_429"),
        (503, "INFRA_SERVICE_UNAVAILABLE"),
        (500, "INFRA_INTERNAL_SERVER_ERROR"),
        (502, "INFRA_BAD_GATEWAY"),
        (504, "INFRA_GATEWAY_TIMEOUT"),
        (507, "INFRA_HTTP_5XX"),
        (401, "AUTH_UNAUTHORIZED"),
        (403, "AUTH_FORBIDDEN"),
        (404, "DATA_OBJECT_NOT_FOUND"),
        (400, "VAL_BAD_REQUEST"),
        (413, "VAL_PAYLOAD_TOO_LARGE"),
        (422, "VAL_UNPROCESSABLE_ENTITY"),
    ],
)
def test_requests_http_status_errors(matcher, session, http_base, status, code):
    response = session.get(f"{http_base}/{status}", timeout=2)
    exc = raised(response.raise_for_status)
    assert isinstance(exc, requests.HTTPError) and str(status) in str(exc)
    assert_code(matcher, exc, code)


def test_requests_peer_hangs_up(matcher, session, http_base):
    exc = raised(session.get, f"{http_base}/hangup", timeout=2)
    assert isinstance(exc, requests.ConnectionError)
    assert_code(matcher, exc, "NET_CONNECTION_RESET")


def test_requests_tls_to_plain_http_server(matcher, session, http_base):
    exc = raised(session.get, http_base.replace("http://", "https://") + "/200", timeout=2)
    assert isinstance(exc, requests.exceptions.SSLError)
    assert_code(matcher, exc, "NET_TLS_ERROR")


def test_requests_json_body_that_is_not_json(matcher, session, http_base):
    response = session.get(f"{http_base}/200", timeout=2)
    exc = raised(response.json)
    assert isinstance(exc, requests.exceptions.JSONDecodeError)
    assert_code(matcher, exc, "DATA_JSON_DECODE")


# ------------------------------------------------------------------ httpx


def test_httpx_connection_refused(matcher, hx, closed_port):
    exc = raised(hx.get, f"http://127.0.0.1:{closed_port}/")
    assert isinstance(exc, httpx.ConnectError)
    assert_code(matcher, exc, "NET_CONNECTION_REFUSED")


def test_httpx_unresolvable_host(matcher, hx):
    exc = raised(hx.get, "http://no-such-host.failcat.invalid/")
    assert isinstance(exc, httpx.ConnectError)
    assert_code(matcher, exc, "NET_DNS_RESOLUTION")


def test_httpx_read_timeout(matcher, hx, http_base):
    exc = raised(hx.get, f"{http_base}/stall", timeout=0.3)
    assert isinstance(exc, httpx.ReadTimeout)
    # httpx says only "timed out": bare it is a generic timeout, the class name makes it a read timeout.
    assert code_for(matcher, str(exc)) == "NET_TIMEOUT"
    assert_code(matcher, exc, "NET_READ_TIMEOUT", bare=False)


def test_httpx_connect_timeout(matcher, hx, unanswered_port):
    exc = raised(hx.get, f"http://127.0.0.1:{unanswered_port}/", timeout=0.3)
    assert isinstance(exc, httpx.ConnectTimeout)
    assert code_for(matcher, str(exc)) == "NET_TIMEOUT"
    assert_code(matcher, exc, "NET_CONNECT_TIMEOUT", bare=False)


@pytest.mark.parametrize(("status", "code"), [(429, "RATE_LIMIT_HTTP_429"), (503, "INFRA_SERVICE_UNAVAILABLE"),
                                              (401, "AUTH_UNAUTHORIZED"), (500, "INFRA_INTERNAL_SERVER_ERROR")])
def test_httpx_status_errors(matcher, hx, http_base, status, code):
    exc = raised(hx.get(f"{http_base}/{status}").raise_for_status)
    assert isinstance(exc, httpx.HTTPStatusError)
    assert_code(matcher, exc, code)


# ------------------------------------------------------------------ urllib3


def test_urllib3_connection_refused(matcher, closed_port):
    exc = raised(urllib3.PoolManager(retries=False).request, "GET", f"http://127.0.0.1:{closed_port}/")
    assert isinstance(exc, urllib3.exceptions.NewConnectionError)
    assert_code(matcher, exc, "NET_CONNECTION_REFUSED")
    exc = raised(urllib3.PoolManager(retries=1).request, "GET", f"http://127.0.0.1:{closed_port}/")
    assert isinstance(exc, urllib3.exceptions.MaxRetryError)
    assert_code(matcher, exc, "NET_CONNECTION_REFUSED")


def test_urllib3_unresolvable_host(matcher):
    exc = raised(urllib3.PoolManager(retries=False).request, "GET", "http://no-such-host.failcat.invalid/")
    assert isinstance(exc, urllib3.exceptions.NameResolutionError)
    assert_code(matcher, exc, "NET_DNS_RESOLUTION")


def test_urllib3_read_timeout(matcher, http_base):
    exc = raised(urllib3.PoolManager(retries=False).request, "GET", f"{http_base}/stall", timeout=0.3)
    assert isinstance(exc, urllib3.exceptions.ReadTimeoutError)
    assert_code(matcher, exc, "NET_READ_TIMEOUT")


@pytest.mark.parametrize(("status", "code"), [(429, "RATE_LIMIT_HTTP_429"), (503, "INFRA_SERVICE_UNAVAILABLE"),
                                              (502, "INFRA_BAD_GATEWAY")])
def test_urllib3_retries_exhausted_on_status(matcher, http_base, status, code):
    retry = urllib3.Retry(total=1, status_forcelist=[status], backoff_factor=0, respect_retry_after_header=False)
    exc = raised(urllib3.PoolManager(retries=retry).request, "GET", f"{http_base}/{status}")
    assert isinstance(exc, urllib3.exceptions.MaxRetryError)
    assert_code(matcher, exc, code)


# ------------------------------------------------------------------ PostgreSQL: psycopg2 and SQLAlchemy


@pytest.fixture(scope="module")
def pg_up() -> None:
    """The local PostgreSQL must be there (a missing service fails the test, never skips it)."""
    try:
        psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="postgres", connect_timeout=3).close()
    except psycopg2.Error as exc:
        pytest.fail(f"PostgreSQL needed at {PG_HOST}:{PG_PORT}: {exc}")


def test_psycopg2_closed_port(matcher, closed_port):
    exc = raised(psycopg2.connect, host="127.0.0.1", port=closed_port, user=PG_USER, dbname="postgres",
                 connect_timeout=3)
    assert isinstance(exc, psycopg2.OperationalError)
    assert_code(matcher, exc, "INFRA_DB_UNAVAILABLE")


def test_psycopg2_connect_timeout(matcher, unanswered_port):
    exc = raised(psycopg2.connect, host="127.0.0.1", port=unanswered_port, user=PG_USER, dbname="postgres",
                 connect_timeout=2)  # libpq's minimum
    assert isinstance(exc, psycopg2.OperationalError) and "timeout expired" in str(exc)
    assert_code(matcher, exc, "NET_CONNECT_TIMEOUT")  # a timeout is a timeout, whatever it talked to


def test_psycopg2_wrong_database(matcher, pg_up):
    exc = raised(psycopg2.connect, host=PG_HOST, port=PG_PORT, user=PG_USER, dbname="failcat_no_such_db_x")
    assert isinstance(exc, psycopg2.OperationalError) and "does not exist" in str(exc)
    assert_code(matcher, exc, "INFRA_DB_NOT_FOUND")


def test_psycopg2_unknown_role(matcher, pg_up):
    exc = raised(psycopg2.connect, host=PG_HOST, port=PG_PORT, user="failcat_no_such_role", dbname="postgres")
    assert isinstance(exc, psycopg2.OperationalError)
    assert_code(matcher, exc, "AUTH_DB_LOGIN_FAILED")


def test_psycopg2_unresolvable_host(matcher):
    exc = raised(psycopg2.connect, host="db.failcat.invalid", user=PG_USER, dbname="postgres", connect_timeout=3)
    assert isinstance(exc, psycopg2.OperationalError)
    assert_code(matcher, exc, "NET_DNS_RESOLUTION")


def test_sqlalchemy_operational_errors(matcher, pg_up, closed_port, tmp_path):
    down = sa.create_engine(f"postgresql+psycopg2://{PG_USER}@127.0.0.1:{closed_port}/postgres")
    wrong_db = sa.create_engine(f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/failcat_no_such_db_x")
    no_dir = sa.create_engine(f"sqlite:///{tmp_path}/missing/dir/x.db")
    try:
        for engine, code in ((down, "INFRA_DB_UNAVAILABLE"), (wrong_db, "INFRA_DB_NOT_FOUND"),
                             (no_dir, "INFRA_DB_NOT_FOUND")):
            exc = raised(engine.connect)
            assert isinstance(exc, sa.exc.OperationalError)
            assert_code(matcher, exc, code)
    finally:
        for engine in (down, wrong_db, no_dir):
            engine.dispose()


def test_sqlalchemy_statement_errors(matcher, pg_up):
    engine = sa.create_engine(f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres")
    try:
        with engine.connect() as conn:
            exc = raised(conn.execute, sa.text("select * from failcat_no_such_table"))
            assert isinstance(exc, sa.exc.ProgrammingError)
            assert_code(matcher, exc, "INFRA_DB_SCHEMA_MISMATCH")
        with engine.connect() as conn:
            conn.execute(sa.text("set statement_timeout = 20"))
            exc = raised(conn.execute, sa.text("select pg_sleep(2)"))
            assert isinstance(exc, sa.exc.OperationalError)
            assert_code(matcher, exc, "INFRA_DB_STATEMENT_TIMEOUT")
        with engine.connect() as conn:
            conn.execute(sa.text("create temp table failcat_t (id int primary key)"))
            conn.execute(sa.text("insert into failcat_t values (1)"))
            exc = raised(conn.execute, sa.text("insert into failcat_t values (1)"))
            assert isinstance(exc, sa.exc.IntegrityError)
            assert_code(matcher, exc, "DATA_CONSTRAINT_VIOLATION")
    finally:
        engine.dispose()


def test_sqlalchemy_pool_exhausted(matcher, pg_up):
    engine = sa.create_engine(f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/postgres",
                              pool_size=1, max_overflow=0, pool_timeout=0.1)
    try:
        with engine.connect():
            exc = raised(engine.connect)
        assert isinstance(exc, sa.exc.TimeoutError)
        assert_code(matcher, exc, "RES_POOL_EXHAUSTED")
    finally:
        engine.dispose()


def test_sqlite_missing_table_and_unique(matcher, tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path}/x.db")
    try:
        with engine.connect() as conn:
            exc = raised(conn.execute, sa.text("select * from nope"))
            assert_code(matcher, exc, "INFRA_DB_SCHEMA_MISMATCH")
            conn.execute(sa.text("create table t (id integer primary key)"))
            conn.execute(sa.text("insert into t values (1)"))
            exc = raised(conn.execute, sa.text("insert into t values (1)"))
            assert_code(matcher, exc, "DATA_CONSTRAINT_VIOLATION")
    finally:
        engine.dispose()


# ------------------------------------------------------------------ boto3 / botocore


def _s3(endpoint: str, read_timeout: float = 0.5):
    config = botocore.config.Config(retries={"max_attempts": 0, "mode": "standard"}, connect_timeout=1,
                                    read_timeout=read_timeout)
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="test",
                        aws_secret_access_key="test", config=config)


def test_botocore_closed_endpoint(matcher, closed_port):
    exc = raised(_s3(f"http://127.0.0.1:{closed_port}").list_buckets)
    assert type(exc).__name__ == "EndpointConnectionError"
    assert "Could not connect to the endpoint URL" in str(exc)
    assert_code(matcher, exc, "INFRA_OBJECT_STORE_UNREACHABLE")


def test_botocore_read_timeout(matcher, http_base):
    exc = raised(_s3(f"{http_base}/stall").list_buckets)
    assert type(exc).__name__ == "ReadTimeoutError"
    assert_code(matcher, exc, "NET_READ_TIMEOUT")


@pytest.mark.s3
def test_botocore_no_such_bucket_from_moto(matcher):
    from moto.server import ThreadedMotoServer

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        exc = raised(_s3(f"http://127.0.0.1:{port}", read_timeout=20).get_object, Bucket="failcat-nope", Key="k.json")
        assert type(exc).__name__ == "NoSuchBucket"
        assert_code(matcher, exc, "DATA_OBJECT_NOT_FOUND")
    finally:
        server.stop()


# ------------------------------------------------------------------ operating system


def _in_child(code: str) -> str:
    """Run `code` in a forked child (as `nobody` when we are root) and return what it raised."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never return into pytest
        os.close(read_fd)
        try:
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            exec(code, {"os": os, "resource": resource})  # noqa: S102 - fixed test snippets only
            result = "no exception"
        except BaseException as exc:  # noqa: BLE001
            result = f"{type(exc).__name__}\n{type(exc).__name__}: {exc}"
        os.write(write_fd, result.encode())
        os._exit(0)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 4096):
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    return b"".join(chunks).decode()


def test_permission_denied_eacces(matcher, tmp_path):
    # Root ignores file modes, so the open runs in a child that dropped to `nobody`.
    secret = tmp_path / "secret.txt"
    secret.write_text("x")
    secret.chmod(0o600)
    tmp_path.chmod(0o755)
    kind, _, text = _in_child(f"open({str(secret)!r}).read()").partition("\n")
    assert kind == "PermissionError" and "[Errno 13]" in text, text
    assert code_for(matcher, text) == "PERM_FILE_ACCESS"
    assert code_for(matcher, text.split(": ", 1)[1]) == "PERM_FILE_ACCESS"


def test_operation_not_permitted_eperm(matcher):
    kind, _, text = _in_child("os.kill(1, 0)").partition("\n")
    if os.geteuid() != 0 and kind == "no exception":
        pytest.fail("expected EPERM signalling pid 1 as an unprivileged user")
    assert kind == "PermissionError" and "[Errno 1]" in text, text
    assert code_for(matcher, text) == "PERM_FILE_ACCESS"


def test_too_many_open_files(matcher):
    kind, _, text = _in_child(
        "resource.setrlimit(resource.RLIMIT_NOFILE, (32, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))\n"
        "files = [open('/dev/null') for _ in range(64)]"
    ).partition("\n")
    assert kind == "OSError" and "[Errno 24]" in text, text
    assert code_for(matcher, text) == "RES_TOO_MANY_OPEN_FILES"


def test_disk_full_enospc(matcher):
    def write_dev_full() -> None:
        with open("/dev/full", "w") as f:
            f.write("x")
            f.flush()

    exc = raised(write_dev_full)
    assert isinstance(exc, OSError) and exc.errno == 28
    assert_code(matcher, exc, "RES_DISK_FULL")


def test_file_not_found(matcher, tmp_path):
    exc = raised(open, tmp_path / "nope" / "x.json")
    assert isinstance(exc, FileNotFoundError)
    assert_code(matcher, exc, "DATA_OBJECT_NOT_FOUND")


def test_memory_error(matcher):
    exc = raised(bytearray, 2**62)
    assert isinstance(exc, MemoryError)
    # str(MemoryError()) is empty: only the class name carries the meaning.
    assert_code(matcher, exc, "RES_OUT_OF_MEMORY", bare=False)


def test_recursion_error(matcher):
    def down(n: int) -> int:
        return down(n + 1)

    exc = raised(down, 0)
    assert_code(matcher, exc, "RES_RECURSION_DEPTH")


def test_subprocess_non_zero_exit(matcher):
    exc = raised(subprocess.run, [sys.executable, "-c", "raise SystemExit(3)"], check=True)
    assert isinstance(exc, subprocess.CalledProcessError)
    assert_code(matcher, exc, "TOOL_SUBPROCESS_FAILED")


# ------------------------------------------------------------------ data and validation


@pytest.mark.parametrize("text", ['{"a": 1,', "", '{"a" 1}', '{"a": "b"} x', '["unterminated'])
def test_json_decode_errors(matcher, text):
    exc = raised(json.loads, text)
    assert isinstance(exc, json.JSONDecodeError)
    assert_code(matcher, exc, "DATA_JSON_DECODE")


def test_key_error(matcher):
    exc = raised(lambda: {"id": 1}["choices"])
    # str(KeyError) is just the quoted key; the class name is what identifies it.
    assert_code(matcher, exc, "DATA_MISSING_KEY", bare=False)


def test_unicode_decode_error(matcher):
    exc = raised(b"caf\xe9 \xff".decode, "utf-8")
    assert_code(matcher, exc, "DATA_ENCODING")


def test_yaml_parse_error(matcher):
    exc = raised(yaml.safe_load, "a: [1,\nb: }")
    assert isinstance(exc, yaml.YAMLError)
    assert_code(matcher, exc, "DATA_PARSE_ERROR")


def test_int_parse_error(matcher):
    exc = raised(int, "12abc")
    assert_code(matcher, exc, "DATA_PARSE_ERROR")


def test_pydantic_validation_error(matcher):
    from pydantic import BaseModel

    class Order(BaseModel):
        id: int
        qty: int

    exc = raised(Order.model_validate, {"id": "x"})
    assert_code(matcher, exc, "VAL_MODEL_VALIDATION")


def test_jsonschema_validation_error(matcher):
    import jsonschema

    exc = raised(jsonschema.validate, {"b": 1}, {"type": "object", "required": ["a"]})
    assert_code(matcher, exc, "VAL_SCHEMA_VIOLATION")


# ------------------------------------------------------------------ LITERAL SAMPLES
# We cannot call the OpenAI / Anthropic APIs or AWS from the tests. These are the texts their SDKs
# print (str(exc) of openai.*Error / anthropic.*Error is "Error code: <status> - <body>"), copied
# from the SDKs' documented error bodies. They are samples, not provoked failures.

LITERAL_SAMPLES = [
    ("RateLimitError", "Error code: 429 - {'error': {'message': 'Rate limit reached for gpt-4o in organization "
     "org-abc123 on tokens per min (TPM): Limit 30000, Used 29000, Requested 2000. Please try again in 2s.', "
     "'type': 'tokens', 'param': None, 'code': 'rate_limit_exceeded'}}", "RATE_LIMIT_HTTP_429"),
    ("RateLimitError", "Error code: 429 - {'error': {'message': 'You exceeded your current quota, please check "
     "your plan and billing details.', 'type': 'insufficient_quota', 'param': None, 'code': "
     "'insufficient_quota'}}", "RATE_LIMIT_QUOTA_EXCEEDED"),
    ("BadRequestError", "Error code: 400 - {'error': {'message': \"This model's maximum context length is 128000 "
     "tokens. However, your messages resulted in 130532 tokens. Please reduce the length of the messages.\", "
     "'type': 'invalid_request_error', 'param': 'messages', 'code': 'context_length_exceeded'}}",
     "LLM_CONTEXT_LENGTH_EXCEEDED"),
    ("BadRequestError", "Error code: 400 - {'error': {'message': \"The response was filtered due to the prompt "
     "triggering Azure OpenAI's content management policy.\", 'type': None, 'param': 'prompt', 'code': "
     "'content_filter', 'status': 400}}", "LLM_CONTENT_FILTER"),
    ("AuthenticationError", "Error code: 401 - {'error': {'message': 'Incorrect API key provided: sk-abc***xyz. "
     "You can find your API key at https://platform.openai.com/account/api-keys.', 'type': "
     "'invalid_request_error', 'param': None, 'code': 'invalid_api_key'}}", "AUTH_INVALID_API_KEY"),
    ("NotFoundError", "Error code: 404 - {'error': {'message': 'The model `gpt-9-turbo` does not exist or you do "
     "not have access to it.', 'type': 'invalid_request_error', 'param': None, 'code': 'model_not_found'}}",
     "LLM_MODEL_NOT_FOUND"),
    ("InternalServerError", "Error code: 500 - {'error': {'message': 'The server had an error while processing "
     "your request. Sorry about that!', 'type': 'server_error', 'param': None, 'code': None}}",
     "INFRA_INTERNAL_SERVER_ERROR"),
    ("APIConnectionError", "Connection error.", "NET_CONNECTION_ERROR"),
    ("APITimeoutError", "Request timed out.", "NET_TIMEOUT"),
    ("OverloadedError", "Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error', "
     "'message': 'Overloaded'}}", "LLM_PROVIDER_OVERLOADED"),
    ("RateLimitError", "Error code: 429 - {'type': 'error', 'error': {'type': 'rate_limit_error', 'message': "
     "'Number of request tokens has exceeded your per-minute rate limit'}}", "RATE_LIMIT_HTTP_429"),
    ("BadRequestError", "Error code: 400 - {'type': 'error', 'error': {'type': 'invalid_request_error', "
     "'message': 'prompt is too long: 215000 tokens > 200000 maximum'}}", "LLM_CONTEXT_LENGTH_EXCEEDED"),
    ("AuthenticationError", "Error code: 401 - {'type': 'error', 'error': {'type': 'authentication_error', "
     "'message': 'invalid x-api-key'}}", "AUTH_INVALID_API_KEY"),
    ("BadRequestError", "Error code: 400 - {'type': 'error', 'error': {'type': 'invalid_request_error', "
     "'message': 'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing "
     "to upgrade or purchase credits.'}}", "RATE_LIMIT_QUOTA_EXCEEDED"),
    ("InternalServerError", "Error code: 500 - {'type': 'error', 'error': {'type': 'api_error', 'message': "
     "'Internal server error'}}", "INFRA_INTERNAL_SERVER_ERROR"),
    ("ClientError", "An error occurred (ThrottlingException) when calling the InvokeModel operation (reached max "
     "retries: 4): Too many requests, please wait before trying again.", "RATE_LIMIT_THROTTLED"),
    ("ClientError", "An error occurred (AccessDenied) when calling the GetObject operation: Access Denied",
     "AUTH_FORBIDDEN"),
    ("NoCredentialsError", "Unable to locate credentials", "AUTH_CREDENTIALS_MISSING"),
    ("GraphRecursionError", "Recursion limit of 25 reached without hitting a stop condition. You can increase "
     "the limit by setting the `recursion_limit` config key.", "TOOL_LOOP_LIMIT"),
    ("OutOfMemoryError", "CUDA out of memory. Tried to allocate 20.00 MiB (GPU 0; 15.78 GiB total capacity)",
     "RES_OUT_OF_MEMORY"),
    ("Error", "connect ECONNREFUSED 10.0.0.1:5432", "NET_CONNECTION_REFUSED"),
    ("Error", "getaddrinfo ENOTFOUND api.example.com", "NET_DNS_RESOLUTION"),
    ("Error", "read ECONNRESET", "NET_CONNECTION_RESET"),
    ("ConnectTimeout", "HTTPSConnectionPool(host='api.example.com', port=443): Max retries exceeded with url: "
     "/v1 (Caused by ConnectTimeoutError(<urllib3.connection.HTTPSConnection object at 0x7f3a>, 'Connection to "
     "api.example.com timed out. (connect timeout=5)'))", "NET_CONNECT_TIMEOUT"),
]


@pytest.mark.parametrize(("cls", "text", "code"), LITERAL_SAMPLES, ids=[s[2] + "-" + s[0] for s in LITERAL_SAMPLES])
def test_literal_sdk_samples(matcher, cls, text, code):
    """LITERAL SAMPLES (not provoked): SDK error texts we cannot produce without the real service."""
    assert code_for(matcher, text) == code, text
    assert code_for(matcher, f"{cls}: {text}") == code
