"""Families of synthetic failure texts, several per catalog area, as libraries and SDKs print them."""
from __future__ import annotations

import random
from collections.abc import Callable

from demo.vocab import (
    DBS,
    FIELDS,
    HOSTS,
    IPS,
    PATHS,
    S3_OPS,
    SKILLS_T,
    Template,
    hex_id,
    url_of,
    uuid_str,
)


def _sec(rng: random.Random) -> tuple[str, ...]:
    return (
        f"SecretLeakDetected: api key detected in tool output of step {rng.randint(0, 40)} "
        f"(fingerprint {hex_id(rng, 8)})",
        f"PII detected in model output for field {rng.choice(FIELDS)}: email address and phone number",
        f"sandbox violation: disallowed system call ptrace from pid {rng.randint(100, 60000)}",
        f"blocked outbound request to private address 169.254.169.254 (SSRF) from tool '{rng.choice(SKILLS_T)}'",
    )


def _ckpt(rng: random.Random) -> tuple[str, ...]:
    cid = uuid_str(rng)
    return (
        f"checkpoint file is corrupted: /var/lib/agent/checkpoints/{cid}.ckpt (checksum mismatch)",
        f"checkpoint format version mismatch: expected 3, found {rng.randint(4, 9)} in {cid}",
        f"checkpoint '{cid}' was not found in s3://run-checkpoints/{hex_id(rng, 8)}/",
        f"failed to save checkpoint {cid}: [Errno 5] Input/output error",
        f"failed to restore from checkpoint {cid} at step {rng.randint(1, 90)}",
    )


def _llm_misc(rng: random.Random) -> tuple[str, ...]:
    return (
        f"completion truncated: finish_reason='length' after {rng.choice((1024, 2048, 4096))} tokens",
        f"OutputParserException: Could not parse LLM output: `{hex_id(rng, 6)} I think the answer is`",
        "Error code: 529 - {'type': 'error', 'error': {'type': 'overloaded_error', 'message': 'Overloaded'}}",
    )


def _tool_misc(rng: random.Random) -> tuple[str, ...]:
    tool = rng.choice(SKILLS_T)
    return (
        f"tool '{tool}_v{rng.randint(2, 9)}' is not registered",
        f"invalid tool call arguments for {tool}: Expecting property name at char {rng.randint(1, 300)}",
        f"tool '{tool}' timed out after {rng.randint(10, 300)} seconds",
        f"Agent stopped due to iteration limit or time limit after {rng.randint(15, 50)} steps",
        f"Command '['python', '/tmp/job_{hex_id(rng, 6)}.py']' returned non-zero exit status {rng.randint(1, 137)}.",
        f"ToolException: error while running the tool {tool}: upstream returned an empty body",
    )


def _res_misc(rng: random.Random) -> tuple[str, ...]:
    return (
        f"QueuePool limit of size {rng.choice((5, 10, 20))} overflow 10 reached, connection timed out, timeout 30.00",
        f"[Errno 24] Too many open files: '/tmp/agent-{hex_id(rng, 8)}/part-{rng.randint(0, 999)}.json'",
        "maximum recursion depth exceeded while calling a Python object",
        f"can't start new thread (workers={rng.randint(100, 4000)})",
        f"MemoryError: Unable to allocate {rng.randint(1, 64)}.{rng.randint(0, 9)} GiB for an array",
    )


def _infra_misc(rng: random.Random) -> tuple[str, ...]:
    return (
        f"Error 111 connecting to redis-{rng.randint(0, 5)}.cache.internal:6379. Connection refused.",
        f"503 Server Error: Service Unavailable for url: {url_of(rng)}",
        f"502 Server Error: Bad Gateway for url: {url_of(rng)}",
        f"504 Server Error: Gateway Timeout for url: {url_of(rng)}",
        f"500 Server Error: Internal Server Error for url: {url_of(rng)}",
        f"Server error '507 Insufficient Storage' for url '{url_of(rng)}'",
        "canceling statement due to statement timeout",
        f'relation "{rng.choice(DBS)}_v{rng.randint(2, 9)}" does not exist',
        f"could not obtain lock on row in relation \"{rng.choice(DBS)}\"",
    )


