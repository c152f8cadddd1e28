"""Matcher rules: code > pattern > keyword > miss, file order, keyword rule, prefilter, shipped catalog quality."""
from __future__ import annotations

import random
import re

import pytest
from sqlalchemy import delete, insert, select, update

from core.schema import catalog_entries
from core.types import utcnow
from loaders.catalog.file import CatalogEntry, read_catalog_file
from loaders.catalog.matcher import UNKNOWN_CODE, Matcher, load_matcher, required_literals
from loaders.catalog.meanings import RULED
from loaders.catalog.signature import signature_of


def entry(code: str, *, patterns=(), keywords=(), enabled=True, category="TOOL") -> CatalogEntry:
    return CatalogEntry(code=code, category=category, severity="medium", message=f"{code} happened",
                        recovery_mode="SKIP", patterns=tuple(patterns), keywords=tuple(keywords), enabled=enabled)


@pytest.fixture
def small() -> Matcher:
    return Matcher([
        entry("ALPHA", patterns=[r"alpha (failure|fault) \d+"], keywords=["zeta", "eta", "theta"]),
        entry("BETA", patterns=[r"beta"], keywords=["omicron"]),
        entry("GAMMA", patterns=[r"alpha"], keywords=["zeta", "kappa"]),
        entry("OFF", patterns=[r"gizmo"], keywords=["gizmo"], enabled=False),
    ])


@pytest.fixture(scope="module")
def shipped() -> Matcher:
    return Matcher(read_catalog_file()[1])


# ------------------------------------------------------------------ order and recorded values


def test_exact_code_beats_pattern(small):
    r = small.match("beta", "alpha failure 7")  # code is normalised: trimmed and upper-cased
    assert (r.entry.code, r.match_type, r.confidence, r.error_code) == ("BETA", "code", 1.0, "BETA")


def test_pattern_beats_keyword(small):
    r = small.match(None, "alpha failure 7 with zeta and eta")
    assert (r.entry.code, r.match_type, r.confidence) == ("ALPHA", "pattern", 0.9)


def test_keyword_when_no_pattern(small):
    r = small.match(None, "Zeta and ETA went sideways")
    assert (r.entry.code, r.match_type) == ("ALPHA", "keyword")
    assert r.confidence == 0.7  # 0.5 + 0.1 per keyword found
    r3 = small.match(None, "zeta eta theta")
    assert r3.confidence == 0.8  # capped


def test_miss(small):
    r = small.match(None, "nothing to see here 42")
    assert (r.entry, r.match_type, r.confidence, r.error_code, r.matched) == (None, "none", 0.0, UNKNOWN_CODE, False)


def test_signature_recorded(small):
    message = "alpha failure 7 at /tmp/x"
    by_message, by_code = small.match(None, message), small.match("BETA", message)
    assert by_message.signature == signature_of(message, by_message.error_code)
    assert by_code.signature == signature_of(message, "BETA")
    assert by_message.signature != by_code.signature  # two codes never share a signature


def test_unknown_given_code_is_kept_while_matching_by_message(small):
    r = small.match(" my_runtime_code ", "alpha failure 3")
    assert (r.entry.code, r.match_type, r.error_code) == ("ALPHA", "pattern", "MY_RUNTIME_CODE")
    miss = small.match("my_runtime_code", "nothing known")
    assert (miss.entry, miss.error_code) == (None, "MY_RUNTIME_CODE")


@pytest.mark.parametrize("absent", [None, "", "   "])
def test_absent_code_becomes_entry_code_or_unknown(small, absent):
    assert small.match(absent, "beta broke").error_code == "BETA"
    assert small.match(absent, "nothing known").error_code == UNKNOWN_CODE


def test_disabled_entries_are_ignored(small):
    for r in (small.match("OFF", "gizmo"), small.match(None, "gizmo exploded"), small.match(None, "a gizmo")):
        assert not r.matched or r.entry.code != "OFF"
    assert "OFF" not in small.by_code


def test_file_order_decides_between_patterns(small):
    # GAMMA's pattern matches earlier in the text, but ALPHA comes first in the catalog.
    r = small.match(None, "alpha then alpha fault 9")
    assert r.entry.code == "ALPHA"
    assert small.match(None, "alpha alone").entry.code == "GAMMA"


