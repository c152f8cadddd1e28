"""TLS failures from holdout libraries and tools whose texts differ from the stdlib's: ruby, php, socat,
elasticsearch, opensearch-py, pg8000, clickhouse-connect."""

from __future__ import annotations

from .certs import Certs
from .common import Corpus, catch, tool_version, ver
from .common import run as sh
from .servers import ScriptedServer, app_routes

FAM = "tls"


def run(c: Corpus):
    certs = Certs()
    with ScriptedServer(app_routes(), tls=certs.server_ctx(certs.selfsigned)) as ss, \
            ScriptedServer(app_routes(), tls=certs.server_ctx(certs.expired)) as ex, \
            ScriptedServer(app_routes(), tls=certs.server_ctx(certs.wronghost)) as wh:
        ruby = "ruby " + tool_version(["ruby", "--version"])
        code = ('require "net/http"; h = Net::HTTP.new("localhost", {port}); h.use_ssl = true; '
                'h.ca_file = "{ca}"; h.get("/ok")')
        r = sh(["ruby", "-e", code.format(port=ex.port, ca=certs.ca.cert)])
        c.cli(r, ruby, FAM, "Net::HTTP to a server with an expired certificate (CA trusted)", "NET_TLS_ERROR",
              must="expired", keep=lambda ln: not ln.lstrip().startswith("from "))
        r = sh(["ruby", "-e", code.format(port=wh.port, ca=certs.ca.cert)])
        c.cli(r, ruby, FAM, "Net::HTTP to a server whose certificate names another host", "NET_TLS_ERROR",
              must="hostname", keep=lambda ln: not ln.lstrip().startswith("from "))
        php = "php " + tool_version(["php", "--version"], r"PHP (\d+\.\d+\.\d+)")
        r = sh(["php", "-r", f'$r = file_get_contents("https://127.0.0.1:{ss.port}/ok"); if ($r === false) exit(1);'])
        c.cli(r, php, FAM, "file_get_contents of an HTTPS server with a self-signed certificate", "NET_TLS_ERROR",
              must="certificate", stream="both")
        socat = "socat " + tool_version(["socat", "-V"], r"socat version (\d+\.\d+\.\d+)")
        r = sh(["socat", "-", f"OPENSSL:127.0.0.1:{ss.port},verify=1"], input="GET / HTTP/1.0\r\n\r\n")
        c.cli(r, socat, FAM, "socat OPENSSL connect to a self-signed server with verify=1", "NET_TLS_ERROR",
              must="certificate")
        import elasticsearch

        es = elasticsearch.Elasticsearch(f"https://127.0.0.1:{ss.port}", request_timeout=2, max_retries=0)
        e = catch(es.info)
        c.exc(e, ver("elasticsearch"), FAM, "info() against an HTTPS node with a self-signed certificate",
              "NET_TLS_ERROR", style="name")
        import opensearchpy

        os_ = opensearchpy.OpenSearch([f"https://127.0.0.1:{ex.port}"], use_ssl=True, verify_certs=True,
                                      ca_certs=certs.ca.cert, timeout=2, max_retries=0)
        e = catch(os_.info)
        c.exc(e, ver("opensearch-py"), FAM, "info() against an HTTPS node with an expired certificate",
              "NET_TLS_ERROR", must="expired")
        import clickhouse_connect

        e = catch(clickhouse_connect.get_client, host="127.0.0.1", port=ss.port, secure=True, connect_timeout=2)
        c.exc(e, ver("clickhouse-connect"), FAM, "get_client(secure=True) against a self-signed certificate",
              "NET_TLS_ERROR", must="certificate")
    import ssl

    import pg8000.dbapi

    e = catch(pg8000.dbapi.connect, user="postgres", host="127.0.0.1", port=5432, database="postgres",
              ssl_context=ssl.create_default_context())
    c.exc(e, ver("pg8000"), FAM, "connect with an SSL context to a server without SSL", "NET_TLS_ERROR",
          must="SSL")
