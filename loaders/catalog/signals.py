"""What an error message says, read the way an on-call engineer reads it: the universal signals first.

read_signals() finds, with one Aho-Corasick pass over the lower-cased text and then only the regex probes whose
literal needles that pass saw:
- exception class names and the words they are made of (`ReadTimeout` -> read, timeout);
- status codes: HTTP in any spelling (`429`, `status = 503`, `returned error: 404`, `(403) Forbidden`), gRPC
  (`StatusCode.UNAVAILABLE`, `code = Unavailable`), SQLSTATE and MySQL error numbers, cloud error codes
  (`ThrottlingException`), errno names and numbers, websocket close codes, exit statuses, curl error numbers;
- phrases grouped into concepts (timeout, refused, reset, dns, tls, auth failure, not found, ...) and the kind
  of service the text names (a database, a cache or broker, an object store).
loaders.catalog.meanings turns them into a catalog code; nothing here knows the catalog.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import ahocorasick

# ------------------------------------------------------------------ concepts: phrases, lower case

CONCEPTS: dict[str, tuple[str, ...]] = {
    "timeout": ("timed out", "timeout*", "time out", "timedout", "deadline exceeded", "deadline_exceeded",
                "deadlineexceeded", "etimedout", "took too long", "operation too slow", "time-out", "too slow",
                "did not complete within", "time limit exceeded", "timelimitexceeded*"),
    "connect_phase": ("connect timeout", "connecttimeout*", "connect_timeout", "connection timeout",
                      "connection timed out", "timeout connecting", "connecting to", "connect call",
                      "connection attempt", "dial tcp", "connect timed out", "while connecting", "during connect",
                      "establish a connection", "tcp connection attempt", "timed out connecting", "connect to host",
                      "timeout expired", "timeout was reached", "connecting", "err_connection_timed_out"),
    "read_phase": ("read timeout", "readtimeout*", "read timed out", "timeout on reading", "timeout reading",
                   "reading from", "read error", "awaiting response", "waiting for response", "response timeout",
                   "during query", "banner exchange", "recv*", "receive timeout", "read operation",
                   "timeout while reading", "reading data", "read_timeout", "bytes received", "error reading",
                   "reading ssh", "no response", "response not received", "waiting for the response",
                   "operation too slow", "lost connection to mysql server during query"),
    "refused": ("connection refused", "econnrefused", "[errno 111]", "errno 111", "os error 111", "connect call failed",
                "actively refused", "refused the connection", "connection was refused", "winerror 10061",
                "connectionrefused*", "refused connection", "connection refused by", "err_connection_refused"),
    # A connection that could not be made, the text naming no cause.
    "connect_failed": ("couldn't connect to server", "could not connect", "failed to connect", "cannot connect to host",
                       "unable to connect", "can't connect to", "cannot connect to", "all attempts to connect",
                       "failed to establish a new connection", "could not connect to any", "connect failed",
                       "failed to establish", "could not establish", "error connecting", "unable to establish",
                       "connection attempts failed", "unable to bootstrap", "attempts to connect", "can't contact",
                       "cannot contact", "unable to contact", "could not contact", "can't create a connection",
                       "transport failure"),
    # Vaguer still: a connection failed, made or not.
    "connection_error": ("connection error", "connection failed", "connectionerror", "connecterror",
                         "connection failure"),
    "reset": ("connection reset", "econnreset", "[errno 104]", "os error 104", "broken pipe", "epipe", "[errno 32]",
              "server disconnected", "remotedisconnected", "remote end closed", "connection aborted",
              "connectionaborted*", "peer closed", "closed by peer", "reset by peer", "unexpected eof", "eof occurred",
              "empty reply from server", "transfer closed with", "end of response with", "bytes missing",
              "incompleteread", "incomplete read", "contentlengtherror", "no data received", "socket hang up",
              "abnormal closure", "closed the connection unexpectedly", "stream removed", "goaway",
              "payload is not completed", "server closed the connection", "eoferror", "closed unexpectedly",
              "connection closed by peer", "remote disconnected", "server disconnected without", "socket closed",
              "read 0 bytes", "unexpected close", "transport indicated eof", "stream lost", "streamlost*",
              "no close frame", "did not receive a valid http response", "err_connection_reset",
              "err_connection_closed", "err_empty_response"),
    # Weaker: a closed connection is often how a refusal (auth, not found, policy) arrives, so it decides last.
    "closed": ("connection closed", "connection was closed", "connection lost", "lost connection", "connectionclosed*",
               "stream closed", "streamclosed*"),
    "dns": ("name or service not known", "nodename nor servname", "temporary failure in name resolution",
            "no such host", "find the server at", "name does not resolve", "nxdomain", "enotfound", "eai_again",
            "eai_noname", "failed to resolve", "unknown host", "unknownhost*", "name resolution", "getaddrinfo",
            "[errno -2]", "[errno -3]", "[errno -5]", "resolve host", "no address associated with hostname",
            "server misbehaving", "dns lookup", "dns resolution", "gaierror", "errors resolving", "error resolving",
            "domain name not found", "hostname lookup", "address lookup failed", "could not resolve host",
            "couldn't resolve host", "could not resolve hostname", "could not resolve address",
            "unable to resolve host", "cannot resolve host", "unable to resolve the host", "could not resolve the host",
            "cannot resolve hostname", "could not resolve dns", "err_name_not_resolved", "err_name_resolution_failed"),
    "unreachable": ("no route to host", "ehostunreach", "enetunreach", "network is unreachable", "host is unreachable",
                    "[errno 113]", "[errno 101]", "network unreachable", "host unreachable", "err_address_unreachable"),
    "tls": ("ssl", "tls", "certificate", "certificates", "x509", "handshake fail*", "self-signed", "self signed",
            "pkix", "wrong version number", "protocol version", "starttls", "hostname mismatch", "unknown ca",
            "bad certificate", "local issuer", "not trusted", "verify failed", "certificate_verify_failed", "sslerror",
            "ssl handshake", "tls handshake", "sslcertverificationerror", "sslhandshakeexception", "ssl_error",
            "does not match hostname", "doesn't match hostname", "does not match host name", "unknown authority",
            "does not support ssl", "ssl was required", "cert verify", "tlsv1", "ssleoferror", "_ssl.c",
            "eof occurred in violation of protocol", "certification path"),
    "host_key": ("host key verification failed", "remote host identification has changed", "host key for",
                 "not found in known_hosts", "badhostkey*", "unknown host key", "server host key", "host key",
                 "hostkey*", "known_hosts"),
    "proxy": ("proxyerror", "proxy error", "proxy authentication", "tunnel connection failed", "connect to proxy",
              "proxy server", "via proxy", "cannot connect to proxy", "proxy refused", "unable to connect to proxy"),
    "cancelled": ("cancelled", "canceled", "cancellederror", "keyboardinterrupt", "interrupted", "cancellation",
                  "locally cancelled", "context canceled", "aborted by user",
                  "canceling statement due to user request"),
    "retries": ("max retries exceeded", "retries exhausted", "retryerror", "giving up", "too many retries",
                "maximum retries", "retry limit", "exhausted retries", "exceeded maximum number of retries",
                "retries exceeded", "after all retries", "retry attempts", "max retries"),
    "login_failed": ("authentication failed", "authentication failure", "auth failed", "login failed",
                     "login incorrect", "login was refused", "invalid username", "invalid password", "wrong password",
                     "wrongpass", "bad user name or password", "bad username or password", "invalid credentials",
                     "incorrect username or password", "authorization violation", "access denied for user",
                     "password authentication failed", "permission denied (publickey", "authenticationexception",
                     "unable to authenticate", "credentials invalid", "not authorized",
                     "invalid authentication credentials", "username-password pair", "login denied",
                     "authentication credentials invalid", "auth_failed", "bad credentials", "invalid login",
                     "incorrect password", "authentication unsuccessful", "invalidcredentials", "sasl authentication",
                     "authentication error", "probableauthenticationerror", "permission denied for user",
                     "invalid user", "no supported authentication methods", "user is disabled", "login refused",
                     "not logged in", "authenticationerror", "not authorised"),
    "api_key": ("api key", "api_key", "apikey", "x-api-key", "api-key", "invalid_api_key", "incorrect api key",
                "api keys", "api token", "api_token"),
    "token_expired": ("token expired", "token has expired", "expired token", "expiredtoken", "jwt expired",
                      "token is expired", "session expired", "signature has expired", "expired_token", "token_expired",
                      "credentials have expired", "token expiry", "expiredtokenexception",
                      "security token included in the request is expired", "access token expired", "has expired",
                      "not valid in the specified time frame"),
    "creds_missing": ("no credentials", "unable to locate credentials", "credentials not found", "missing credentials",
                      "could not find default credentials", "nocredentials*", "missing api key", "no api key",
                      "api key not provided", "authentication required", "not authenticated", "invalidaccesskeyid",
                      "signaturedoesnotmatch", "invalidclienttokenid", "unrecognizedclient*",
                      "missingauthenticationtoken", "missing authorization", "credentials were not provided",
                      "no auth credentials", "defaultcredentialserror", "credentials are required", "must authenticate",
                      "authentication is required", "login required", "could not read username",
                      "could not read password", "terminal prompts disabled", "noauth", "authorization header is",
                      "failed to authenticate", "value of authorization header", "must be authenticated", "no token",
                      "missing token", "the security token included in the request is invalid",
                      "no authentication methods available", "credentialunavailable*", "authentication unavailable",
                      "failed to retrieve a token", "no credential", "credentials are not configured",
                      "not fully configured", "no secret key", "no active account", "active account selected",
                      "obtain new credentials"),
    "unauthorized": ("unauthorized", "unauthenticated", "not_authenticated"),
    "forbidden": ("forbidden", "permission denied", "permission_denied", "permissiondenied", "access denied",
                  "accessdenied*", "access_denied", "not allowed to", "not permitted", "insufficient permission*",
                  "lacks permission", "does not have permission", "not authorized to perform!", "access_refused",
                  "no permissions", "no permission", "insufficient privilege*", "access refused", "not_allowed",
                  "noperm", "requires authorization", "authorization failed", "accessdeniedexception",
                  "not authorized to!", "refused for user", "not enough privileges", "permission_error"),
    "rate": ("too many requests", "rate limit", "ratelimit*", "rate_limit", "rate exceeded", "throttl*", "slowdown",
             "slow down", "requestlimitexceeded", "toomanyrequests*", "request limit", "rate-limit", "requests per",
             "tokens per min"),
    "quota": ("quota", "quotas", "insufficient_quota", "credit balance", "out of credits", "billing hard limit",
              "credit limit", "insufficient credit", "insufficient_credit", "out of credit"),
    "not_found": ("not found", "notfound", "no such", "nosuch*", "does not exist", "doesn't exist", "not exist",
                  "could not find", "couldn't find", "cannot find", "can't find", "unable to find", "no matching",
                  "unknown database", "enoent", "not_found", "no longer exists", "was not found", "not be found",
                  "unknown queue", "unknown topic", "unknown revision", "not in the working tree", "couldn't open file",
                  "could not open file", "unknown bucket", "does not exists", "user unknown", "did not match any",
                  "no row was found", "noresultfound", "no files found", "no file found",
                  "does not exist or not authorized"),
    "conflict": ("conflict", "conflicts", "already exists", "alreadyexists", "already_exists", "precondition failed",
                 "precondition_failed", "conditionalcheckfailed*", "concurrent modification", "[rejected]",
                 "updates were rejected", "non-fast-forward", "modified since", "stale", "busygroup", "already in use",
                 "is locked by", "failed to push", "merge conflict", "staledata*", "fetch first", "file exists"),
    "unavailable": ("unavailable", "temporarily unavailable", "not available", "maintenance", "draining",
                    "server is busy", "serverbusy", "service restart", "going away", "no responders", "shutting down",
                    "try again later", "no servers available", "no healthy upstream", "unable to handle request",
                    "no responders"),
    "payload": ("too large", "toolarge*", "entity too large", "exceeds the maximum", "maximum payload",
                "message too big", "size exceeds", "too big", "request_too_large", "max_message_size", "message size",
                "payload", "exceeds limit", "exceeds fixed limit", "larger than max", "message larger than",
                "maxpayload*", "entitytoolarge"),
    "exec_missing": ("command not found", "not found in $path", "executable file not found", "exit status 127",
                     "exit code 127", "returned non-zero exit status 127", "is not recognized as an internal",
                     "cannot run program", "executable not found", "program not found", "not in $path", "error 127"),
    "exec_context": ("subprocess", "popen", "spawn", "spawnsync", "env:", "sh:", "bash:", "/bin/", "cannot run",
                     "`system'", "`spawn'", "`exec'", "make:", "execvp", "execv", "child_process", "createprocess",
                     "exec:"),
    "subprocess": ("exit status", "exit code", "exited with", "non-zero exit", "returned non-zero", "command failed",
                   "calledprocesserror", "process exited", "processerror", "exit_status", "exitcode", "return code",
                   "returncode", "fatal:", "make: ***", "npm error", "npm err!"),
    "tool_timeout": ("timeoutexpired", "timeout: sending signal", "command timed out", "process timed out",
                     "killed after", "subprocess timed out", "tool timed out"),
    "command_words": ("command '", "command ‘", "command [", "subprocess", "process ", "tool "),
    "statement": ("statement timeout", "canceling statement due to statement timeout", "query timeout",
                  "max_execution_time", "maximum statement execution time", "statement_timeout",
                  "query execution was interrupted", "statement timed out", "max_statement_time",
                  "statement time exceeded", "max_execution_time exceeded", "execution timeout expired"),
    "lock": ("deadlock", "deadlocked", "lock wait timeout", "lock timeout", "lock_timeout", "could not serialize",
             "serialization failure", "could not obtain lock", "lock not available", "database is locked",
             "deadlockdetected", "serializationfailure"),
    "wrong_type": ("wrongtype", "wrong kind of value", "invalid input syntax for type", "incorrect integer value",
                   "datatype mismatch", "cannot be interpreted as an integer", "not an integer", "cannot store",
                   "type mismatch", "wrong type", "invalidtextrepresentation", "cannot cast", "incorrect decimal",
                   "incorrect datetime value", "incorrect string value", "invalid input for query argument",
                   "data type mismatch", "not a valid integer", "cannot apply", "expected a number",
                   "invalid input value", "is not an integer or out of range", "not an integer or out of range",
                   "conversion error", "could not convert", "cannot convert", "non-numeric value",
                   "not json serializable", "cannot index", "cannot be added"),
    "constraint": ("violates unique", "violates foreign key", "violates not-null", "violates check",
                   "violates exclusion", "unique constraint", "foreign key", "not-null", "not null constraint",
                   "integrityerror", "uniqueviolation", "duplicate entry", "check constraint", "constraint failed",
                   "duplicatekey*", "e11000", "foreignkeyviolation", "notnullviolation", "duplicate key value",
                   "e11000 duplicate key"),
    "schema": ("no such table", "no such column", "undefined table", "undefinedtable", "undefined column",
               "undefinedcolumn", 'relation "', "unknown column", "table doesn't exist", 'column "', "has no column",
               "does not have a column", "no such collection", "undefinedfunction", "table with name",
               "catalog error: table", "unknown table"),
    "db_missing": ('database "', "unknown database", "database does not exist", "invalidcatalogname",
                   "unable to open database", "database not found", "no such database"),
    "pool": ("too many connections", "remaining connection slots", "connection pool", "pool exhausted",
             "queuepool limit", "no connection available", "too many clients", "pool timeout", "waiting for connection",
             "connection limit", "max_connections", "pool is exhausted", "max number of clients",
             "max_user_connections", "maxclients*", "connection is not available"),
    "internal": ("internal server error", "internal error", "internal_error", "internalerror", "internalfailure",
                 "server error", "exception calling application", "unexpected server error", "internalservererror",
                 "server was unable to process", "server failed to process", "unable to process the request",
                 "failed to process the request"),
    "bad_gateway": ("bad gateway", "bad_gateway", "badgateway", "upstream connect error"),
    "gateway_timeout": ("gateway timeout", "gateway time-out", "gatewaytimeout", "gateway_timeout"),
    "not_implemented": ("not implemented", "unimplemented", "notimplemented", "unknown method", "unknown_method",
                        "method not found", "no such method", "method not implemented", "unknown function",
                        "unknown command"),
    "redirects": ("too many redirects", "redirect loop", "maximum redirects", "toomanyredirects", "redirects exceeded",
                  "redirected too many", "redirects followed", "exceeded 30 redirects", "redirectlimit*",
                  "redirected more times", "redirection limit", "redirection_limit"),
    "bad_request": ("bad request", "badrequest", "bad_request", "invalid request", "invalid_request", "malformed",
                    "invalid argument", "invalid_argument", "invalidargument", "validationexception",
                    "invalid parameter", "invalidparameter*", "out of range", "out_of_range", "cannot query field",
                    "graphql_validation_failed"),
    "unprocessable": ("unprocessable", "unprocessable_entity", "unprocessable entity", "httpvalidationerror"),
    "file_perm": ("[errno 13]", "eacces", "eperm", "[errno 1]", "operation not permitted", "read-only file system",
                  "erofs", "[errno 30]", "permissionerror", "os error 13", "kind: permissiondenied"),
    "model": ("model", "models", "model_not_found", "invalid_model"),
}

# The kind of service a text names: a refusal or outage of a database is "database unavailable".
SERVICES: dict[str, tuple[str, ...]] = {
    "db": ("postgres*", "psql", "psycopg*", "asyncpg", "libpq", "mysql*", "mariadb", "pymysql", "sqlite*", "database",
           "mongodb", "pymongo", "mongo*", "sqlalchemy", "oracle", "mssql", "odbc", "cockroach*", "clickhouse",
           "cassandra", 'server at "', "pg_hba", "sqlstate", "sockettimeoutms", "connecttimeoutms",
           "serverselectiontimeout*", "topology description", "topologydescription", "neo4j", "bolt", "duckdb",
           "pg8000", "aiomysql", "aiosqlite", "peewee", "tortoise", "motor", "couchdb", "dynamodb", "firestore",
           "cockroachdb", "snowflake", "bigquery", "redshift", "elasticsearch", "opensearch", "solr"),
    "cache": ("redis*", "memcache*", "rabbitmq", "amqp*", "pika", "kafka*", "nats", "mqtt", "paho", "broker", "celery",
              "zookeeper", "activemq", "zeromq", "valkey", "elasticache", "aio_pika", "kombu", "rdkafka", "librdkafka",
              "memcached", "coredis", "pylibmc", "aiomcache", "mosquitto", "sqs", "pubsub", "kinesis", "pulsar"),
    "store": ("s3", "bucket", "r2.", "blob storage", "gcs", "minio", "object store", "objectstore"),
    "llm": ("openai", "anthropic", "claude", "gpt-", "completion*", "llm", "gemini", "mistral", "cohere", "bedrock",
            "tokens", "groq", "together", "fireworks", "ollama", "replicate", "voyage*", "huggingface", "perplexity",
            "deepseek", "openrouter", "vertexai", "litellm", "llama", "embedding*", "inference", "chat/completions"),
}

# ------------------------------------------------------------------ structured codes

HTTP_REASONS = {
    400: "bad request", 401: "unauthorized", 402: "payment required", 403: "forbidden", 404: "not found",
    405: "method not allowed", 406: "not acceptable", 407: "proxy authentication", 408: "request timeout",
    409: "conflict", 410: "gone", 411: "length required", 412: "precondition failed", 413: "too large",
    414: "uri too long", 415: "unsupported media type", 416: "range not satisfiable", 417: "expectation failed",
    418: "teapot", 421: "misdirected", 422: "unprocessable", 423: "locked", 424: "failed dependency",
    425: "too early", 426: "upgrade required", 428: "precondition required", 429: "too many requests",
    431: "header fields too large", 451: "unavailable for legal reasons", 500: "internal server error",
    501: "not implemented", 502: "bad gateway", 503: "service unavailable", 504: "gateway timeout",
    505: "http version", 507: "insufficient storage", 508: "loop detected", 511: "network authentication",
    529: "overloaded",
}
GRPC = ("OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
        "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED")
_GRPC_BY_SQUASHED = {g.replace("_", "").lower(): g for g in GRPC}
ERRNO_NUMBERS = {1: "EPERM", 2: "ENOENT", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES", 17: "EEXIST", 24: "EMFILE",
                 28: "ENOSPC", 30: "EROFS", 32: "EPIPE", 98: "EADDRINUSE", 101: "ENETUNREACH", 104: "ECONNRESET",
                 110: "ETIMEDOUT", 111: "ECONNREFUSED", 113: "EHOSTUNREACH", -2: "EAI_NONAME", -3: "EAI_AGAIN",
                 -5: "EAI_NODATA", 10054: "ECONNRESET", 10060: "ETIMEDOUT", 10061: "ECONNREFUSED"}

_CLASS_SUFFIX = (r"Error|Exception|Timeout|TimedOut|Refused|Denied|NotFound|Exceeded|Cancelled|Canceled|Interrupt"
                 r"|Expired|Conflict|Unavailable|Failure|Failed|Fault|Rejected|Violation|Disconnected|Closed"
                 r"|Exhausted|Full|Warning|Abort|Aborted")
_GRPC_BARE = ("CANCELLED", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
              "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "OUT_OF_RANGE", "UNIMPLEMENTED",
              "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED")
_ERRNO_NAMES = ("ECONNREFUSED", "ECONNRESET", "ECONNABORTED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOENT",
                "EACCES", "EPERM", "ENOSPC", "EMFILE", "ENFILE", "EPIPE", "EAGAIN", "ENOTFOUND", "EAI_AGAIN",
                "EAI_NONAME", "EEXIST", "EROFS", "ENOMEM", "EADDRINUSE")


def _probe(pattern: str, *needles: str) -> tuple[tuple[str, ...], re.Pattern[str]]:
    """A regex run only when one of the needles occurs in the text (found case-blind, at the start of a word
    when the needle starts with a letter or digit); no needles = always. Separate regexes, most starting
    with a literal, are far cheaper than one alternation of them all."""
    return needles, re.compile(pattern)


# Each named group is one kind of evidence (see _scan_structured).
_PROBES = (
    _probe(r"(?P<short>[A-Z][A-Za-z0-9]*(?:" + _CLASS_SUFFIX + r")[A-Za-z0-9]*)\b"),
    _probe(r"(?P<s1>[1-5]\d\d)\s+(?:Client|Server)\s+Error\b", "Client", "Server"),
    _probe(r"HTTP(?:\s+Error|/\d(?:\.\d)?)\s*:?\s*(?P<s2>[1-5]\d\d)\b", "HTTP"),
    _probe(r"returned\s+(?:error|status|HTTP)(?:\s+code)?:?\s*(?P<s3>[1-5]\d\d)\b", "returned"),
    _probe(r"\b(?:status(?:[ _]?code)?|http[ _]?status|Status|statusCode|StatusCode|code)[\"']?\s*[:=]\s*[\"']?"
           r"(?P<s4>[1-5]\d\d)\b", "status", "code"),
    _probe(r"\b(?<!exit )(?:Error code|error code|Status|status)\s+(?P<s5>[1-5]\d\d)\b", "code ", "status "),
    _probe(r"code E(?P<s7>[45]\d\d)\b", "code E"),
    _probe(r"too many (?P<s8>[45]\d\d) error responses\b", "error responses"),
    _probe(r"HTTP (?P<s9>[1-5]\d\d)\b", "HTTP "),
    _probe(r"(?:Error|Exception)\((?P<s10>[45]\d\d),", "(4", "(5"),
    _probe(r"(?P<s6>\b[45]\d\d)(?:,\s*message=|\s*-\s*\{|\s+(?:GET|POST|PUT|PATCH|DELETE|HEAD)\s)",
           "message=", " - {", " -{", "GET ", "POST ", "PUT ", "PATCH ", "DELETE ", "HEAD "),
    _probe(r"(?P<sr>\b[45]\d\d)[\s,:'\"-]{1,3}(?P<reason>[A-Za-z][A-Za-z _-]{2,40})", "4", "5"),
    _probe(r"StatusCode\.(?P<g1>[A-Z_]+)", "StatusCode."),
    _probe(r"code\s*=\s*(?P<g2>[A-Z][A-Za-z]+)\b", "code"),
    _probe(r"\b(?P<g3>" + "|".join(_GRPC_BARE) + r")\b", *_GRPC_BARE),
    _probe(r"\[(?:Errno|WinError)\s+(?P<errno>-?\d+)\]", "[Errno", "[WinError"),
    _probe(r"os error (?P<oserr>\d+)", "os error"),
    _probe(r"errno:?\s*(?P<errno2>-?\d+)", "errno"),
    _probe(r"\b(?P<ename>" + "|".join(_ERRNO_NAMES) + r")\b", *_ERRNO_NAMES),
    _probe(r"(?:SQLSTATE|sqlstate|pgcode|SQL state)[\s\[:=]*\"?(?P<sqlstate>[0-9A-Z]{5})\b",
           "sqlstate", "pgcode", "sql state"),
    _probe(r"\((?P<mysql>[12]\d{3}),\s*[\"']", "(1", "(2"),
    _probe(r"ERROR (?P<mysql2>[12]\d{3}) \(", "ERROR "),
    _probe(r"\((?P<cloud1>[A-Z][A-Za-z]+)\) when calling", ") when calling"),
    _probe(r"<Code>(?P<cloud2>[A-Za-z]+)</Code>", "<Code>"),
    _probe(r"ErrorCode:\s*(?P<cloud3>\w+)", "ErrorCode:"),
    _probe(r"\bcode: (?P<cloud4>[A-Z][a-z]+[A-Z][A-Za-z]+)\b", "code: "),
    _probe(r"received (?P<ws>[14]\d{3}) \(", "received "),
    _probe(r"close code[:= ]+(?P<ws2>[14]\d{3})", "close code"),
    _probe(r"exit (?:status|code)[:=]? ?(?P<exit>-?\d+)", "exit "),
    _probe(r"exit_status[:=]? ?(?P<exit2>-?\d+)", "exit_status"),
    _probe(r"returned non-zero exit status (?P<exit3>-?\d+)", "non-zero exit"),
    _probe(r"Error (?P<exit4>\d+)\b(?= \(exit status|$)", "Error "),
    _probe(r"curl: \((?P<curl>\d+)\)", "curl: ("),
    _probe(r"error: \((?P<curl2>\d+), '", "error: ("),
    _probe(r"pycurl\.error: \((?P<curl3>\d+),", "pycurl"),
)
_QUALIFIER = re.compile(r"(?:[a-z_][\w]*\.)+$")




_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


@dataclass(frozen=True)
class _Key:
    """What one phrase or needle found in the text stands for."""

    concepts: frozenset[str]
    services: frozenset[str]
    probes: frozenset[int]


def _scanner() -> tuple[Any, dict[str, _Key]]:
    """One automaton over the lower-cased text (Aho-Corasick) finding, in one pass, the concept phrases (as whole
    words; a trailing * lets a word continue), the service names and the needles that say which structured probes
    are worth running; and what each found key stands for. A key holding another stands for its meanings too,
    unless it ends with ! ("not authorized to" is a permission, not the login refusal "not authorized" is)."""
    concepts: dict[str, set[str]] = {}
    services: dict[str, set[str]] = {}
    probes: dict[str, set[int]] = {}
    open_ended: set[str] = set()
    exclusive = {p.rstrip("!") for phrases in CONCEPTS.values() for p in phrases if p.endswith("!")}

    def key_of(raw: str, *, opened: bool = False) -> str:
        key = raw.rstrip("!*")
        for table in (concepts, services, probes):
            table.setdefault(key, set())
        if opened or raw.endswith("*"):
            open_ended.add(key)
        return key

    for concept, phrases in CONCEPTS.items():
        for phrase in phrases:
            concepts[key_of(phrase)].add(concept)
    for kind, names in SERVICES.items():
        for name in names:
            services[key_of(name)].add(kind)
    for index, (needles, _regex) in enumerate(_PROBES):
        for needle in needles:
            probes[key_of(needle.lower(), opened=True)].add(index)
    for longer in concepts:
        if longer in exclusive:
            continue
        for shorter in concepts:
            if shorter != longer and shorter in longer:
                concepts[longer] |= concepts[shorter]
                services[longer] |= services[shorter]
                probes[longer] |= probes[shorter]
    keys = {k: _Key(frozenset(concepts[k]), frozenset(services[k]), frozenset(probes[k])) for k in concepts}
    automaton = ahocorasick.Automaton()
    for k in keys:
        # (key, length, must start a word, must end a word)
        automaton.add_word(k, (k, len(k), k[0].isalnum(), k[-1].isalnum() and k not in open_ended))
    automaton.make_automaton()
    return automaton, keys


_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")


def _found_keys(low: str) -> set[str]:
    """The keys in a lower-cased text: at each position the longest one whose word boundaries hold, so a key
    inside a longer one found there ("not authorized" in "not authorized to") does not count on its own."""
    best: dict[int, str] = {}
    n = len(low)
    for end, (key, length, starts_word, ends_word) in _SCAN.iter(low):
        start = end - length + 1
        if starts_word and start and low[start - 1] in _WORD_CHARS:
            continue
        if ends_word and end + 1 < n and low[end + 1] in _WORD_CHARS:
            continue
        held = best.get(start)
        if held is None or len(held) < length:
            best[start] = key
    return set(best.values())


_ALWAYS = frozenset(i for i, (needles, _) in enumerate(_PROBES) if not needles)
_SCAN, _KEYS = _scanner()


@dataclass
class Signals:
    """Everything read off one message (see the module docstring)."""

    text: str
    low: str
    concepts: set[str] = field(default_factory=set)
    phrases: set[str] = field(default_factory=set)
    services: set[str] = field(default_factory=set)
    classes: list[str] = field(default_factory=list)
    qualified: list[str] = field(default_factory=list)  # the classes with their module path, as written
    class_words: set[str] = field(default_factory=set)
    text_concepts: set[str] = field(default_factory=set)  # concepts the text says in words, not in class names
    status: int | None = None
    status_reasoned: bool = False  # the number came with its reason phrase or an HTTP spelling
    grpc: str | None = None
    errnos: set[str] = field(default_factory=set)
    sqlstate: str | None = None
    mysql: int | None = None
    cloud: str | None = None
    ws_close: int | None = None
    exit_status: int | None = None
    curl: int | None = None

    def has(self, *concepts: str) -> bool:
        """True when any of the concepts was found."""
        return not self.concepts.isdisjoint(concepts)

    def service(self) -> str | None:
        """The kind of service named: db, cache (caches and brokers), store, or None."""
        for kind in ("db", "cache", "store"):
            if kind in self.services:
                return kind
        return None


def _status(sig: Signals, value: str, reasoned: bool) -> None:
    code = int(value)
    if not 400 <= code <= 599:
        return  # only error statuses are evidence ("exit status 128" is not an HTTP status)
    if sig.status is None or (reasoned and not sig.status_reasoned):
        sig.status, sig.status_reasoned = code, reasoned


def read_signals(text: str) -> Signals:
    """The signals of one message (see the module docstring)."""
    low = text.lower()
    sig = Signals(text, low)
    probes = set(_ALWAYS)
    keys = _KEYS
    for found in _found_keys(low):
        key = keys[found]
        if key.concepts:
            sig.phrases.add(found)
            sig.concepts |= key.concepts
        if key.services:
            sig.services |= key.services
        if key.probes:
            probes |= key.probes
    if "timeout" in sig.concepts and not _times_out(low) and all(
            "time" in p or "deadline" in p for p in sig.phrases if "timeout" in keys[p].concepts):
        sig.concepts.discard("timeout")  # "timeout=60.0", "(timeout is None)": a setting, not a timeout
    sig.text_concepts = set(sig.concepts)
    _scan_structured(sig, text, probes)
    names = sig.classes + ([sig.cloud] if sig.cloud else [])
    if names:
        # "ResourceNotFoundException" reads as "resource not found exception", so its words count as phrases.
        words = " ".join(" ".join(_CAMEL.findall(c)).lower() for c in names)
        for found in _found_keys(words):
            key = keys[found]
            if key.concepts:
                sig.phrases.add(found)
                sig.concepts |= key.concepts
            sig.services |= key.services
    if sig.mysql is not None or sig.sqlstate is not None:
        sig.services.add("db")
    return sig


_TIMEOUT_WORD = re.compile(r"[\w-]*(?:timed out|time[ _-]?out|deadline)[\w-]*")
_SETTING = re.compile(r"\s*(?:=|:\s*[\d.]|is (?:none|null|\d)\b|\(|\w+\()")


def _times_out(low: str) -> bool:
    """True when a timeout word in the text reports a timeout, not a setting ("timeout=60", "timeout: 0.5s")."""
    return any(not _SETTING.match(low, m.end()) for m in _TIMEOUT_WORD.finditer(low))


def _scan_structured(sig: Signals, text: str, probes: set[int]) -> None:
    low = sig.low
    found: list[re.Match[str]] = []
    for index in sorted(probes):
        found.extend(_PROBES[index][1].finditer(text))
    found.sort(key=lambda m: m.start())
    for m in found:
        kind = m.lastgroup
        if kind == "short":
            start = m.start()
            if start and (text[start - 1].isalnum() or text[start - 1] == "_"):
                continue  # inside a longer word
            short = m.group("short")
            qualifier = _QUALIFIER.search(text, max(0, start - 160), start)
            sig.classes.append(short)
            sig.qualified.append((qualifier.group(0) if qualifier else "") + short)
            sig.class_words.update(w.lower() for w in _CAMEL.findall(short))
        elif kind in ("s1", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10"):
            _status(sig, m.group(kind), reasoned=kind != "s4" or "http" in low)
        elif kind == "reason":
            number = int(m.group("sr"))
            expected = HTTP_REASONS.get(number)
            if expected and m.group("reason").lower().replace("_", " ").startswith(expected.split()[0]):
                _status(sig, m.group("sr"), reasoned=True)
        elif kind in ("g1", "g2", "g3"):
            name = _GRPC_BY_SQUASHED.get(m.group(kind).replace("_", "").lower())
            if name and sig.grpc is None:
                sig.grpc = name
        elif kind in ("errno", "oserr", "errno2"):
            number = int(m.group(kind))
            # Python prints getaddrinfo codes as [Errno -2]; Node and libuv print errno values negated.
            name = ERRNO_NUMBERS.get(abs(number) if kind == "errno2" else number)
            if name:
                sig.errnos.add(name)
        elif kind == "ename":
            sig.errnos.add(m.group(kind).replace("EAI_NONAME", "EAI_NONAME"))
        elif kind == "sqlstate":
            sig.sqlstate = sig.sqlstate or m.group(kind)
        elif kind in ("mysql", "mysql2"):
            sig.mysql = sig.mysql or int(m.group(kind))
        elif kind in ("cloud1", "cloud2", "cloud3", "cloud4"):
            sig.cloud = sig.cloud or m.group(kind)
        elif kind in ("ws", "ws2"):
            sig.ws_close = sig.ws_close or int(m.group(kind))
        elif kind in ("exit", "exit2", "exit3", "exit4"):
            sig.exit_status = int(m.group(kind))
        elif kind in ("curl", "curl2", "curl3"):
            sig.curl = sig.curl or int(m.group(kind))