# ------------------------------------------------------------------ keyword rule


def test_keyword_needs_two_of_several_or_the_only_one(small):
    assert not small.match(None, "zeta alone").matched  # one of ALPHA's three, one of GAMMA's two
    assert small.match(None, "an omicron appeared").entry.code == "BETA"  # BETA's only keyword


def test_keywords_are_whole_words(small):
    assert not small.match(None, "zetas and etas").matched
    assert not small.match(None, "omicrons").matched


def test_keyword_most_hits_then_file_order(small):
    assert small.match(None, "zeta kappa").entry.code == "GAMMA"  # 2 of GAMMA's, 1 of ALPHA's
    both = Matcher([entry("FIRST", keywords=["red", "blue"]), entry("SECOND", keywords=["red", "blue"])])
    assert both.match(None, "red blue").entry.code == "FIRST"


def test_keyword_phrases():
    m = Matcher([entry("PHRASE", keywords=["rate limit", "tenant"])])
    assert m.match(None, "hit the Rate Limit for tenant 4").entry.code == "PHRASE"
    assert not m.match(None, "rate limiting for tenant 4").matched  # "rate limit" is not a whole phrase here


# ------------------------------------------------------------------ robustness and prefilter


def test_bad_pattern_is_skipped_not_fatal():
    m = Matcher([entry("BROKEN", patterns=["(unclosed", "works here"]), entry("OK", patterns=["fine"])])
    assert m.match(None, "it works here").entry.code == "BROKEN"
    assert m.match(None, "all fine").entry.code == "OK"


def test_pattern_without_literal_still_runs():
    m = Matcher([entry("DIGITS", patterns=[r"\d{3}-\d{4}"]), entry("ANCHOR", patterns=[r"^\W+$"])])
    assert m.match(None, "call 555-1234").entry.code == "DIGITS"
    assert m.match(None, "?!?").entry.code == "ANCHOR"


@pytest.mark.parametrize(
    ("pattern", "must_contain_one_of"),
    [
        (r"connection refused", {"connection refused"}),
        (r"Unicode(Decode|Encode)Error", {"unicode"}),
        (r"(tool|skill) \w+ timed out", {" timed out"}),
        (r"(alpha|beta) x", {"alpha", "beta"}),
        (r"(failed|unable) to parse", {" to parse"}),  # words most failures contain are poor filters
        (r"HTTP (status )?5\d\d", {"http "}),
        (r"\[Errno 13\]", {"[errno 13]"}),
    ],
)
def test_required_literals(pattern, must_contain_one_of):
    assert required_literals(pattern) == must_contain_one_of


def test_required_literals_unknown_for_literal_free_patterns():
    assert required_literals(r"\d+") is None
    assert required_literals(r"(a)?") is None


def _brute_force(entries: list[CatalogEntry], message: str) -> str | None:
    # Entries whose meaning the signal rules decide have their patterns tried after the others' (matcher._tier).
    for e in sorted(entries, key=lambda e: e.code in RULED and e.created_by == "catalog"):
        for p in e.patterns:
            if re.search(p, message, re.IGNORECASE):
                return e.code
    return None


