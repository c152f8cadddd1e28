"""Data decoding and parsing errors: json, PyYAML, xml.etree, csv, datetime, codecs, tomllib, pickle, KeyError."""

from __future__ import annotations

import base64
import csv
import datetime as dt
import io
import json
import pickle
import tomllib
import xml.etree.ElementTree as ET

from .common import Corpus, stdlib, ver
from .http_clients import catch

FAM = "data"


def run(c: Corpus):
    lib = stdlib("json")
    for text, what in (('{"tool": "search", "arguments": {"q": "x"', "truncated JSON object"),
                       ("{'tool': 'search'}", "single-quoted pseudo-JSON"),
                       ("", "empty string"),
                       ('{"a": 1} trailing words', "JSON followed by extra text")):
        e = catch(json.loads, text)
        c.exc(e, lib, FAM, f"json.loads of {what}", "DATA_JSON_DECODE")
    try:
        import yaml

        e = catch(yaml.safe_load, "steps:\n  - name: fetch\n   url: http://x\n")
        c.exc(e, ver("PyYAML"), FAM, "yaml.safe_load of badly indented YAML", "DATA_PARSE_ERROR")
        e = catch(yaml.safe_load, "key: [unclosed\n")
        c.exc(e, ver("PyYAML"), FAM, "yaml.safe_load of an unclosed flow sequence", "DATA_PARSE_ERROR")
    except ImportError:
        pass
    e = catch(ET.fromstring, "<result><item>1</result>")
    c.exc(e, stdlib("xml.etree"), FAM, "ElementTree.fromstring of mismatched tags", "DATA_PARSE_ERROR")
    e = catch(lambda: list(csv.reader(io.StringIO('a,"b\nc,d'), strict=True)))
    c.exc(e, stdlib("csv"), FAM, "csv.reader(strict=True) on an unterminated quote", "DATA_PARSE_ERROR")
    e = catch(dt.datetime.strptime, "2024-13-45", "%Y-%m-%d")
    c.exc(e, stdlib("datetime"), FAM, "strptime of an impossible date", "DATA_PARSE_ERROR", allow_local=True)
    e = catch(dt.datetime.fromisoformat, "yesterday 10am")
    c.exc(e, stdlib("datetime"), FAM, "fromisoformat of free text", "DATA_PARSE_ERROR", allow_local=True, style="name")
    e = catch(int, "12.5k")
    c.exc(e, stdlib("builtins"), FAM, "int() of '12.5k'", "DATA_PARSE_ERROR", allow_local=True, style="name")
    e = catch(b"caf\xe9 cr\xe8me".decode, "utf-8")
    c.exc(e, stdlib("codecs"), FAM, "latin-1 bytes decoded as UTF-8", "DATA_ENCODING", allow_local=True)
    e = catch("naïve café".encode, "ascii")
    c.exc(e, stdlib("codecs"), FAM, "non-ASCII text encoded as ASCII", "DATA_ENCODING", style="qual",
          allow_local=True)
    e = catch(tomllib.loads, 'name = "agent"\nname = "other"\n')
    c.exc(e, stdlib("tomllib"), FAM, "tomllib.loads with a duplicated key", "DATA_PARSE_ERROR")
    e = catch(base64.b64decode, "eyJhbGciOiJIUzI1NiJ9x", validate=True)
    c.exc(e, stdlib("base64"), FAM, "b64decode of a string with bad padding", "DATA_ENCODING",
          accept=["DATA_PARSE_ERROR"])
    blob = pickle.dumps({"step": 7, "state": list(range(100))})
    e = catch(pickle.loads, blob[: len(blob) // 2])
    c.exc(e, stdlib("pickle"), FAM, "pickle.loads of a checkpoint cut in half", "CKPT_CORRUPTED",
          accept=["DATA_PARSE_ERROR"])
    resp = {"id": "chatcmpl-1", "object": "chat.completion", "error": {"message": "overloaded"}}
    e = catch(lambda: resp["choices"][0]["message"])
    c.exc(e, stdlib("builtins"), FAM, "resp['choices'] on a response without that key", "DATA_MISSING_KEY",
          allow_local=True, style="name")
    e = catch(lambda: resp["usage"]["total_tokens"])
    c.exc(e, stdlib("builtins"), FAM, "resp['usage'] on a response without that key (traceback's last line)",
          "DATA_MISSING_KEY", allow_local=True, style="tb")
    e = catch(lambda: None.content)
    c.exc(e, stdlib("builtins"), FAM, "attribute access on a message that is None", "DATA_MISSING_KEY",
          allow_local=True, style="name")
