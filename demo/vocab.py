"""Shared vocabulary of synthetic failure messages: hosts, paths, models and random id helpers."""
from __future__ import annotations

import random
import uuid
from collections.abc import Callable

HOSTS = (
    "api.openai.com", "api.anthropic.com", "search.internal.example", "payments.svc.cluster.local",
    "db-primary.prod.internal", "s3.eu-west-1.amazonaws.com", "vector-store.example.net",
    "crm.example.com", "geo.api.example.org", "weather.example.io",
)
IPS = ("10.0.3.17", "10.0.8.201", "172.16.4.9", "192.168.12.40", "10.42.0.7")
PATHS = ("/v1/chat/completions", "/v1/embeddings", "/api/v2/orders", "/search", "/v3/customers/lookup",
         "/graphql", "/v1/messages", "/internal/features")
MODELS = ("gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "text-embedding-3-large")
BUCKETS = ("agent-artifacts", "run-checkpoints", "tenant-uploads")
S3_OPS = ("PutObject", "GetObject", "ListObjectsV2", "HeadObject")
FIELDS = ("arguments.query", "arguments.limit", "items.0.price", "customer_id", "plan.steps")
DBS = ("agents", "runs", "analytics", "tenant_store")

Template = Callable[[random.Random], str]
SKILLS_T = ("web_search", "sql_query", "send_email", "fetch_page", "code_exec")


def hex_id(rng: random.Random, n: int = 12) -> str:
    """n random hex digits."""
    return f"{rng.getrandbits(4 * n):0{n}x}"


def uuid_str(rng: random.Random) -> str:
    """A random uuid4 as text."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def url_of(rng: random.Random) -> str:
    """A random https URL on one of HOSTS."""
    return f"https://{rng.choice(HOSTS)}{rng.choice(PATHS)}"
