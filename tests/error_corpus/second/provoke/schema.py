"""Validators not in the main corpus: jsonschema-rs, openapi-spec-validator, msgspec, cattrs, attrs, schema,
trafaret, valideer, typeguard, beartype, jsonpointer, jsonpatch, jsonpath-ng."""

from __future__ import annotations

from .common import Corpus, catch, ver

FAM = "schema"
RUN = {"model": "gpt-x", "max_tokens": "many", "messages": [{"role": "robot", "content": "hi"}]}
SCHEMA = {"type": "object", "required": ["model", "messages"],
          "properties": {"model": {"type": "string"}, "max_tokens": {"type": "integer", "minimum": 1},
                         "messages": {"type": "array", "items": {
                             "type": "object", "required": ["role", "content"],
                             "properties": {"role": {"enum": ["system", "user", "assistant", "tool"]},
                                            "content": {"type": "string"}}}}},
          "additionalProperties": False}


def _jsonschema_rs(c: Corpus):
    import jsonschema_rs

    lib = ver("jsonschema-rs")
    e = catch(jsonschema_rs.validate, SCHEMA, RUN)
    c.exc(e, lib, FAM, "validate a request whose max_tokens is text", "VAL_SCHEMA_VIOLATION", must="integer")
    e = catch(jsonschema_rs.validate, SCHEMA, {"messages": [], "temperature": 0.2})
    c.exc(e, lib, FAM, "validate a request with an extra property and no model", "VAL_SCHEMA_VIOLATION",
          accept=["VAL_MISSING_REQUIRED"])
    e = catch(jsonschema_rs.validator_for, {"type": "integr"})
    c.exc(e, lib, FAM, "compile a schema with an unknown type name", "VAL_SCHEMA_VIOLATION", allow_local=True)


def _openapi(c: Corpus):
    from openapi_spec_validator import validate

    lib = ver("openapi-spec-validator")
    spec = {"openapi": "3.1.0", "info": {"title": "runs"},
            "paths": {"/runs/{id}": {"get": {"responses": {"200": {"description": "ok"}}}}}}
    e = catch(validate, spec)
    c.exc(e, lib, FAM, "validate an OpenAPI 3.1 document whose info lacks version", "VAL_SCHEMA_VIOLATION",
          accept=["VAL_MISSING_REQUIRED"], must="version")


def _msgspec_types():
    import msgspec

    global Message, Req

    class Message(msgspec.Struct):
        role: str
        content: str

    class Req(msgspec.Struct, forbid_unknown_fields=True):
        model: str
        messages: list[Message]
        max_tokens: int = 256

    return Req


def _attrs_types():
    import attrs

    global Step, Plan

    @attrs.define
    class Step:
        name: str
        retries: int

    @attrs.define
    class Plan:
        steps: list[Step]
        budget: float

    return Plan


def _msgspec(c: Corpus):
    import msgspec

    lib = ver("msgspec")

    Req = _msgspec_types()
    e = catch(msgspec.json.decode, b'{"model": "m", "messages": [], "max_tokens": "many"}', type=Req)
    c.exc(e, lib, FAM, "decode a request whose max_tokens is text into a Struct", "VAL_MODEL_VALIDATION",
          must="int")
    e = catch(msgspec.json.decode, b'{"model": "m", "messages": [{"role": "user"}]}', type=Req)
    c.exc(e, lib, FAM, "decode a message without content into a Struct", "VAL_MISSING_REQUIRED",
          must="content")
    e = catch(msgspec.json.decode, b'{"model": "m", "messages": [], ', type=Req)
    c.exc(e, lib, "data", "decode truncated JSON", "DATA_JSON_DECODE", accept=["DATA_PARSE_ERROR"], must="truncated")
    e = catch(msgspec.msgpack.decode, b"\xc1\x00\x01")
    c.exc(e, lib, "data", "msgpack-decode bytes that are not msgpack", "DATA_PARSE_ERROR")


def _cattrs(c: Corpus):
    import attrs
    import cattrs

    lib = ver("cattrs")

    Plan = _attrs_types()
    conv = cattrs.Converter(detailed_validation=True)
    e = catch(conv.structure, {"steps": [{"name": "fetch", "retries": "three"}], "budget": "lots"}, Plan)
    if e is not None:
        msgs = cattrs.transform_error(e)
        c.exc(e, lib, FAM, "structure a plan with text for an int and a float", "VAL_MODEL_VALIDATION",
              style="qual", must="structuring")
        c.add(lib, FAM, "transform_error() of the same failure, as logged",
              "; ".join(msgs), "VAL_MODEL_VALIDATION")
    e = catch(cattrs.Converter(detailed_validation=False).structure, {"steps": []}, Plan)
    c.exc(e, lib, FAM, "structure a plan without its budget (no detailed validation)", "DATA_MISSING_KEY",
          accept=["VAL_MISSING_REQUIRED"], allow_local=True)
    lib = ver("attrs")

    @attrs.define
    class Limit:
        tokens: int = attrs.field(validator=attrs.validators.instance_of(int))
        temperature: float = attrs.field(validator=[attrs.validators.ge(0), attrs.validators.le(2)], default=1.0)

    e = catch(Limit, tokens="4096")
    c.exc(e, lib, FAM, "attrs instance_of(int) validator given a string", "VAL_MODEL_VALIDATION",
          must="tokens", allow_local=True)
    e = catch(Limit, tokens=1, temperature=3.5)
    c.exc(e, lib, FAM, "attrs le(2) validator given 3.5", "VAL_MODEL_VALIDATION", must="temperature",
          allow_local=True)


