"""From signals (loaders.catalog.signals) to the catalog code of the failure's meaning, with the reason.

The rules run in order and the first that recognises a meaning wins. The order is the evidence's: a missing
program before a failed command, a refused connection before a timeout that followed it, a timeout before the
outage of whatever it was talking to ("a timeout while talking to a cache is a timeout"), a login refused
before a generic 401, a status code before a word. Each rule only decides what its own signals show; when
none does, the matcher falls back to the catalog's patterns and keywords.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from loaders.catalog.signals import CONCEPTS, Signals

Decision = tuple[str, str]  # (catalog code, why)


@dataclass(frozen=True)
class Rule:
    """One rule: a name for people and the function that decides (None = not this rule's meaning)."""

    name: str
    decide: Callable[[Signals], Decision | None]


def _word(sig: Signals, *names: str) -> str | None:
    for name in names:
        if name in sig.class_words:
            return name
    return None


def _class_with(sig: Signals, *words: str) -> str | None:
    """The first exception class whose name holds one of the words (case-insensitive)."""
    for cls in sig.classes:
        low = cls.lower()
        if any(w in low for w in words):
            return cls
    return None


def _why(sig: Signals, what: str, concept: str | None = None) -> str:
    if concept:
        found = sorted(p for p in sig.phrases if p in _CONCEPT_INDEX.get(concept, ()))
        if found:
            return f"{what}: {found[0]!r}"
    return what


_CONCEPT_INDEX: dict[str, frozenset[str]] = {k: frozenset(v) for k, v in CONCEPTS.items()}


# ------------------------------------------------------------------ rules


_SHELL_NOT_FOUND = re.compile(
    r"^(?:\S*/)?(?:sh|bash|dash|zsh|ksh|ash)(?:: line)?:? \d+: [^:\n]+: (?:command )?not found", re.MULTILINE)


def missing_program(sig: Signals) -> Decision | None:
    """The program to run does not exist: command not found, exit 127, ENOENT when spawning a program."""
    if sig.exit_status == 127 or sig.has("exec_missing") or (
            "not found" in sig.low and _SHELL_NOT_FOUND.search(sig.text)):
        return "TOOL_EXECUTABLE_NOT_FOUND", _why(sig, "the program to run was not found", "exec_missing")
    if ("ENOENT" in sig.errnos or "no such file or directory" in sig.low) and _names_a_program(sig):
        return "TOOL_EXECUTABLE_NOT_FOUND", "no such file or directory, for a program to run"
    return None


_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")


def _names_a_program(sig: Signals) -> bool:
    # Spawning words outside the quoted path ("/tmp/popen-1/x.json" names no program).
    if sig.has("exec_context") and any(w in _QUOTED.sub("", sig.low) for w in (
            "spawn", "popen", "execvp", "execv", "subprocess", "child_process", "createprocess", "exec:",
            "cannot run", "sh:", "bash:", "env:", "`system'", "`spawn'", "`exec'")):
        return True
    # Python's FileNotFoundError names the missing path: a bare name (no directory, no extension) or a path
    # under a bin/ directory is a program; a data file has an extension or lives elsewhere.
    marker = "no such file or directory: '"
    at = sig.low.rfind(marker)
    if at < 0:
        return False
    name = sig.low[at + len(marker):].split("'", 1)[0]
    return "/bin/" in name or ("/" not in name and "." not in name and bool(name))


_GRPC_FIRM = {"UNIMPLEMENTED": "INFRA_NOT_IMPLEMENTED", "ALREADY_EXISTS": "DATA_CONFLICT"}


def grpc_status(sig: Signals) -> Decision | None:
    """gRPC codes that mean one thing whatever the details say (UNIMPLEMENTED details often say "not found")."""
    if sig.grpc in _GRPC_FIRM:
        return _GRPC_FIRM[sig.grpc], f"gRPC status {sig.grpc}"
    if sig.grpc == "RESOURCE_EXHAUSTED" and sig.has("payload"):
        return "VAL_PAYLOAD_TOO_LARGE", "gRPC RESOURCE_EXHAUSTED: the message is larger than allowed"
    return None


def cancelled(sig: Signals) -> Decision | None:
    """An operation or task was cancelled (not by a timeout: that is a timeout)."""
    if sig.grpc == "CANCELLED" or (sig.has("cancelled") and not sig.has("timeout", "statement")):
        if "interrupted system call" in sig.low:
            return None
        return "RUN_CANCELLED", _why(sig, "the operation was cancelled", "cancelled")
    return None


# "The connection to the server localhost:8080 was refused"
_WAS_REFUSED = re.compile(r"connection to [^\n]{1,120}? (?:was|is) refused")


def refused(sig: Signals) -> Decision | None:
    """A connection was refused: the service is down or not listening (a timeout after it is its consequence)."""
    if not (sig.has("refused") or "ECONNREFUSED" in sig.errnos or sig.curl == 7
            or _WAS_REFUSED.search(sig.low)):
        return None
    if sig.has("login_failed", "creds_missing", "unauthorized"):
        return None  # a protocol's refusal of the login ("Connection Refused: not authorised")
    if sig.has("proxy"):
        return "NET_PROXY_ERROR", _why(sig, "the connection to the proxy failed", "proxy")
    kind = sig.service()
    why = _why(sig, "connection refused", "refused")
    if kind == "db":
        return "INFRA_DB_UNAVAILABLE", why + ", by a database"
    if kind == "cache":
        return "INFRA_CACHE_UNAVAILABLE", why + ", by a cache or message broker"
    if kind == "store" and not sig.has("timeout"):
        return "INFRA_OBJECT_STORE_UNREACHABLE", why + ", by an object store"
    return "NET_CONNECTION_REFUSED", why


def host_key(sig: Signals) -> Decision | None:
    """The SSH host key is unknown or changed."""
    if sig.has("host_key") and ("ssh" in sig.low or "paramiko" in sig.low or "known_hosts" in sig.low
                                or "host key" in sig.low):
        return "NET_HOST_KEY_REJECTED", _why(sig, "the SSH host key was not accepted", "host_key")
    return None


# "tool 'browser.fetch' timed out", "Command '['sleep', '9']' timed out after 1 seconds": what timed out is a tool.
_TOOL_TIMED_OUT = re.compile(
    r"\b(?:tool|command|subprocess|script)\b[^\n]{0,80}?\b(?:timed out|did not complete within)", re.IGNORECASE)


def timeouts(sig: Signals) -> Decision | None:
    """Something timed out; which kind: a tool, a database statement, a gateway, a lock, connecting or reading."""
    if sig.has("statement") or sig.sqlstate == "57014" or sig.mysql in (3024, 1317):
        return "INFRA_DB_STATEMENT_TIMEOUT", _why(sig, "a database statement ran out of time", "statement")
    timed_out = sig.has("timeout") or "ETIMEDOUT" in sig.errnos or sig.grpc == "DEADLINE_EXCEEDED" \
        or _word(sig, "timeout") is not None or sig.status in (408, 504) or sig.curl == 28
    if not timed_out:
        return None
    why = _why(sig, "timed out", "timeout")
    cls = _class_with(sig, "timeout", "timedout", "deadline")
    if cls:
        why = f"timed out (exception {cls})"
    if sig.has("statement") or sig.sqlstate == "57014" or sig.mysql in (3024, 1317):
        return "INFRA_DB_STATEMENT_TIMEOUT", _why(sig, "a database statement timed out", "statement")
    if sig.has("lock"):
        return "INFRA_DB_LOCK_CONFLICT", _why(sig, "waiting for a database lock timed out", "lock")
    if sig.has("pool") and not sig.has("connect_phase"):
        return "RES_POOL_EXHAUSTED", _why(sig, "waiting for a pooled connection timed out", "pool")
    if sig.has("tool_timeout") or sig.exit_status == 124 or _class_with(sig, "timeoutexpired") or any(
            ".process." in q or "subprocess." in q for q in sig.qualified) or _TOOL_TIMED_OUT.search(sig.text):
        return "TOOL_TIMEOUT", why + ", running a command"
    if sig.status == 504 or sig.has("gateway_timeout"):
        return "INFRA_GATEWAY_TIMEOUT", "HTTP 504: the gateway timed out"
    if _word(sig, "connect") or (sig.has("connect_phase", "connect_failed") and not sig.has("read_phase")):
        return "NET_CONNECT_TIMEOUT", why + ", while connecting"
    if _word(sig, "read", "response", "socket") or sig.has("read_phase") or sig.status == 408 \
            or sig.mysql in (2013,):
        return "NET_READ_TIMEOUT", why + ", waiting for an answer"
    return "NET_TIMEOUT", why


def dns(sig: Signals) -> Decision | None:
    """A host name could not be resolved."""
    if sig.has("dns") or sig.errnos & {"EAI_NONAME", "EAI_AGAIN", "EAI_NODATA", "ENOTFOUND"} or sig.curl == 6:
        if sig.has("proxy"):
            return "NET_PROXY_ERROR", "the proxy's host could not be resolved"
        if "dns" in sig.phrases and not (sig.has("not_found", "timeout") or "resolv" in sig.low):
            return None  # the word alone ("DNS settings") says little
        return "NET_DNS_RESOLUTION", _why(sig, "the host name could not be resolved", "dns")
    return None


def tls(sig: Signals) -> Decision | None:
    """The TLS handshake or the certificate failed."""
    if sig.has("tls") and (sig.has("timeout") is False or "handshake" in sig.low):
        if sig.low.count("ssl:default") and len([p for p in sig.phrases if p in _CONCEPT_INDEX["tls"]]) == 1:
            return None  # aiohttp prints "ssl:default" in every connection error
        if sig.curl in (35, 51, 58, 60) or any(w in sig.low for w in (
                "certificate", "certification", "x509", "handshake", "ssl", "tls", "pkix", "self-signed",
                "self signed")):
            return "NET_TLS_ERROR", _why(sig, "the TLS handshake or certificate failed", "tls")
    return None


def unreachable(sig: Signals) -> Decision | None:
    """No network route to the host."""
    if sig.has("unreachable") or sig.errnos & {"EHOSTUNREACH", "ENETUNREACH"}:
        if sig.service() == "store":
            return "INFRA_OBJECT_STORE_UNREACHABLE", "the object store's host is unreachable"
        return "NET_HOST_UNREACHABLE", _why(sig, "no route to the host", "unreachable")
    return None


def reset(sig: Signals) -> Decision | None:
    """The peer closed or reset the connection mid-request."""
    if sig.ws_close not in (None, 1005, 1006):
        return None  # the close code says why the peer closed
    if sig.has("reset") or sig.errnos & {"ECONNRESET", "EPIPE"} or sig.ws_close == 1006 or sig.curl in (52, 18, 56):
        return "NET_CONNECTION_RESET", _why(sig, "the connection was closed or reset mid-request", "reset")
    return None


def closed(sig: Signals) -> Decision | None:
    """The connection was closed and nothing more specific (a refusal, a status, a close code) says why."""
    if sig.has("closed") and sig.ws_close in (None, 1005, 1006):
        return "NET_CONNECTION_RESET", _why(sig, "the connection was closed", "closed")
    return None


def proxy(sig: Signals) -> Decision | None:
    """The outbound proxy refused or failed."""
    if sig.has("proxy") or sig.status == 407 or sig.curl in (5, 97):
        return "NET_PROXY_ERROR", _why(sig, "the proxy failed the request", "proxy")
    return None


_DB_LOGIN_STATES = {"28P01", "28000"}


def auth(sig: Signals) -> Decision | None:
    """Credentials and permissions. Specific words first (an expired token, a database login, an API key), then
    the protocol's status (401 unauthenticated, 403 forbidden), then words alone: a login refused, access denied,
    the operating system refusing a file."""
    low = sig.low
    status, grpc = sig.status, sig.grpc
    if not (sig.concepts & _AUTH_CONCEPTS or status in (401, 403) or grpc in ("UNAUTHENTICATED", "PERMISSION_DENIED")
            or sig.sqlstate or sig.mysql or sig.cloud or sig.ws_close == 1008 or sig.curl == 67
            or sig.errnos & {"EACCES", "EPERM", "EROFS"} or "permission denied" in low
            or _class_with(sig, "authentication", "login")):
        return None  # nothing about credentials or permissions
    db = sig.service() == "db"
    if sig.has("token_expired") and any(w in low for w in ("token", "session", "credential", "jwt", "signature")):
        return "AUTH_TOKEN_EXPIRED", _why(sig, "the token or session expired", "token_expired")
    if sig.sqlstate in _DB_LOGIN_STATES or sig.mysql == 1045 or (db and sig.has("login_failed")):
        return "AUTH_DB_LOGIN_FAILED", "the database refused the login"
    key_refused = any(w in low for w in ("invalid", "incorrect", "wrong", "revoked", "malformed", "not valid"))
    if sig.has("api_key") and (status == 401 or grpc == "UNAUTHENTICATED" or (
            status in (400, 403) and key_refused) or (
            status is None and (sig.has("login_failed", "unauthorized") or key_refused))):
        return "AUTH_INVALID_API_KEY", "the API key was refused"
    if status == 401 and "llm" in sig.services:
        return "AUTH_INVALID_API_KEY", "HTTP 401 from a model provider, whose API authenticates by key"
    if sig.sqlstate == "42501" or sig.mysql in (1044, 1142, 1227) or (
            db and not sig.cloud and sig.has("forbidden")
            and any(w in low for w in ("table", "relation", "schema", "privilege"))):
        return "PERM_DB_PRIVILEGE", "the database role lacks a privilege"
    if "creds_missing" in sig.text_concepts or (sig.cloud or "") in (
            "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidClientTokenId", "UnrecognizedClientException"):
        return "AUTH_CREDENTIALS_MISSING", _why(sig, "credentials are missing or wrong", "creds_missing")
    if status == 401 or grpc == "UNAUTHENTICATED":
        return "AUTH_UNAUTHORIZED", "HTTP 401: unauthenticated" if status == 401 else "gRPC status UNAUTHENTICATED"
    if status == 403 or grpc == "PERMISSION_DENIED" or sig.ws_close == 1008 or (sig.cloud or "").startswith(
            "AccessDenied") or sig.cloud in ("Forbidden", "AuthorizationFailure", "AuthorizationPermissionMismatch"):
        return "AUTH_FORBIDDEN", "HTTP 403: forbidden" if status == 403 else _why(sig, "access denied", "forbidden")
    if status is not None and status != 407:
        return None  # another status decides
    if sig.has("login_failed") or sig.curl == 67 or _class_with(sig, "authenticationerror", "authenticationexception",
                                                                  "authenticationfailed", "loginfailed"):
        return "AUTH_LOGIN_FAILED", _why(sig, "the service refused the login", "login_failed")
    if sig.has("creds_missing"):
        return "AUTH_CREDENTIALS_MISSING", _why(sig, "credentials are missing or wrong", "creds_missing")
    if sig.has("unauthorized"):
        return "AUTH_UNAUTHORIZED", _why(sig, "unauthenticated", "unauthorized")
    if sig.has("file_perm") or sig.errnos & {"EACCES", "EPERM", "EROFS"} or (
            "permission denied" in low and (sig.exit_status == 126 or _PATH_DENIED.search(sig.text))) or (
            sig.has("forbidden") and "(pid=" in low):
        return "PERM_FILE_ACCESS", _why(sig, "the operating system refused access", "file_perm")
    if sig.has("forbidden"):
        return "AUTH_FORBIDDEN", _why(sig, "access denied", "forbidden")
    return None


# "cat: /etc/shadow: Permission denied", "open C:\\x: Permission denied": a path, then the refusal.
_PATH_DENIED = re.compile(r"(?:^|[\s'\"(])(?:/[\w.-]+)+/?['\"]?:? (?:\(?\w+\)? )?Permission denied"
                          r"|[A-Za-z]:\\[^:\n]*:? Permission denied", re.IGNORECASE)


_AUTH_CONCEPTS = frozenset({"token_expired", "login_failed", "api_key", "creds_missing", "unauthorized", "forbidden",
                            "file_perm"})
_THROTTLE_CODES = ("Throttling", "ThrottlingException", "TooManyRequestsException", "SlowDown", "RequestLimitExceeded",
                   "ProvisionedThroughputExceededException", "RequestThrottled", "ServerBusy",
                   "TransactionInProgressException", "PriorRequestNotComplete")
_QUOTA_CODES = ("ServiceQuotaExceededException", "LimitExceededException", "QuotaExceeded", "quotaExceeded",
                "rateLimitExceeded", "userRateLimitExceeded")


def rate_limits(sig: Signals) -> Decision | None:
    """Quota used up, throttled by a cloud API, or HTTP 429."""
    resource = sig.grpc == "RESOURCE_EXHAUSTED"
    if resource and sig.has("payload"):
        return None
    if sig.status == 402:
        return "RATE_LIMIT_QUOTA_EXCEEDED", "HTTP 402: payment required (credit or quota used up)"
    if sig.has("quota") and (sig.status in (429, 403, None) or resource) and (
            "exceeded" in sig.low or "insufficient" in sig.low or "exhausted" in sig.low or "used up" in sig.low
            or "ran out" in sig.low or "out of" in sig.low or "balance" in sig.low or "limit" in sig.low):
        return "RATE_LIMIT_QUOTA_EXCEEDED", _why(sig, "the quota is used up", "quota")
    if (sig.cloud or "") in _THROTTLE_CODES or _class_with(sig, "throttl") or (sig.has("rate") and any(
            w in sig.low for w in ("throttl", "slow down", "slowdown", "rate exceeded"))):
        return "RATE_LIMIT_THROTTLED", _why(sig, "the API throttled the request", "rate")
    if sig.status == 429 or resource or (sig.has("rate") and sig.status is None):
        return "RATE_LIMIT_HTTP_429", "HTTP 429 / too many requests" if sig.status == 429 else _why(
            sig, "rate limited", "rate")
    return None


def too_large(sig: Signals) -> Decision | None:
    """The request or message is larger than the peer accepts."""
    if sig.status == 413 or sig.ws_close == 1009 or (sig.has("payload") and any(
            w in sig.low for w in ("too large", "too big", "exceed", "larger than", "limit"))):
        return "VAL_PAYLOAD_TOO_LARGE", "HTTP 413 / payload too large" if sig.status == 413 else _why(
            sig, "the payload is too large", "payload")
    return None


def database(sig: Signals) -> Decision | None:
    """Database answers: unknown database, schema mismatch, lock conflicts, constraints, wrong types, no slots."""
    state = sig.sqlstate or ""
    mysql = sig.mysql
    if not (state or mysql or sig.concepts & _DB_CONCEPTS or "for type json" in sig.low):
        return None
    if sig.status is not None and sig.service() != "db":
        return None  # an HTTP answer: its status decides
    if state == "3D000" or mysql == 1049 or sig.has("db_missing") and (
            sig.has("not_found") or "unable to open database" in sig.low):
        return "INFRA_DB_NOT_FOUND", "the database does not exist"
    if state in ("42P01", "42703", "42883") or mysql in (1146, 1054) or sig.has("schema") and sig.has("not_found"):
        return "INFRA_DB_SCHEMA_MISMATCH", "a table or column the code expects is missing"
    if state in ("40001", "40P01", "55P03") or mysql in (1213, 1205) or sig.has("lock"):
        return "INFRA_DB_LOCK_CONFLICT", _why(sig, "a lock conflict aborted the transaction", "lock")
    if "for type json" in sig.low:
        return "DATA_JSON_DECODE", "the store could not read the value as JSON"
    # A wrong type is named in words; "IntegrityError" around it is only the driver's class for it.
    if state.startswith("22") or mysql in (1366, 1264, 1292, 1265) or sig.has("wrong_type"):
        return "DATA_WRONG_TYPE", _why(sig, "a value has the wrong type for the store", "wrong_type")
    if state.startswith("23") or mysql in (1062, 1451, 1452, 1048, 1216, 1217) or sig.has("constraint"):
        return "DATA_CONSTRAINT_VIOLATION", _why(sig, "a constraint was violated", "constraint")
    if state in ("53300", "53400") or mysql in (1040, 1226) or sig.has("pool"):
        return "RES_POOL_EXHAUSTED", _why(sig, "no free connection", "pool")
    return None


def not_found(sig: Signals) -> Decision | None:
    """The requested thing does not exist: HTTP 404/410, gRPC NOT_FOUND, a cloud NotFound, ENOENT."""
    status, grpc, cloud = sig.status, sig.grpc, sig.cloud or ""
    if status in (404, 410) or grpc == "NOT_FOUND" or cloud.startswith("NoSuch") or cloud.endswith("NotFound") \
            or cloud in ("ResourceNotFoundException", "NotFoundException", "BlobNotFound", "ContainerNotFound") \
            or sig.curl == 37 or "ENOENT" in sig.errnos or sig.has("not_found") and not sig.has("exec_missing"):
        if sig.has("model") and (status == 404 or sig.has("not_found")) and ("llm" in sig.services or any(
                w in sig.low for w in ("model `", "the model", "model_not_found", "invalid model", "unknown model"))):
            return "LLM_MODEL_NOT_FOUND", "the model does not exist"
        if status == 404:
            return "DATA_OBJECT_NOT_FOUND", "HTTP 404: not found"
        return "DATA_OBJECT_NOT_FOUND", _why(sig, "the object does not exist", "not_found")
    return None


def conflict(sig: Signals) -> Decision | None:
    """The write conflicts with the current state: HTTP 409/412, already exists, aborted or rejected."""
    cloud = sig.cloud or ""
    if sig.status is not None and sig.status not in (409, 412):
        return None
    if "EEXIST" in sig.errnos:
        return "DATA_CONFLICT", "the file or object already exists (EEXIST)"
    if sig.status in (409, 412) or sig.grpc in ("ALREADY_EXISTS", "ABORTED") or cloud in (
            "ConditionalCheckFailedException", "ConflictException", "ResourceInUseException", "BucketAlreadyExists",
            "BucketAlreadyOwnedByYou", "PreconditionFailed", "BlobAlreadyExists", "ContainerAlreadyExists") \
            or sig.has("conflict") and any(w in sig.low for w in (
                "already exists", "conflict", "precondition", "concurrent", "rejected", "non-fast-forward",
                "busygroup", "stale", "modified since", "file exists")):
        if sig.status == 409:
            return "DATA_CONFLICT", "HTTP 409: conflict"
        return "DATA_CONFLICT", _why(sig, "the write conflicts with the current state", "conflict")
    return None


_DB_CONCEPTS = frozenset({"db_missing", "schema", "lock", "constraint", "wrong_type", "pool"})
_GRPC_CODES = {"INVALID_ARGUMENT": "VAL_BAD_REQUEST", "OUT_OF_RANGE": "VAL_BAD_REQUEST",
               "FAILED_PRECONDITION": "VAL_BAD_REQUEST", "INTERNAL": "INFRA_INTERNAL_SERVER_ERROR",
               "UNKNOWN": "INFRA_INTERNAL_SERVER_ERROR", "DATA_LOSS": "INFRA_INTERNAL_SERVER_ERROR",
               "UNAVAILABLE": "INFRA_SERVICE_UNAVAILABLE", "UNIMPLEMENTED": "INFRA_NOT_IMPLEMENTED"}
_WS_CODES = {1011: "INFRA_INTERNAL_SERVER_ERROR", 1012: "INFRA_SERVICE_UNAVAILABLE",
             1013: "INFRA_SERVICE_UNAVAILABLE", 1001: "INFRA_SERVICE_UNAVAILABLE", 1003: "VAL_BAD_REQUEST",
             1007: "VAL_BAD_REQUEST", 1002: "VAL_BAD_REQUEST", 1010: "VAL_BAD_REQUEST"}


def statuses(sig: Signals) -> Decision | None:
    """What an HTTP, gRPC or websocket status says when nothing more specific did."""
    status = sig.status
    if status is not None and status >= 400:
        if status == 400:
            return "VAL_BAD_REQUEST", "HTTP 400: bad request"
        if status == 422:
            return "VAL_UNPROCESSABLE_ENTITY", "HTTP 422: unprocessable"
        if status == 500:
            return "INFRA_INTERNAL_SERVER_ERROR", "HTTP 500: internal server error"
        if status == 501:
            return "INFRA_NOT_IMPLEMENTED", "HTTP 501: not implemented"
        if status == 502:
            return "INFRA_BAD_GATEWAY", "HTTP 502: bad gateway"
        if status == 503:
            return "INFRA_SERVICE_UNAVAILABLE", "HTTP 503: service unavailable"
        if status >= 500:
            return "INFRA_HTTP_5XX", f"HTTP {status}: server error"
        if status in (405, 406, 411, 414, 415, 416, 417, 421, 426, 428, 431):
            return "VAL_BAD_REQUEST", f"HTTP {status}: the request was refused as malformed"
    if sig.grpc in _GRPC_CODES:
        if sig.grpc == "UNAVAILABLE" and sig.has("connect_phase", "refused") and not sig.has("unavailable"):
            return "NET_CONNECTION_REFUSED", "gRPC UNAVAILABLE: failed to connect"
        return _GRPC_CODES[sig.grpc], f"gRPC status {sig.grpc}"
    if sig.ws_close in _WS_CODES:
        return _WS_CODES[sig.ws_close], f"websocket close code {sig.ws_close}"
    if sig.ws_close and 4400 <= sig.ws_close <= 4599:  # applications send 4000 + an HTTP status
        return statuses(Signals(sig.text, sig.low, status=sig.ws_close - 4000))
    return None


def server_words(sig: Signals) -> Decision | None:
    """Server-side failures named in words: internal error, bad gateway, unavailable, not implemented, redirects."""
    if sig.has("redirects"):
        return "NET_TOO_MANY_REDIRECTS", _why(sig, "too many redirects", "redirects")
    if sig.has("not_implemented") and not sig.has("not_found"):
        return "INFRA_NOT_IMPLEMENTED", _why(sig, "the method is not implemented", "not_implemented")
    if sig.has("bad_gateway") and "upstream" not in sig.phrases or sig.has("bad_gateway") and sig.status == 502:
        return "INFRA_BAD_GATEWAY", _why(sig, "bad gateway", "bad_gateway")
    if sig.has("internal"):
        return "INFRA_INTERNAL_SERVER_ERROR", _why(sig, "the server failed internally", "internal")
    if sig.has("unavailable"):
        kind = None if "no responders" in sig.phrases else sig.service()
        if kind == "db":
            return "INFRA_DB_UNAVAILABLE", _why(sig, "the database is unavailable", "unavailable")
        if kind == "cache":
            return "INFRA_CACHE_UNAVAILABLE", _why(sig, "the cache or broker is unavailable", "unavailable")
        return "INFRA_SERVICE_UNAVAILABLE", _why(sig, "the service is unavailable", "unavailable")
    return None


def bad_request(sig: Signals) -> Decision | None:
    """The peer refused the request as malformed or invalid."""
    if (sig.cloud or "") in ("ValidationException", "InvalidParameterValue", "InvalidParameterException",
                             "InvalidRequest", "InvalidArgument", "MalformedPolicyDocument", "InvalidInput"):
        return "VAL_BAD_REQUEST", f"cloud error code {sig.cloud}"
    if sig.has("unprocessable"):
        return "VAL_UNPROCESSABLE_ENTITY", "unprocessable"
    return None


def subprocess_failed(sig: Signals) -> Decision | None:
    """A command ran and exited with a failure status."""
    if (sig.exit_status not in (None, 0) or sig.has("subprocess")) and not sig.has("exec_missing"):
        status = f" (exit status {sig.exit_status})" if sig.exit_status not in (None, 0) else ""
        return "TOOL_SUBPROCESS_FAILED", "a command failed" + status
    return None


def connection_trouble(sig: Signals) -> Decision | None:
    """A connection could not be made or failed, and the text names no cause (a timeout, DNS, TLS, a route)."""
    failed_connect = sig.has("connect_failed") or sig.mysql in (2002, 2003)
    if not (failed_connect or sig.has("connection_error") or _class_with(
            sig, "connectionerror", "connecterror", "connectionfailure", "connectionfailed")):
        return None
    kind = sig.service()
    if kind == "db":
        return "INFRA_DB_UNAVAILABLE", "the connection to the database failed"
    if kind == "cache":
        return "INFRA_CACHE_UNAVAILABLE", "the connection to the cache or broker failed"
    if kind == "store":
        return "INFRA_OBJECT_STORE_UNREACHABLE", "the connection to the object store failed"
    if sig.curl == 7 or "couldn't connect to server" in sig.low:
        return "NET_CONNECTION_REFUSED", "curl could not connect: nothing accepted the connection"
    return "NET_CONNECTION_ERROR", _why(sig, "the connection failed", "connect_failed")


def retries_exhausted(sig: Signals) -> Decision | None:
    """Retries ran out and the text shows no cause."""
    if sig.has("retries") or _class_with(sig, "retryerror", "maxretry"):
        return "RUN_RETRIES_EXHAUSTED", _why(sig, "retries were exhausted", "retries")
    return None


# The order is the evidence's (module docstring).
RULES: tuple[Rule, ...] = (
    Rule("missing program", missing_program),
    Rule("gRPC status", grpc_status),
    Rule("refused connection", refused),
    Rule("host key", host_key),
    Rule("dns", dns),
    Rule("unreachable", unreachable),
    Rule("timeout", timeouts),
    Rule("cancellation", cancelled),
    Rule("tls", tls),
    Rule("reset", reset),
    Rule("proxy", proxy),
    Rule("auth", auth),
    Rule("rate limits", rate_limits),
    Rule("too large", too_large),
    Rule("database", database),
    Rule("conflict", conflict),
    Rule("not found", not_found),
    Rule("statuses", statuses),
    Rule("bad request", bad_request),
    Rule("server words", server_words),
)

# Weak evidence, tried after the catalog's library-specific patterns: a closed connection, a connection that
# failed for no named reason, a command's exit status, a retry wrapper with no cause.
FALLBACK_RULES: tuple[Rule, ...] = (
    Rule("closed connection", closed),
    Rule("connection", connection_trouble),
    Rule("subprocess", subprocess_failed),
    Rule("retries", retries_exhausted),
)


# The codes whose meaning these rules decide; their catalog patterns only catch what the rules leave. Every other
# entry's patterns (security, checkpoints, LLM, resources, data formats, promoted entries) are tried first.
RULED = frozenset({
    "NET_DNS_RESOLUTION", "NET_TLS_ERROR", "NET_PROXY_ERROR", "NET_CONNECTION_RESET", "NET_HOST_UNREACHABLE",
    "NET_CONNECT_TIMEOUT", "NET_READ_TIMEOUT", "NET_CONNECTION_REFUSED", "NET_CONNECTION_ERROR", "NET_TIMEOUT",
    "NET_HOST_KEY_REJECTED", "NET_TOO_MANY_REDIRECTS", "INFRA_DB_UNAVAILABLE", "INFRA_OBJECT_STORE_UNREACHABLE",
    "INFRA_CACHE_UNAVAILABLE", "INFRA_SERVICE_UNAVAILABLE", "INFRA_BAD_GATEWAY", "INFRA_GATEWAY_TIMEOUT",
    "INFRA_INTERNAL_SERVER_ERROR", "INFRA_HTTP_5XX", "INFRA_NOT_IMPLEMENTED", "AUTH_UNAUTHORIZED", "AUTH_FORBIDDEN",
    "AUTH_LOGIN_FAILED", "AUTH_CREDENTIALS_MISSING", "AUTH_TOKEN_EXPIRED", "AUTH_INVALID_API_KEY",
    "PERM_FILE_ACCESS", "RATE_LIMIT_HTTP_429", "RATE_LIMIT_THROTTLED", "VAL_BAD_REQUEST",
    "VAL_UNPROCESSABLE_ENTITY", "VAL_PAYLOAD_TOO_LARGE", "DATA_OBJECT_NOT_FOUND", "DATA_CONFLICT", "TOOL_TIMEOUT",
    "TOOL_SUBPROCESS_FAILED", "TOOL_EXECUTABLE_NOT_FOUND", "RUN_CANCELLED", "RUN_RETRIES_EXHAUSTED",
})


def decide(sig: Signals, known: frozenset[str] | set[str],
           rules: tuple[Rule, ...] = RULES) -> tuple[str, str, str] | None:
    """(code, rule name, why) of the first rule whose meaning is a code of the catalog; None when none."""
    for rule in rules:
        found = rule.decide(sig)
        if found is not None and found[0] in known:
            return found[0], rule.name, found[1]
    return None
