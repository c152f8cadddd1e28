"""Runs in the niquests venv (niquests brings urllib3-future, which would shadow urllib3 in the corpus venv)."""

from __future__ import annotations

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from provoke.common import Corpus, blackhole, catch, free_port, ver  # noqa: E402
from provoke.servers import STATUS_MEANING, STATUS_PATHS, Resp, ScriptedServer, app_routes  # noqa: E402


def main():
    import niquests

    c = Corpus()
    lib = ver("niquests")
    r = app_routes()
    r["/redirect-loop"] = Resp(302, "", headers={"Location": "/redirect-loop"})
    with ScriptedServer(r) as srv:
        def get(url, **kw):
            kw.setdefault("timeout", 2)
            resp = niquests.get(url, **kw)
            resp.raise_for_status()
            return resp

        for code in (400, 403, 409, 429, 500, 503):
            e = catch(get, srv.url + STATUS_PATHS[code])
            c.exc(e, lib, "http", f"GET answered HTTP {code}, raise_for_status()", STATUS_MEANING[code],
                  must=str(code))
        e = catch(get, f"http://127.0.0.1:{free_port()}/v1/items")
        c.exc(e, lib, "http", "GET on a closed loopback port", "NET_CONNECTION_REFUSED", must="refused")
        with blackhole() as port:
            e = catch(get, f"http://127.0.0.1:{port}/v1/items", timeout=(0.3, 2))
            c.exc(e, lib, "http", "GET to a port whose accept queue is full, connect timeout 0.3 s",
                  "NET_CONNECT_TIMEOUT", must="timed out")
        e = catch(get, srv.url + "/slow", timeout=(1, 0.3))
        c.exc(e, lib, "http", "GET on a server answering after 3 s, read timeout 0.3 s", "NET_READ_TIMEOUT",
              must="read")
        e = catch(get, srv.url + "/redirect-loop")
        c.exc(e, lib, "http", "GET on an endpoint that redirects to itself", "NET_TOO_MANY_REDIRECTS",
              must="redirect")
        e = catch(lambda: get(srv.url + "/html").json())
        c.exc(e, lib, "http", "response.json() on an HTML page", "DATA_JSON_DECODE")
        e = catch(get, srv.url + "/reset")
        c.exc(e, lib, "http", "GET answered by a TCP reset", "NET_CONNECTION_RESET")
    print(json.dumps({"records": c.records, "skipped": c.skipped}))


if __name__ == "__main__":
    main()
