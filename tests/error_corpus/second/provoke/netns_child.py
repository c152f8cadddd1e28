"""Runs inside `unshare -m -n`: a private loopback, a resolver that answers NXDOMAIN and an `unreachable` route;
provokes DNS, no-route and offline errors from the holdout libraries and prints the records as JSON."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from provoke.common import Corpus, catch, have, tool_version, ver  # noqa: E402
from provoke.common import run as sh  # noqa: E402

HOST = "agent-api.internal.invalid"
DNS = "NET_DNS_RESOLUTION"
UNREACH = "192.0.2.10"


def _nxdomain_server():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 53))

    def serve():
        while True:
            data, addr = s.recvfrom(512)
            tid, flags = struct.unpack(">HH", data[:4])
            i = 12
            while data[i]:
                i += data[i] + 1
            q = data[12:i + 5]
            s.sendto(struct.pack(">HHHHHH", tid, 0x8000 | (flags & 0x0100) | 0x0080 | 3, 1, 0, 0, 0) + q, addr)

    threading.Thread(target=serve, daemon=True).start()


def _setup():
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "route", "add", "unreachable", "192.0.2.0/24"], check=True)
    conf = tempfile.NamedTemporaryFile("w", delete=False, suffix=".resolv")
    conf.write("nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
    conf.close()
    subprocess.run(["mount", "--bind", conf.name, "/etc/resolv.conf"], check=True)
    _nxdomain_server()


def guarded(c, fn):
    try:
        fn(c)
    except Exception:  # noqa: BLE001
        import traceback
        c.skipped.append(f"{fn.__name__} crashed: {traceback.format_exc()[-800:]}")


def http(c: Corpus):
    import httpcore
    import httplib2

    lib = ver("httplib2")
    e = catch(httplib2.Http(timeout=2).request, f"https://{HOST}/v1/items")
    c.exc(e, lib, "dns", "GET of a .invalid host name", DNS)
    e = catch(httplib2.Http(timeout=2).request, f"http://{UNREACH}/v1/items")
    c.exc(e, lib, "http", "GET of an address whose route is unreachable", "NET_HOST_UNREACHABLE",
          must="route")
    lib = ver("httpcore")

    def hc(url):
        with httpcore.ConnectionPool() as p:
            return p.request("GET", url, extensions={"timeout": {"connect": 2, "read": 2, "write": 2, "pool": 2}})

    e = catch(hc, f"https://{HOST}/v1/items")
    c.exc(e, lib, "dns", "request to a .invalid host name", DNS)
    e = catch(hc, f"http://{UNREACH}/v1/items")
    c.exc(e, lib, "http", "request to an address whose route is unreachable", "NET_HOST_UNREACHABLE",
          must="route")
    from tornado.httpclient import AsyncHTTPClient

    async def tf(url):
        cl = AsyncHTTPClient(force_instance=True)
        try:
            await cl.fetch(url, connect_timeout=2, request_timeout=3)
        finally:
            cl.close()

    lib = ver("tornado")
    e = catch(asyncio.run, tf(f"https://{HOST}/v1/items"))
    c.exc(e, lib, "dns", "fetch of a .invalid host name", DNS)
    e = catch(asyncio.run, tf(f"http://{UNREACH}/v1/items"))
    c.exc(e, lib, "http", "fetch of an address whose route is unreachable", "NET_HOST_UNREACHABLE",
          must="route")


def sdks(c: Corpus):
    import groq
    import ollama

    lib = ver("groq")
    cl = groq.Groq(api_key="gsk_x", base_url=f"https://{HOST}/openai/v1", max_retries=0, timeout=3)
    e = catch(cl.chat.completions.create, model="llama-3.3-70b-versatile", messages=[{"role": "user", "content": "x"}])
    c.exc(e, lib, "dns", "chat completion to a .invalid base_url", DNS, accept=["NET_CONNECTION_ERROR"],
          style="chain")
    lib = ver("ollama")
    e = catch(ollama.Client(host=f"http://{HOST}:11434", timeout=3).list)
    c.exc(e, lib, "dns", "list models on a .invalid Ollama host", "NET_CONNECTION_ERROR", accept=[DNS])
    import elasticsearch

    lib = ver("elasticsearch")
    e = catch(elasticsearch.Elasticsearch("http://search.internal.invalid:9200", request_timeout=2,
                                          max_retries=0).info)
    c.exc(e, lib, "dns", "info() on a .invalid Elasticsearch host", "NET_CONNECTION_ERROR")
    import urllib3
    from minio import Minio

    lib = ver("minio")
    cl = Minio("s3.internal.invalid:9000", access_key="a", secret_key="b", secure=False, region="us-east-1",
               http_client=urllib3.PoolManager(timeout=2, retries=urllib3.Retry(total=0)))
    e = catch(cl.bucket_exists, "agent-artifacts")
    c.exc(e, lib, "dns", "bucket_exists on a .invalid S3 endpoint", DNS)


def stores(c: Corpus):
    import pg8000.dbapi

    lib = ver("pg8000")
    e = catch(pg8000.dbapi.connect, user="postgres", host="db.internal.invalid", database="postgres", timeout=2)
    c.exc(e, lib, "dns", "connect to a .invalid PostgreSQL host", DNS, style="chain")
    e = catch(pg8000.dbapi.connect, user="postgres", host=UNREACH, database="postgres", timeout=2)
    c.exc(e, lib, "database", "connect to an address whose route is unreachable", "NET_HOST_UNREACHABLE",
          style="chain", must="route")
    import aiomysql

    lib = ver("aiomysql")
    e = catch(asyncio.run, aiomysql.connect(host="mysql.internal.invalid", user="root", connect_timeout=2))
    c.exc(e, lib, "dns", "connect to a .invalid MariaDB host", "INFRA_DB_UNAVAILABLE")
    import neo4j

    lib = ver("neo4j")
    drv = neo4j.GraphDatabase.driver("bolt://graph.internal.invalid:7687", auth=("neo4j", "x"))
    e = catch(drv.verify_connectivity)
    c.exc(e, lib, "dns", "verify_connectivity to a .invalid host", DNS)
    import valkey

    lib = ver("valkey", "valkey-py")
    e = catch(valkey.Valkey(host="cache.internal.invalid", socket_connect_timeout=2).ping)
    c.exc(e, lib, "dns", "PING to a .invalid host", DNS)
    e = catch(valkey.Valkey(host=UNREACH, socket_connect_timeout=2).ping)
    c.exc(e, lib, "cache", "PING to an address whose route is unreachable", "NET_HOST_UNREACHABLE",
          must="route")
    import kombu

    lib = ver("kombu")
    conn = kombu.Connection("amqp://guest:guest@mq.internal.invalid:5672//", connect_timeout=2)
    e = catch(conn.connect)
    c.exc(e, lib, "dns", "connect to a .invalid AMQP host", DNS)
    import ldap

    lib = ver("python-ldap")
    lc = ldap.initialize("ldap://ldap.internal.invalid")
    lc.set_option(ldap.OPT_NETWORK_TIMEOUT, 2)
    e = catch(lc.simple_bind_s, "cn=x", "y")
    c.exc(e, lib, "dns", "simple bind to a .invalid LDAP host", "NET_CONNECTION_ERROR")


def runtimes(c: Corpus):
    import uvloop

    lib = ver("uvloop")

    async def oc():
        await asyncio.open_connection(HOST, 443)

    e = catch(uvloop.run, oc())
    c.exc(e, lib, "dns", "open_connection to a .invalid host (uvloop)", DNS, style="qual")
    import aioftp

    lib = ver("aioftp")

    async def ftp():
        async with aioftp.Client.context("ftp.internal.invalid", 21, "u", "p", socket_timeout=2):
            pass

    e = catch(asyncio.run, ftp())
    c.exc(e, lib, "dns", "connect to a .invalid FTP host", DNS)


def clis(c: Corpus):
    if have("nslookup"):
        r = sh(["nslookup", HOST])
        c.cli(r, "nslookup (bind9-dnsutils " + tool_version(["dig", "-v"], r"DiG (\d+\.\d+\.\d+)") + ")", "dns",
              "nslookup of a .invalid name", DNS, stream="both", must="NXDOMAIN")
    if have("ping"):
        r = sh(["ping", "-c", "1", "-W", "1", HOST])
        lib = "ping (iputils " + tool_version(["ping", "-V"], r"iputils[- ](\d+)") + ")"
        c.cli(r, lib, "dns", "ping of a .invalid name", DNS)
        r = sh(["ping", "-c", "1", "-W", "1", UNREACH])
        c.cli(r, lib, "cli", "ping of an address whose route is unreachable", "NET_HOST_UNREACHABLE", stream="both",
              must="route")
    if have("nc"):
        r = sh(["nc", "-vz", "-w", "2", UNREACH, "443"])
        c.cli(r, "netcat-openbsd", "cli", "nc -vz of an address whose route is unreachable", "NET_HOST_UNREACHABLE",
              must="route")
        r = sh(["nc", "-vz", "-w", "2", HOST, "443"])
        c.cli(r, "netcat-openbsd", "dns", "nc -vz of a .invalid name", DNS)
    r = sh(["rsync", "rsync://mirror.internal.invalid/models/", "/tmp/"])
    c.cli(r, "rsync " + tool_version(["rsync", "--version"]), "dns", "rsync from a .invalid rsync daemon", DNS)
    r = sh(["ruby", "-e", f'require "net/http"; Net::HTTP.get(URI("https://{HOST}/v1/items"))'])
    c.cli(r, "ruby " + tool_version(["ruby", "--version"]), "dns", "Net::HTTP.get of a .invalid host", DNS,
          keep=lambda ln: not ln.lstrip().startswith("from "))
    r = sh(["php", "-r", f'$r = file_get_contents("http://{HOST}/v1/items"); if ($r === false) exit(1);'])
    c.cli(r, "php " + tool_version(["php", "--version"], r"PHP (\d+\.\d+\.\d+)"), "dns",
          "file_get_contents of a .invalid host", DNS, stream="both")
    r = sh(["pg_dump", "-h", "db.internal.invalid", "-U", "postgres", "postgres"])
    c.cli(r, "pg_dump " + tool_version(["pg_dump", "--version"]), "dns", "pg_dump against a .invalid host", DNS,
)
    if have("gcloud"):
        cfg = tempfile.mkdtemp(prefix="holdout-gcloud-")
        env = {"CLOUDSDK_CONFIG": cfg, "CLOUDSDK_CORE_DISABLE_PROMPTS": "1"}
        r = sh(["gcloud", "storage", "ls", "gs://holdout-agent-artifacts"], env=env, timeout=120)
        c.cli(r, "gcloud " + tool_version(["gcloud", "version"], r"Google Cloud SDK (\d+\.\d+\.\d+)"), "cloud",
              "gcloud storage ls with no account configured (offline namespace)", "AUTH_CREDENTIALS_MISSING",
              must="account")


def main():
    _setup()
    c = Corpus()
    for fn in (http, sdks, stores, runtimes, clis):
        guarded(c, fn)
    print(json.dumps({"records": c.records, "skipped": c.skipped}))


if __name__ == "__main__":
    main()
