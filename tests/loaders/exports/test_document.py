"""Export documents validate against the published JSON Schema (docs/export-schema.v1.json)."""
from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from core.types import utcnow
from loaders.exports import document as aggregate
from tests.support.exports import seed_failures

SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "docs" / "export-schema.v1.json").read_text())


def test_schema_is_valid_json_schema():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


@pytest.mark.parametrize("tenant", [None, "t1", "nobody"])
def test_documents_validate(engine, tenant):
    seed_failures(engine)
    with engine.connect() as conn:
        doc = aggregate.build_document(conn, tenant_id=tenant, days=7, min_occurrences=1)
    jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker()).validate(
        json.loads(aggregate.render(doc)))
    assert doc["schema_version"] == aggregate.SCHEMA_VERSION
    assert (doc["summary"]["hit_rate"] is None) == (doc["summary"]["total_failures"] == 0)


def test_schema_rejects_unknown_fields_and_versions(engine):
    with engine.connect() as conn:
        doc = aggregate.build_document(conn, tenant_id=None, days=1, now=utcnow())
    validator = jsonschema.Draft202012Validator(SCHEMA)
    assert validator.is_valid(doc)
    assert not validator.is_valid({**doc, "surprise": 1})
    assert not validator.is_valid({**doc, "schema_version": "2.0"})