def _schema(c: Corpus):
    from schema import And, Optional, Schema, Use

    lib = ver("schema")
    s = Schema({"model": str, "messages": [{"role": And(str, lambda r: r in ("user", "system")), "content": str}],
                Optional("max_tokens"): Use(int)})
    e = catch(s.validate, {"messages": []})
    c.exc(e, lib, FAM, "validate a request without model", "VAL_MISSING_REQUIRED",
          must="Missing key")
    e = catch(s.validate, {"model": "m", "messages": [], "max_tokens": "many"})
    c.exc(e, lib, FAM, "validate a request whose max_tokens cannot become an int", "VAL_MODEL_VALIDATION",
          must="max_tokens")
    e = catch(s.validate, {"model": "m", "messages": [], "stream": True})
    c.exc(e, lib, FAM, "validate a request with an unexpected key", "VAL_MODEL_VALIDATION",
          accept=["VAL_SCHEMA_VIOLATION"], must="stream")


def _trafaret(c: Corpus):
    import trafaret as t

    lib = ver("trafaret")
    tr = t.Dict({"model": t.String(), "max_tokens": t.ToInt(gte=1), "endpoint": t.URL})
    e = catch(tr.check, {"model": "m", "max_tokens": "many", "endpoint": "not a url"})
    c.exc(e, lib, FAM, "check a config with text for an int and a bad URL", "VAL_MODEL_VALIDATION", must="int")
    e = catch(tr.check, {"max_tokens": 5, "endpoint": "https://api.example.invalid"})
    c.exc(e, lib, FAM, "check a config without model", "VAL_MISSING_REQUIRED",
          must="required")


def _valideer(c: Corpus):
    import valideer as V

    lib = ver("valideer")
    sch = V.parse({"+model": "string", "+max_tokens": V.Range("integer", 1, 8192), "temperature": "number"})
    e = catch(sch.validate, {"model": "m", "max_tokens": 100000})
    c.exc(e, lib, FAM, "validate max_tokens above its range", "VAL_MODEL_VALIDATION", must="max_tokens",
          allow_local=True)
    e = catch(sch.validate, {"max_tokens": 10})
    c.exc(e, lib, FAM, "validate a document without the required model", "VAL_MISSING_REQUIRED",
          must="model", allow_local=True)


def _typeguard(c: Corpus):
    from typeguard import typechecked

    lib = ver("typeguard")

    @typechecked
    def schedule(run_id: int, tags: list[str]) -> None:
        return None

    e = catch(schedule, "42", ["a"])
    c.exc(e, lib, FAM, "call a @typechecked function with a str for an int", "VAL_MODEL_VALIDATION",
          must="int")
    e = catch(schedule, 42, [7])
    c.exc(e, lib, FAM, "call a @typechecked function with an int inside list[str]", "VAL_MODEL_VALIDATION",
          must="str")
    import beartype
    from beartype import beartype as bt

    lib = ver("beartype")

    @bt
    def charge(tenant: str, cents: int) -> int:
        return cents

    e = catch(charge, "acme", 12.5)
    c.exc(e, lib, FAM, "call a @beartype function with a float for an int", "VAL_MODEL_VALIDATION",
          must="cents")
    del beartype


def _json_tools(c: Corpus):
    import jsonpatch
    import jsonpointer
    from jsonpath_ng import parse

    doc = {"run": {"id": 42, "steps": [{"name": "fetch"}]}}
    lib = ver("jsonpointer")
    e = catch(jsonpointer.resolve_pointer, doc, "/run/owner/email")
    c.exc(e, lib, "data", "resolve a JSON pointer to a member that does not exist", "DATA_MISSING_KEY",
          must="owner")
    lib = ver("jsonpatch")
    e = catch(jsonpatch.apply_patch, doc, [{"op": "replace", "path": "/run/status", "value": "done"}])
    c.exc(e, lib, "data", "apply a replace patch to a member that does not exist", "DATA_MISSING_KEY",
          must="status")
    e = catch(jsonpatch.apply_patch, doc, [{"op": "test", "path": "/run/id", "value": 43}])
    c.exc(e, lib, "data", "apply a patch whose test op fails (id is 42, not 43)", "DATA_CONFLICT",
          must="43")
    lib = ver("jsonpath-ng")
    e = catch(parse, "$.run.steps[?(@.name == 'fetch')]")
    c.exc(e, lib, "data", "parse a JSONPath filter expression the basic parser does not support", "DATA_PARSE_ERROR",
          allow_local=True)


def run(c: Corpus):
    for fn in (_jsonschema_rs, _openapi, _msgspec, _cattrs, _schema, _trafaret, _typeguard, _json_tools):
        try:
            fn(c)
        except Exception:  # noqa: BLE001
            import traceback
            c.skipped.append(f"{fn.__name__} crashed: {traceback.format_exc()[-1500:]}")
