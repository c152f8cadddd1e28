"""Parsers and data libraries not in the main corpus: orjson, ujson, simplejson, tomlkit, ruamel.yaml, lxml,
xmltodict, pandas, numpy, python-dateutil."""

from __future__ import annotations

import io

from .common import Corpus, catch, ver

FAM = "data"


def run(c: Corpus):
    import orjson
    import simplejson
    import ujson

    e = catch(orjson.loads, '{"model": "m", "messages": [}')
    c.exc(e, ver("orjson"), FAM, "loads of malformed JSON", "DATA_JSON_DECODE")
    e = catch(orjson.loads, "<html><head><title>502 Bad Gateway</title></head></html>")
    c.exc(e, ver("orjson"), FAM, "loads of an HTML error page", "DATA_JSON_DECODE", style="qual")
    e = catch(orjson.dumps, {"started": object()})
    c.exc(e, ver("orjson"), FAM, "dumps of an object orjson cannot serialize", "DATA_WRONG_TYPE",
          allow_local=True)
    e = catch(ujson.loads, "{'single': 'quotes'}")
    c.exc(e, ver("ujson"), FAM, "loads of a Python-literal dict (single quotes)", "DATA_JSON_DECODE")
    e = catch(ujson.loads, '{"a": 1')
    c.exc(e, ver("ujson"), FAM, "loads of truncated JSON", "DATA_JSON_DECODE", style="qual")
    e = catch(simplejson.loads, '{"a": 1,}')
    c.exc(e, ver("simplejson"), FAM, "loads of JSON with a trailing comma", "DATA_JSON_DECODE")
    e = catch(simplejson.loads, "")
    c.exc(e, ver("simplejson"), FAM, "loads of an empty response body", "DATA_JSON_DECODE", style="qual")

    import tomlkit

    e = catch(tomlkit.parse, '[tool.agent]\nmodel = "m"\nmax_tokens = 4096\nmodel = "n"\n')
    c.exc(e, ver("tomlkit"), FAM, "parse a TOML table with a duplicate key", "DATA_PARSE_ERROR")
    e = catch(tomlkit.parse, '[tool.agent]\ntimeout = 30s\n')
    c.exc(e, ver("tomlkit"), FAM, "parse a TOML value with a unit suffix", "DATA_PARSE_ERROR", style="qual")

    from ruamel.yaml import YAML

    y = YAML(typ="rt")
    e = catch(y.load, "steps:\n  - name: fetch\n    retries: 3\n   - name: parse\n")
    c.exc(e, ver("ruamel.yaml"), FAM, "load YAML with a mis-indented list item", "DATA_PARSE_ERROR")
    e = catch(y.load, "model: a\nmodel: b\n")
    c.exc(e, ver("ruamel.yaml"), FAM, "load YAML with a duplicate key", "DATA_PARSE_ERROR", style="qual",
)
    e = catch(y.load, "key: \"unterminated\n")
    c.exc(e, ver("ruamel.yaml"), FAM, "load YAML with an unterminated quoted string", "DATA_PARSE_ERROR",
          style="name")

    from lxml import etree

    e = catch(etree.fromstring, b"<feed><entry><title>x</entry></feed>")
    c.exc(e, ver("lxml"), FAM, "parse XML with mismatched tags", "DATA_PARSE_ERROR")
    e = catch(etree.fromstring, b"")
    c.exc(e, ver("lxml"), FAM, "parse an empty document", "DATA_PARSE_ERROR", style="qual")
    e = catch(etree.parse, "/nonexistent/holdout/feed.xml")
    c.exc(e, ver("lxml"), FAM, "parse a file that does not exist", "DATA_OBJECT_NOT_FOUND", style="name")

    import xmltodict

    e = catch(xmltodict.parse, "<run><id>42</id>")
    c.exc(e, ver("xmltodict"), FAM, "parse truncated XML", "DATA_PARSE_ERROR")

    import numpy as np
    import pandas as pd

    e = catch(pd.read_csv, io.StringIO("id,tenant,tokens\n1,acme,5\n2,globex,7,extra,cols\n3,initech,9\n"))
    c.exc(e, ver("pandas"), FAM, "read_csv of a row with too many fields", "DATA_PARSE_ERROR")
    e = catch(pd.read_csv, io.StringIO(""))
    c.exc(e, ver("pandas"), FAM, "read_csv of an empty file", "DATA_PARSE_ERROR", style="qual")
    df = pd.DataFrame({"id": [1, 2], "tokens": [5, 7]})
    e = catch(lambda: df["tenant"])
    c.exc(e, ver("pandas"), FAM, "select a column that does not exist", "DATA_MISSING_KEY", style="tb",
          allow_local=True)
    e = catch(pd.to_datetime, pd.Series(["2026-12-04", "04/13/2026 25:61"]), format="%Y-%m-%d")
    c.exc(e, ver("pandas"), FAM, "to_datetime with a value that does not match the format", "DATA_PARSE_ERROR",
          allow_local=True)
    e = catch(np.zeros, (2_000_000, 2_000_000))
    c.exc(e, ver("numpy"), "os", "np.zeros of a 2e6 x 2e6 float64 array", "RES_OUT_OF_MEMORY", must="allocate")
    e = catch(lambda: np.array([1, 2, 3]).reshape(2, 2))
    c.exc(e, ver("numpy"), FAM, "reshape of 3 values into 2x2", "DATA_WRONG_TYPE", allow_local=True)
    e = catch(lambda: np.array(["1", "two"]).astype(int))
    c.exc(e, ver("numpy"), FAM, "astype(int) of an array holding 'two'", "DATA_WRONG_TYPE",
          accept=["DATA_PARSE_ERROR"], allow_local=True)

    from dateutil import parser as dparser

    e = catch(dparser.parse, "32/13/2026 10:00")
    c.exc(e, ver("python-dateutil"), FAM, "parse an impossible date", "DATA_PARSE_ERROR", allow_local=True)
    e = catch(dparser.parse, "next tuesday-ish")
    c.exc(e, ver("python-dateutil"), FAM, "parse free text that is not a date", "DATA_PARSE_ERROR", style="qual",
          allow_local=True)
