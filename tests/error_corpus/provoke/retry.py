"""Retry wrappers: tenacity, backoff, urllib3 Retry / requests adapters, google-api-core retry."""

from __future__ import annotations

import requests

from .common import Corpus, free_port, ver
from .http_clients import catch
from .servers import ScriptedServer, app_routes

FAM = "retry"


def _tenacity(c: Corpus, srv):
    import tenacity

    lib = ver("tenacity")
    fast = dict(stop=tenacity.stop_after_attempt(3), wait=tenacity.wait_fixed(0.01))

    @tenacity.retry(**fast)
    def fetch_refused():
        requests.get(f"http://127.0.0.1:{free_port()}/v1/items", timeout=1)

    e = catch(fetch_refused)
    c.exc(e, lib, FAM, "@retry(stop_after_attempt(3)) around a GET to a closed port", "NET_CONNECTION_ERROR",
          accept=["NET_CONNECTION_REFUSED", "RUN_RETRIES_EXHAUSTED"], style="name", must="ConnectionError")
    e = catch(fetch_refused)
    c.exc(e, lib, FAM, "the same RetryError logged with its cause chain", "NET_CONNECTION_REFUSED", style="chain",
          must="refused")

    @tenacity.retry(**fast)
    def fetch_slow():
        requests.get(srv.url + "/slow", timeout=0.2)

    e = catch(fetch_slow)
    c.exc(e, lib, FAM, "@retry(stop_after_attempt(3)) around a GET that hits its read timeout", "NET_READ_TIMEOUT",
          accept=["RUN_RETRIES_EXHAUSTED"], style="str", must="ReadTimeout")

    @tenacity.retry(retry=tenacity.retry_if_result(lambda r: r is None), **fast)
    def poll_job():
        return None

    e = catch(poll_job)
    c.exc(e, lib, FAM, "@retry(retry_if_result(is None)) whose result stays None", "RUN_RETRIES_EXHAUSTED",
          style="qual")

    @tenacity.retry(retry=tenacity.retry_if_result(lambda r: r.status_code >= 500), **fast)
    def get_status():
        return requests.get(srv.url + "/v1/index", timeout=1)

    e = catch(get_status)
    c.exc(e, lib, FAM, "@retry(retry_if_result(status >= 500)) on an endpoint answering 503", "RUN_RETRIES_EXHAUSTED",
          style="name")


def _backoff(c: Corpus, srv):
    import backoff
    import httpx

    lib = ver("backoff")

    @backoff.on_exception(backoff.constant, httpx.HTTPError, max_tries=3, interval=0.01, jitter=None)
    def fetch():
        r = httpx.get(srv.url + "/v1/chat/completions", timeout=1)
        r.raise_for_status()

    e = catch(fetch)
    c.exc(e, lib + " + httpx", FAM, "@on_exception(max_tries=3) around a GET answered 429 (re-raises the last error)",
          "RATE_LIMIT_HTTP_429", style="qual")

    @backoff.on_exception(backoff.expo, requests.exceptions.RequestException, max_time=0.3, base=0.01)
    def fetch_refused():
        requests.get(f"http://127.0.0.1:{free_port()}/v1/items", timeout=1)

    e = catch(fetch_refused)
    c.exc(e, lib + " + requests", FAM, "@on_exception(max_time=0.3) around a GET to a closed port",
          "NET_CONNECTION_REFUSED", must="refused")


def _urllib3_retry(c: Corpus, srv):
    import urllib3
    from requests.adapters import HTTPAdapter

    lib = ver("urllib3")
    for code, path in ((503, "/v1/index"), (429, "/v1/chat/completions"), (502, "/api/health")):
        pm = urllib3.PoolManager(retries=urllib3.Retry(total=2, status_forcelist=[code], backoff_factor=0))
        e = catch(pm.request, "GET", srv.url + path)
        meaning = {503: "INFRA_SERVICE_UNAVAILABLE", 429: "RATE_LIMIT_HTTP_429", 502: "INFRA_BAD_GATEWAY"}[code]
        c.exc(e, lib, FAM, f"GET with Retry(total=2, status_forcelist=[{code}]) on an endpoint answering {code}",
              meaning, must=f"{code} error responses")
    lib = ver("requests")
    s = requests.Session()
    s.mount("http://", HTTPAdapter(max_retries=urllib3.Retry(total=2, status_forcelist=[500], backoff_factor=0)))
    e = catch(s.get, srv.url + "/v1/reports/daily", timeout=2)
    c.exc(e, lib, FAM, "Session with HTTPAdapter(max_retries=Retry(status_forcelist=[500])) on a 500 endpoint",
          "INFRA_INTERNAL_SERVER_ERROR", must="500 error responses")
    s = requests.Session()
    s.mount("http://", HTTPAdapter(max_retries=urllib3.Retry(total=2, connect=2, backoff_factor=0)))
    e = catch(s.get, f"http://127.0.0.1:{free_port()}/v1/items", timeout=2)
    c.exc(e, lib, FAM, "Session with HTTPAdapter(max_retries=2) on a closed port", "NET_CONNECTION_REFUSED",
          must="refused")


def _google_retry(c: Corpus, srv):
    try:
        from google.api_core import exceptions as gexc
        from google.api_core import retry as gretry
    except ImportError:
        return
    lib = ver("google-api-core")

    def call():
        r = requests.get(srv.url + "/v1/index", timeout=1)
        if r.status_code >= 400:
            raise gexc.from_http_response(r)

    retrying = gretry.Retry(predicate=gretry.if_exception_type(gexc.ServiceUnavailable), initial=0.05, maximum=0.1,
                            timeout=0.5)
    e = catch(retrying(call))
    c.exc(e, lib, FAM, "Retry(timeout=0.5) around a call answered 503 each time", "INFRA_SERVICE_UNAVAILABLE",
          accept=["RUN_RETRIES_EXHAUSTED"], must="503")


def run(c: Corpus):
    with ScriptedServer(app_routes()) as srv:
        for fn in (_tenacity, _backoff, _urllib3_retry, _google_retry):
            fn(c, srv)
