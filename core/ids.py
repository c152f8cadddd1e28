"""Failure ids: UUIDv7 (RFC 9562) whose 48-bit timestamp is the failure's created_at in milliseconds.

failure_matches is partitioned by week of created_at on PostgreSQL, so a lookup by id alone plans and probes
every partition (~3 ms at 18 partitions). An id made here also tells the millisecond of its row's created_at,
which turns a lookup into one partition's index probe (queries.failures.listing.id_bounds). Ids made elsewhere (an
event's own id, rows stored before these ids) carry no such promise: readers fall back to a lookup by id alone
when the narrowed one finds nothing.

An event's own `id` is an idempotency key within its tenant, not the stored id: the failure is stored under
event_failure_id(tenant, id), so two tenants sending the same id never meet, and an id that exists under
another tenant answers exactly like one that exists nowhere.
"""
from __future__ import annotations

import hashlib
import os
import uuid
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MILLISECOND = timedelta(milliseconds=1)
_MAX_MS = (1 << 48) - 1


def new_failure_id(created_at: datetime) -> uuid.UUID:
    """A fresh UUIDv7 carrying created_at's millisecond (a random UUIDv4 for times it cannot carry)."""
    ms = (created_at - EPOCH) // MILLISECOND
    if not 0 <= ms <= _MAX_MS:
        return uuid.uuid4()
    rand = int.from_bytes(os.urandom(10), "big")  # 74 of these 80 bits are kept
    value = (ms << 80) | (0x7 << 76) | ((rand >> 62) & 0xFFF) << 64 | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return uuid.UUID(int=value)


def id_created_ms(failure_id: uuid.UUID) -> datetime | None:
    """The millisecond a UUIDv7 names (the start of it, UTC), or None for other ids."""
    if failure_id.variant != uuid.RFC_4122 or failure_id.version != 7:
        return None
    return EPOCH + (failure_id.int >> 80) * MILLISECOND


def event_failure_id(tenant_id: str, event_id: uuid.UUID) -> uuid.UUID:
    """The stored id of an event sent with its own id: a UUIDv8 (RFC 9562) hashed from tenant and id."""
    key = b"failcat/event-id\0" + tenant_id.encode() + b"\0" + event_id.bytes
    digest = bytearray(hashlib.sha256(key).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x80  # version 8
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC variant
    return uuid.UUID(bytes=bytes(digest))


def group_id(tenant_id: str, signature: str) -> uuid.UUID:
    """The id of a tenant's group of one signature: a UUIDv8 hashed from both, the same wherever it is computed."""
    key = b"failcat/group\0" + tenant_id.encode() + b"\0" + signature.encode()
    digest = bytearray(hashlib.sha256(key).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x80  # version 8
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC variant
    return uuid.UUID(bytes=bytes(digest))


class FailureIdError(ValueError):
    """A failure id is not a valid UUID."""


def parse_failure_id(failure_id: uuid.UUID | str) -> uuid.UUID:
    """A failure id from its text; FailureIdError (a ValueError) when it is not a UUID."""
    if isinstance(failure_id, uuid.UUID):
        return failure_id
    try:
        return uuid.UUID(str(failure_id).strip())
    except (ValueError, AttributeError, TypeError) as exc:
        raise FailureIdError("a failure id is a UUID such as 3f2b8c1e-...; this one is not") from exc
