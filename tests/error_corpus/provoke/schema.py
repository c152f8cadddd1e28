"""Schema and model validators: jsonschema, fastjsonschema, pydantic, marshmallow, cerberus, voluptuous, dataclasses."""

from __future__ import annotations

import dataclasses

from .common import Corpus, stdlib, ver
from .http_clients import catch

FAM = "schema"
SCHEMA = {
    "type": "object",
    "required": ["tenant_id", "run_id", "error_message"],
    "additionalProperties": False,
    "properties": {
        "tenant_id": {"type": "string", "pattern": "^[a-z0-9-]+$"},
        "run_id": {"type": "string"},
        "error_message": {"type": "string", "maxLength": 50},
        "step_index": {"type": "integer", "minimum": 0},
        "severity": {"enum": ["low", "medium", "high"]},
    },
}
GOOD = {"tenant_id": "acme", "run_id": "r1", "error_message": "boom"}
BAD_DOCS = [
    ({"run_id": "r1", "error_message": "boom"}, "document missing a required property", "VAL_SCHEMA_VIOLATION",
     ["VAL_MISSING_REQUIRED"]),
    ({**GOOD, "step_index": "three"}, "string where the schema wants an integer", "VAL_SCHEMA_VIOLATION", None),
    ({**GOOD, "severity": "urgent"}, "value outside an enum", "VAL_SCHEMA_VIOLATION", None),
    ({**GOOD, "colour": "red"}, "property the schema does not allow", "VAL_SCHEMA_VIOLATION", None),
    ({**GOOD, "tenant_id": "ACME Corp"}, "string that does not match the pattern", "VAL_SCHEMA_VIOLATION", None),
    ({**GOOD, "step_index": -1}, "integer below the minimum", "VAL_SCHEMA_VIOLATION", None),
]


def _jsonschema(c: Corpus):
    import jsonschema

    lib = ver("jsonschema")
    for doc, what, meaning, accept in BAD_DOCS:
        e = catch(jsonschema.validate, doc, SCHEMA)
        c.exc(e, lib, FAM, f"jsonschema.validate of a {what}", meaning, accept=accept,
              style="name" if len(c.records) % 2 else "str")

def _fastjsonschema(c: Corpus):
    import fastjsonschema

    lib = ver("fastjsonschema")
    validate = fastjsonschema.compile(SCHEMA)
    for doc, what, meaning, accept in BAD_DOCS[:5]:
        e = catch(validate, doc)
        c.exc(e, lib, FAM, f"compiled validator on a {what}", meaning, accept=accept)


def _pydantic(c: Corpus):
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, Field

    lib = ver("pydantic")

    class FailureEvent(BaseModel):
        model_config = ConfigDict(extra="forbid")
        tenant_id: str
        run_id: str
        error_message: str = Field(max_length=50)
        step_index: int = 0
        severity: Literal["low", "medium", "high"] = "low"

    for doc, what, meaning, accept in (
        ({"run_id": "r1", "error_message": "boom"}, "missing field", "VAL_MODEL_VALIDATION", ["VAL_MISSING_REQUIRED"]),
        ({**GOOD, "step_index": "three"}, "non-numeric string for an int field", "VAL_MODEL_VALIDATION", None),
        ({**GOOD, "severity": "urgent", "colour": "red"}, "bad literal and an extra field", "VAL_MODEL_VALIDATION",
         None),
        ({**GOOD, "error_message": "x" * 80}, "string longer than max_length", "VAL_MODEL_VALIDATION", None),
    ):
        e = catch(FailureEvent.model_validate, doc)
        c.exc(e, lib, FAM, f"model_validate with a {what}", meaning, accept=accept, style="tb" if accept else None)
    e = catch(FailureEvent.model_validate_json, '{"tenant_id": "acme", "run_id": ')
    c.exc(e, lib, FAM, "model_validate_json of truncated JSON", "DATA_JSON_DECODE", accept=["VAL_MODEL_VALIDATION"])


def _marshmallow(c: Corpus):
    from marshmallow import Schema, fields, validate

    lib = ver("marshmallow")

    class EventSchema(Schema):
        tenant_id = fields.String(required=True)
        run_id = fields.String(required=True)
        step_index = fields.Integer()
        severity = fields.String(validate=validate.OneOf(["low", "medium", "high"]))
        occurred_at = fields.DateTime()

    for doc, what, accept in (
        ({"run_id": "r1"}, "missing required field", ["VAL_MISSING_REQUIRED"]),
        ({"tenant_id": "a", "run_id": "r", "step_index": "three"}, "non-numeric string for an Integer field", None),
        ({"tenant_id": "a", "run_id": "r", "severity": "urgent", "colour": "red"}, "bad choice and an unknown field",
         None),
        ({"tenant_id": "a", "run_id": "r", "occurred_at": "yesterday"}, "unparseable DateTime", None),
    ):
        e = catch(EventSchema().load, doc)
        c.exc(e, lib, FAM, f"Schema.load with a {what}", "VAL_MODEL_VALIDATION", accept=accept)


def _cerberus(c: Corpus):
    import cerberus

    lib = ver("cerberus", "Cerberus")
    v = cerberus.Validator({"tenant_id": {"type": "string", "required": True},
                            "step_index": {"type": "integer", "min": 0},
                            "severity": {"allowed": ["low", "medium", "high"]}})
    for doc, what, accept in (({"step_index": 1}, "missing required field", ["VAL_MISSING_REQUIRED"]),
                              ({"tenant_id": "a", "step_index": "three", "severity": "urgent"},
                               "wrong type and a disallowed value", None)):
        v.validate(doc)
        c.add(lib, FAM, f"Validator.validate with a {what}; the runtime logs str(validator.errors)", str(v.errors),
              "VAL_MODEL_VALIDATION", accept)
    e = catch(v.validate, ["not", "a", "dict"])
    c.exc(e, lib, FAM, "Validator.validate of a list instead of a mapping", "VAL_MODEL_VALIDATION",
          accept=["DATA_WRONG_TYPE"])


def _voluptuous(c: Corpus):
    import voluptuous as vol

    lib = ver("voluptuous")
    schema = vol.Schema({vol.Required("tenant_id"): str, "step_index": int,
                         "severity": vol.In(["low", "medium", "high"])})
    e = catch(schema, {"step_index": 1})
    c.exc(e, lib, FAM, "schema() on a dict missing a required key", "VAL_MISSING_REQUIRED",
          accept=["VAL_MODEL_VALIDATION"])
    e = catch(schema, {"tenant_id": "a", "step_index": "three"})
    c.exc(e, lib, FAM, "schema() with a string for an int key", "VAL_MODEL_VALIDATION")
    e = catch(schema, {"tenant_id": "a", "colour": "red"})
    c.exc(e, lib, FAM, "schema() with an extra key", "VAL_MODEL_VALIDATION")
    e = catch(schema, {"tenant_id": "a", "severity": "urgent"})
    c.exc(e, lib, FAM, "schema() with a value outside vol.In", "VAL_MODEL_VALIDATION")


def _dataclass(c: Corpus):
    @dataclasses.dataclass
    class ToolCall:
        name: str
        arguments: dict

    e = catch(lambda: ToolCall(**{"name": "search"}))
    c.exc(e, stdlib("dataclasses"), FAM, "dataclass built from a dict missing a field", "VAL_MISSING_REQUIRED",
          allow_local=True, style="name")


def run(c: Corpus):
    for fn in (_jsonschema, _fastjsonschema, _pydantic, _marshmallow, _cerberus, _voluptuous, _dataclass):
        fn(c)
