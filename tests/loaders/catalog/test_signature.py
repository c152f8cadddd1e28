"""Signatures: the same failure with different variable parts groups together; different failures do not."""
from __future__ import annotations

import re

import pytest

from loaders.catalog.promotion import PLACEHOLDER_REGEX
from loaders.catalog.signature import normalise_message, signature_of

SAME = [
    # A tool's coloured stderr and the same text without its terminal codes.
    ("\x1b[31merror:\x1b[0m cannot open file '/tmp/a'", "error: cannot open file '/tmp/b'"),
    # numbers
    ("batch 42 failed after 3 retries", "batch 9001 failed after 17 retries"),
    ("took 1.5s, limit 30.0s", "took 12.25s, limit 60.0s"),
    # uuids, with and without dashes
    ("run 123e4567-e89b-12d3-a456-426614174000 lost", "run 9f1c2d3e-0000-4abc-8def-0123456789ab lost"),
    ("run 123e4567e89b12d3a456426614174000 lost", "run 9f1c2d3e00004abc8def0123456789ab lost"),
    # hex: 0x addresses, hashes and short ids
    ("object at 0x7f3a2b1c0d", "object at 0x55d1e0ff"),
    ("commit 8f3a2c1 broke it", "commit 1b2c3d4 broke it"),
    ("trace deadbeef0123 missing", "trace 0a1b2c3d4e5f missing"),
    # quoted values
    ("KeyError: 'choices'", "KeyError: 'usage'"),
    ('database "agents" does not exist', 'database "tenant_store" does not exist'),
    ("tool `web_search` missing", "tool `calendar.add` missing"),
    # urls
    ("429 Client Error: Too Many Requests for url: http://127.0.0.1:41791/429",
     "429 Client Error: Too Many Requests for url: https://api.example.com/v1/chat?x=1"),
    # paths, posix and windows
    ("[Errno 28] No space left on device: /tmp/agent-1/chunk.parquet",
     "[Errno 28] No space left on device: /var/lib/x/y.db"),
    (r"cannot open C:\Users\bob\run.log", r"cannot open D:\data\other.txt"),
    # ip addresses with ports
    ("connect ECONNREFUSED 10.0.0.1:5432", "connect ECONNREFUSED 192.168.12.40:6432"),
    ("no route to 10.0.3.17", "no route to 172.16.4.9"),
    # emails, timestamps
    ("mail to bob@example.com bounced", "mail to ops.team+x@corp.example.org bounced"),
    ("lease expired at 2026-11-29T02:05:38Z", "lease expired at 2025-01-02 13:14:15.123+01:00"),
    # case and whitespace
    ("Connection   Refused", "connection refused"),
    # a real library message with everything at once
    ("HTTPConnectionPool(host='127.0.0.1', port=41791): Max retries exceeded with url: /a (Caused by "
     "NewConnectionError(\"HTTPConnection(host='127.0.0.1', port=41791): Failed to establish a new connection: "
     "[Errno 111] Connection refused\"))",
     "HTTPConnectionPool(host='db.internal', port=8080): Max retries exceeded with url: /b/c (Caused by "
     "NewConnectionError(\"HTTPConnection(host='db.internal', port=8080): Failed to establish a new connection: "
     "[Errno 111] Connection refused\"))"),
]

DIFFERENT = [
    ("connection refused", "connection reset"),
    ("batch 42 failed", "batch 42 succeeded"),
    ("KeyError: 'choices'", "IndexError: 'choices'"),
    ("Expecting value: line 1 column 1 (char 0)", "Extra data: line 1 column 1 (char 0)"),
    ("429 Client Error: Too Many Requests for url: http://x/a", "503 Server Error: Service Unavailable for url: http://x/a"),
    ("widget frobnication failed for batch 42", "sprocket alignment drift of 3.1 units on spindle 42"),
]


@pytest.mark.parametrize(("a", "b"), SAME)
def test_same_failure_same_signature(a, b):
    assert normalise_message(a).lower() == normalise_message(b).lower()
    assert signature_of(a) == signature_of(b)


@pytest.mark.parametrize(("a", "b"), DIFFERENT)
def test_different_failures_different_signatures(a, b):
    assert signature_of(a) != signature_of(b)


def test_normalised_template_shows_placeholders():
    text = ("run 123e4567-e89b-12d3-a456-426614174000 at 10.0.0.1:5432 wrote /tmp/x.json for bob@example.com "
            "via https://api.example.com/v1 key 'abc' id 0xdeadbeef after 3 tries at 2026-11-29T02:05:38Z")
    assert normalise_message(text) == (
        "run <uuid> at <host> wrote <path> for <email> via <url> key <str> id <hex> after <n> tries at <time>"
    )


def test_words_with_digits_inside_are_kept():
    assert normalise_message("utf8 and http2 and psycopg2 and sha256") == "utf8 and http2 and psycopg2 and sha256"


def test_signature_shape_and_limits():
    sig = signature_of("anything at all 12")
    assert re.fullmatch(r"[0-9a-f]{16}", sig)
    assert len(normalise_message("x " * 10_000)) <= 400
    assert normalise_message("  \n  ") == ""


def test_placeholders_are_known_to_promotion():
    """Promotion turns templates back into regexes; it must know every placeholder we write."""
    text = ("a 1 b 0x1f c 8f3a2c1d d 123e4567-e89b-12d3-a456-426614174000 e 'q' f /p/q g 1.2.3.4 h x@y.com "
            "i http://u/v j 2026-01-01T00:00:00Z")
    used = set(re.findall(r"<(\w+)>", normalise_message(text)))
    assert used == {"n", "hex", "uuid", "str", "path", "ip", "email", "url", "time"}
    assert used <= set(PLACEHOLDER_REGEX)


def test_names_without_digits_are_normalised_too():
    a = normalise_message("tool output from vector-store.example.net refused for req_abcdefgh")
    b = normalise_message("tool output from search.prod.internal refused for req_zyxwvuts")
    assert a == b == "tool output from <host> refused for <id>"