def _val_misc(rng: random.Random) -> tuple[str, ...]:
    return (
        f"'{rng.choice(('query', 'limit', 'email'))}' is a required property\n\nFailed validating 'required' in schema",
        f"{rng.randint(2, 9)} validation errors for SearchArgs",
        f"missing required parameter 'customer_id' in request {uuid_str(rng)}",
        f"413 Client Error: Request Entity Too Large for url: {url_of(rng)}",
        f"422 Client Error: Unprocessable Entity for url: {url_of(rng)}",
        f"400 Client Error: Bad Request for url: {url_of(rng)}",
    )


def _data_misc(rng: random.Random) -> tuple[str, ...]:
    return (
        f"'utf-8' codec can't decode byte 0x{hex_id(rng, 2)} in position {rng.randint(0, 9999)}: invalid start byte",
        f'duplicate key value violates unique constraint "{rng.choice(DBS)}_pkey"\n'
        f"DETAIL:  Key (id)=({rng.randint(1, 10**6)}) already exists.",
        f"404 Client Error: Not Found for url: {url_of(rng)}",
        "An error occurred (NoSuchKey) when calling the GetObject operation: The specified key does not exist.",
        f"KeyError: '{rng.choice(('choices', 'usage', 'data', 'results'))}'",
        f"time data '{rng.randint(1, 31)}/13/2026' does not match format '%d/%m/%Y'",
    )


def _net_misc(rng: random.Random) -> tuple[str, ...]:
    host = rng.choice(HOSTS)
    return (
        f"HTTPSConnectionPool(host='{host}', port=443): Max retries exceeded with url: {rng.choice(PATHS)} "
        "(Caused by ProxyError('Unable to connect to proxy', OSError('Tunnel connection failed: 407 Proxy "
        "Authentication Required')))",
        f"[Errno 113] No route to host: ('{rng.choice(IPS)}', {rng.choice((443, 8080))})",
        f"HTTPSConnectionPool(host='{host}', port=443): Max retries exceeded with url: {rng.choice(PATHS)} "
        f"(Caused by ConnectTimeoutError(<urllib3.connection.HTTPSConnection object at 0x7f{hex_id(rng, 10)}>, "
        f"'Connection to {host} timed out. (connect timeout=10)'))",
        "Connection error.",
        f"HTTPSConnectionPool(host='{host}', port=443): Read timed out. (read timeout={rng.choice((10, 30, 60))})",
    )


def _auth_misc(rng: random.Random) -> tuple[str, ...]:
    return (
        "Unable to locate credentials",
        f"An error occurred (ExpiredToken) when calling the {rng.choice(S3_OPS)} operation: The security token "
        "included in the request is expired",
        f"jwt expired at {rng.randint(2024, 2026)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
        f"T0{rng.randint(0, 9)}:00:00Z",
        "Error code: 401 - {'type': 'error', 'error': {'type': 'authentication_error', "
        "'message': 'invalid x-api-key'}}",
        f"An error occurred (ThrottlingException) when calling the InvokeModel operation (reached max retries: "
        f"{rng.randint(2, 9)}): Too many requests, please wait before trying again.",
        f"monthly token budget exceeded for tenant workspace {hex_id(rng, 6)} ({rng.randint(101, 140)}% used)",
    )


# Every template; the generator picks, per catalog entry, those whose texts the catalog matches to that entry.
FAMILIES = (_sec, _ckpt, _llm_misc, _tool_misc, _res_misc, _infra_misc, _val_misc, _data_misc, _net_misc, _auth_misc)


def variant(family: Callable[[random.Random], tuple[str, ...]], k: int) -> Template:
    """The k-th text of a family as a template of its own."""
    def template(rng: random.Random) -> str:
        return family(rng)[k]

    template.__name__ = f"{family.__name__}_{k}"
    return template


FAMILY_TEMPLATES: tuple[Template, ...] = tuple(
    variant(f, k) for f in FAMILIES for k in range(len(f(random.Random(0))))
)