def test_prefilter_agrees_with_trying_every_pattern(shipped):
    """The literal prefilter never changes the answer: compare with a plain loop over all patterns."""
    entries = shipped.entries
    rng = random.Random(7)
    words = [w for e in entries for p in e.patterns for w in re.findall(r"[A-Za-z]{3,}", p)]
    samples = [e.message for e in entries] + [s for e in entries for s in e.recovery_suggestions]
    samples += list(SAMPLES.values())
    for _ in range(1500):
        samples.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 6))))
    for base in list(SAMPLES.values()):
        samples.append(base.upper())
        samples.append(base[: len(base) // 2])
    # IGNORECASE also matches some non-ASCII letters to ASCII ones (Kelvin sign, long s, dotted/dotless i).
    samples += ["\u212aeyError: 'x'", "[ſſl: CERTIFICATE_VERIFY_FAILED]", "ınvalid_request_error",
                "İnternal Server Error", "Connection reſet by peer", "Permiſſion denied"]
    filler = "context line without meaning; " * 60  # > GRAM_SCAN_MAX: the per-literal branch
    samples += [filler + base for base in SAMPLES.values()] + [base + filler for base in SAMPLES.values()]
    for message in samples:
        got = shipped.match_pattern(message)
        assert (got.code if got else None) == _brute_force(entries, message), message


def test_long_message_tail_is_scanned(small):
    message = "Traceback (most recent call last):\n" + "  frame line\n" * 2000 + "beta exploded"
    assert small.match(None, message).entry.code == "BETA"


# ------------------------------------------------------------------ shipped catalog quality

# One representative message per shipped entry (texts in the shape the libraries or our runtimes print).
# Together they prove every entry is reachable, i.e. no earlier generic entry shadows it.
SAMPLES = {
    "SEC_PROMPT_INJECTION": "prompt injection detected in tool output from crm.example.com",
    "SEC_SECRET_LEAK": "secret leaked: api key exposed in model output for run 42",
    "SEC_PII_DETECTED": "PII detected in document 991 (email address, phone number)",
    "SEC_SANDBOX_VIOLATION": "sandbox violation: process 311 attempted to open /etc/passwd",
    "SEC_SSRF_BLOCKED": "blocked outbound request to private address 169.254.169.254 (SSRF guard)",
    "CKPT_CORRUPTED": "checkpoint is corrupted: unexpected end of pickle data",
    "CKPT_VERSION_MISMATCH": "checkpoint version mismatch: state schema 3 cannot be read by runtime schema 5",
    "CKPT_NOT_FOUND": "checkpoint 'run-77/step-3' not found in store",
    "CKPT_SAVE_FAILED": "failed to save checkpoint for run 9: store returned 500",
    "CKPT_RESTORE_FAILED": "unable to restore from checkpoint run-9/step-4",
    "LLM_CONTEXT_LENGTH_EXCEEDED": "This model's maximum context length is 8192 tokens. However, you requested 9000",
    "LLM_CONTENT_FILTER": "finish_reason=content_filter for choice 0",
    "LLM_MODEL_NOT_FOUND": "The model `gpt-9` does not exist or you do not have access to it.",
    "LLM_PROVIDER_OVERLOADED": "{'type': 'overloaded_error', 'message': 'Overloaded'}",
    "LLM_OUTPUT_TRUNCATED": "stop_reason='max_tokens': the answer is incomplete",
    "LLM_INVALID_RESPONSE": "could not parse model response as the expected plan format",
    "TOOL_NOT_FOUND": "tool 'web_search' not found in registry",
    "TOOL_INVALID_ARGUMENTS": "invalid tool arguments for get_weather: 'city' expected",
    "TOOL_TIMEOUT": "tool 'browser.fetch' timed out after 30s",
    "TOOL_LOOP_LIMIT": "Agent stopped due to iteration limit or time limit.",
    "TOOL_SUBPROCESS_FAILED": "Command '['git', 'push']' returned non-zero exit status 128.",
    "TOOL_EXECUTION_FAILED": "skill execution failed: ValueError in summarize()",
    "RATE_LIMIT_QUOTA_EXCEEDED": "You exceeded your current quota, please check your plan and billing details.",
    "RATE_LIMIT_BUDGET_EXCEEDED": "token budget exceeded for tenant acme: 1000000 of 1000000 used",
    "RATE_LIMIT_THROTTLED": "An error occurred (ThrottlingException) when calling the Converse operation",
    "RATE_LIMIT_HTTP_429": "429 Client Error: Too Many Requests for url: https://api.example.com/v1",
    "PERM_DB_PRIVILEGE": "permission denied for table invoices",
    "AUTH_DB_LOGIN_FAILED": 'FATAL:  password authentication failed for user "agent"',
    "AUTH_CREDENTIALS_MISSING": "Unable to locate credentials",
    "AUTH_INVALID_API_KEY": "Incorrect API key provided: sk-****abcd.",
    "AUTH_TOKEN_EXPIRED": "The security token included in the request is expired (ExpiredTokenException)",
    "AUTH_UNAUTHORIZED": "401 Client Error: Unauthorized for url: https://api.example.com/v1",
    "AUTH_FORBIDDEN": "403 Client Error: Forbidden for url: https://api.example.com/v1",
    "PERM_FILE_ACCESS": "[Errno 13] Permission denied: '/var/lib/agent/out.json'",
    "RES_POOL_EXHAUSTED": "QueuePool limit of size 5 overflow 10 reached, connection timed out, timeout 30.00",
    "RES_DISK_FULL": "[Errno 28] No space left on device",
    "RES_OUT_OF_MEMORY": "MemoryError: Unable to allocate 3.2 GiB for an array",
    "RES_TOO_MANY_OPEN_FILES": "[Errno 24] Too many open files: '/tmp/x'",
    "RES_RECURSION_DEPTH": "maximum recursion depth exceeded while calling a Python object",
    "RES_THREAD_LIMIT": "RuntimeError: can't start new thread",
    "INFRA_DB_NOT_FOUND": 'FATAL:  database "agents" does not exist',
    "INFRA_DB_SCHEMA_MISMATCH": 'relation "runs" does not exist',
    "INFRA_DB_LOCK_CONFLICT": "deadlock detected\nDETAIL:  Process 1 waits for ShareLock on transaction 2",
    "INFRA_DB_STATEMENT_TIMEOUT": "canceling statement due to statement timeout",
    "INFRA_DB_UNAVAILABLE": 'connection to server at "10.0.0.5", port 5432 failed: Connection refused\n'
                            "\tIs the server running on that host and accepting TCP/IP connections?",
    "INFRA_OBJECT_STORE_UNREACHABLE": 'Could not connect to the endpoint URL: "https://r2.example.com/bucket"',
    "INFRA_CACHE_UNAVAILABLE": "Error 111 connecting to redis.internal:6379. Connection refused.",
    "INFRA_SERVICE_UNAVAILABLE": "503 Server Error: Service Unavailable for url: https://api.example.com",
    "INFRA_BAD_GATEWAY": "502 Server Error: Bad Gateway for url: https://api.example.com",
    "INFRA_GATEWAY_TIMEOUT": "504 Server Error: Gateway Timeout for url: https://api.example.com",
    "INFRA_INTERNAL_SERVER_ERROR": "500 Server Error: Internal Server Error for url: https://api.example.com",
    "INFRA_HTTP_5XX": "507 Server Error: Insufficient Storage for url: https://api.example.com",
    "VAL_SCHEMA_VIOLATION": "'name' is a required property\n\nFailed validating 'required' in schema",
    "VAL_MODEL_VALIDATION": "2 validation errors for ToolCall\nargs.limit\n  Input should be a valid integer",
    "VAL_MISSING_REQUIRED": "summarize() missing 1 required positional argument: 'text'",
    "VAL_PAYLOAD_TOO_LARGE": "413 Client Error: Request Entity Too Large for url: https://api.example.com",
    "VAL_UNPROCESSABLE_ENTITY": "422 Client Error: Unprocessable Entity for url: https://api.example.com",
    "VAL_BAD_REQUEST": "400 Client Error: Bad Request for url: https://api.example.com",
    "DATA_JSON_DECODE": "Expecting value: line 1 column 1 (char 0)",
    "DATA_ENCODING": "'utf-8' codec can't decode byte 0xff in position 0: invalid start byte",
    "DATA_CONSTRAINT_VIOLATION": 'duplicate key value violates unique constraint "runs_pkey"',
    "DATA_OBJECT_NOT_FOUND": "An error occurred (NoSuchKey) when calling the GetObject operation",
    "DATA_MISSING_KEY": "KeyError: 'choices'",
    "DATA_PARSE_ERROR": "time data '2026-13-01' does not match format '%Y-%m-%d'",
    "NET_DNS_RESOLUTION": "getaddrinfo ENOTFOUND api.example.com",
    "NET_TLS_ERROR": "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: unable to get local issuer",
    "NET_PROXY_ERROR": "ProxyError('Unable to connect to proxy', OSError('Tunnel connection failed: 407'))",
    "NET_CONNECTION_RESET": "[Errno 104] Connection reset by peer",
    "NET_HOST_UNREACHABLE": "[Errno 113] No route to host",
    "NET_CONNECT_TIMEOUT": "Connection to api.example.com timed out. (connect timeout=5)",
    "NET_READ_TIMEOUT": "HTTPSConnectionPool(host='x', port=443): Read timed out. (read timeout=30)",
    "NET_CONNECTION_REFUSED": "connect ECONNREFUSED 10.0.0.1:5432",
    "NET_CONNECTION_ERROR": "Connection error.",
    "NET_TIMEOUT": "operation timed out after 30000 milliseconds",
    "NET_HOST_KEY_REJECTED": "Host key verification failed.",
    "NET_TOO_MANY_REDIRECTS": "TooManyRedirects: Exceeded 30 redirects.",
    "INFRA_NOT_IMPLEMENTED": "501 Server Error: Not Implemented for url: https://api.example.com/v1/batch",
    "TOOL_EXECUTABLE_NOT_FOUND": "/bin/sh: 1: terraform: not found",
    "RUN_CANCELLED": "asyncio.exceptions.CancelledError",
    "RUN_RETRIES_EXHAUSTED": "tenacity.RetryError: RetryError[<Future at 0x7f state=finished raised ValueError>]",
    "AUTH_LOGIN_FAILED": "WRONGPASS invalid username-password pair or user is disabled.",
    "DATA_WRONG_TYPE": "WRONGTYPE Operation against a key holding the wrong kind of value",
    "DATA_CONFLICT": "409 Client Error: Conflict for url: https://api.example.com/v1/items/7",
}


def test_every_shipped_entry_is_reachable(shipped):
    assert set(SAMPLES) == set(shipped.by_code), "add a sample for each new catalog entry"
    wrong = {code: shipped.match(None, text).error_code for code, text in SAMPLES.items()
             if shipped.match(None, text).error_code != code}
    assert not wrong


def test_shipped_keywords_reach_entries(shipped):
    r = shipped.match(None, "the kafka broker went away")
    assert (r.error_code, r.match_type) == ("INFRA_CACHE_UNAVAILABLE", "keyword")
    r = shipped.match(None, "the prompt blew past the model context window with too much text")
    assert (r.error_code, r.match_type) == ("LLM_CONTEXT_LENGTH_EXCEEDED", "keyword")


GENERIC_SENTENCES = [
    "widget frobnication failed for batch 42",
    "unexpected state in planner: foo",
    "something went wrong",
    "operation failed",
    "error in step 3 of 7",
    "failed to process item 17",
    "could not complete the request for customer 1234",
    "the job finished with warnings",
    "task 12 failed after 3 attempts",
    "value out of range: 99",
    "invalid state transition from DRAFT to DONE",
    "the report is missing a summary section",
    "planner returned no plan for goal 'book a table'",
    "retrying step 4 of workflow onboarding",
    "batch 429 processed with 3 rejects",
    "shipment 503 delayed at warehouse 12",
    "the limit of the summary was reached early",
    "agent could not decide between two options",
    "result set empty for query 'weekly revenue'",
]


@pytest.mark.parametrize("sentence", GENERIC_SENTENCES)
def test_generic_sentences_miss(shipped, sentence):
    r = shipped.match(None, sentence)
    assert not r.matched, (sentence, r.error_code, r.match_type)


def test_synthetic_unknown_templates_miss(shipped):
    """The synthetic generator's unknown templates must stay unmatched (issue item 7)."""
    from demo.messages import UNKNOWN_TEMPLATES, fill_unknown

    rng = random.Random(3)
    hits = [(t, shipped.match(None, msg).error_code) for t in UNKNOWN_TEMPLATES
            for msg in (fill_unknown(t, rng) for _ in range(20)) if shipped.match(None, msg).matched]
    assert not hits


# ------------------------------------------------------------------ load_matcher on both engines


def test_load_matcher_uses_catalog_file_order_not_ids(engine):
    shipped_codes = [e.code for e in read_catalog_file()[1]]
    with engine.begin() as conn:
        # Re-create NET_READ_TIMEOUT so its id is now after the generic NET_TIMEOUT (as after a reload of a
        # catalog that gained the entry); the matcher must still try it first.
        row = conn.execute(select(catalog_entries).where(catalog_entries.c.code == "NET_READ_TIMEOUT")).mappings().one()
        conn.execute(delete(catalog_entries).where(catalog_entries.c.code == "NET_READ_TIMEOUT"))
        conn.execute(insert(catalog_entries).values({k: v for k, v in row.items() if k != "id"}))
        conn.execute(insert(catalog_entries).values(
            code="PROMOTED_X", category="TOOL", severity="low", message="promoted", patterns=["zorblax"],
            keywords=[], is_retryable=False, recovery_mode="SKIP", recovery_suggestions=[], created_by="ada",
            created_at=utcnow(), enabled=True))
        conn.execute(update(catalog_entries).where(catalog_entries.c.code == "SEC_PII_DETECTED").values(enabled=False))
    m = load_matcher(engine)
    codes = [e.code for e in m.entries]
    assert codes[-1] == "PROMOTED_X"
    assert codes[:-1] == [c for c in shipped_codes if c != "SEC_PII_DETECTED"]
    read = m.match(None, "HTTPConnectionPool(host='x', port=80): Read timed out. (read timeout=3)")
    assert read.error_code == "NET_READ_TIMEOUT"
    assert m.match(None, "zorblax overflow").error_code == "PROMOTED_X"
    assert not m.match(None, "PII detected in document 5").matched or \
        m.match(None, "PII detected in document 5").error_code != "SEC_PII_DETECTED"
    with engine.connect() as conn:
        m2 = load_matcher(conn)
    assert [e.code for e in m2.entries] == codes


def test_repeated_messages_give_the_same_result_with_each_code(small):
    message = "alpha failure 5"
    first = small.match(None, message)
    again = small.match(None, message)
    with_code = small.match("RUNTIME_X", message)
    assert first == again
    assert (with_code.entry, with_code.match_type, with_code.error_code) == (first.entry, "pattern", "RUNTIME_X")
    other = Matcher([entry("OTHER", patterns=["alpha"])])  # results are remembered per matcher only
    assert other.match(None, message).entry.code == "OTHER"


def test_bench_prints_json_lines(capsys):
    import json

    from bench.matcher import main

    main(["--messages", "300", "--rounds", "1"])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_name = {line["name"]: line for line in lines}
    assert by_name["matcher_messages_per_s"]["unit"] == "msg/s"
    assert by_name["matcher_messages_per_s"]["value"] > 0 and by_name["matcher_messages_per_s"]["messages"] == 300


@pytest.mark.parametrize(("message", "meaning"), [
    # Chromium's net:: errors, as browser automation (Playwright, Selenium, Puppeteer) reports them.
    ("selenium.common.exceptions.WebDriverException: Message: unknown error: net::ERR_NAME_NOT_RESOLVED",
     "NET_DNS_RESOLUTION"),
    ("Error: page.goto: net::ERR_CONNECTION_REFUSED at http://localhost:3000/", "NET_CONNECTION_REFUSED"),
    ("Error: page.goto: net::ERR_CONNECTION_RESET at https://shop.example/cart", "NET_CONNECTION_RESET"),
    # Rust's io::ErrorKind in a panic, .NET's command timeout, HikariCP's pool, a task's time limit.
    ("thread 'main' panicked at src/main.rs:10:5:\ncalled `Result::unwrap()` on an `Err` value: "
     "Os { code: 13, kind: PermissionDenied, message: \"Permission denied\" }", "PERM_FILE_ACCESS"),
    ("Microsoft.Data.SqlClient.SqlException (0x80131904): Execution Timeout Expired.  The timeout period elapsed "
     "prior to completion of the operation or the server is not responding.", "INFRA_DB_STATEMENT_TIMEOUT"),
    ("java.sql.SQLTransientConnectionException: HikariPool-1 - Connection is not available, request timed out "
     "after 30000ms.", "RES_POOL_EXHAUSTED"),
    ("celery.exceptions.TimeLimitExceeded: TimeLimitExceeded(300,)", "NET_TIMEOUT"),
])
def test_signals_of_runtimes_beyond_the_corpus(shipped, message, meaning):
    result = shipped.match(None, message)
    assert result.entry is not None and result.entry.code == meaning, result.reason
