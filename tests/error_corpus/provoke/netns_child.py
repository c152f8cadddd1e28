"""Runs inside `unshare -m -n`: a private loopback, a resolver that answers NXDOMAIN, and unreachable routes;
provokes DNS and no-route errors and prints the records as JSON."""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from provoke.common import Corpus, stdlib, tool_version, ver  # noqa: E402
from provoke.common import run as sh  # noqa: E402
from provoke.http_clients import catch  # noqa: E402

HOST = "agent-api.internal.invalid"


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


def dns(c: Corpus):
    import aiohttp
    import httpx
    import requests

    m = "NET_DNS_RESOLUTION"
    e = catch(socket.getaddrinfo, HOST, 443)
    c.exc(e, stdlib("socket"), "dns", "getaddrinfo of a .invalid name", m, style="qual")
    e = catch(requests.get, f"https://{HOST}/v1/items", timeout=2)
    c.exc(e, ver("requests"), "dns", "GET of a .invalid host name", m)
    e = catch(httpx.get, f"https://{HOST}/v1/items", timeout=2)
    c.exc(e, ver("httpx"), "dns", "GET of a .invalid host name", m, style="name")
    import asyncio

    async def aget():
        async with aiohttp.ClientSession() as s:
            async with s.get(f"https://{HOST}/v1/items") as r:
                await r.read()

    e = catch(asyncio.run, aget())
    c.exc(e, ver("aiohttp"), "dns", "GET of a .invalid host name", m)
    import urllib.request

    e = catch(urllib.request.urlopen, f"http://{HOST}/v1/items", timeout=2)
    c.exc(e, stdlib("urllib.request"), "dns", "urlopen of a .invalid host name", m)
    import redis

    e = catch(redis.Redis(host="cache.internal.invalid", socket_connect_timeout=2).ping)
    c.exc(e, ver("redis", "redis-py"), "dns", "PING to a .invalid Redis host", m, accept=["INFRA_CACHE_UNAVAILABLE"])
    import psycopg2

    e = catch(psycopg2.connect, "host=db.internal.invalid user=agent dbname=agent connect_timeout=2")
    c.exc(e, ver("psycopg2-binary", "psycopg2"), "dns", "connect to a .invalid database host", m,
          accept=["INFRA_DB_UNAVAILABLE"])
    import pymysql

    e = catch(pymysql.connect, host="mysql.internal.invalid", user="agent", connect_timeout=2)
    c.exc(e, ver("pymysql", "PyMySQL"), "dns", "connect to a .invalid MySQL host", m, accept=["INFRA_DB_UNAVAILABLE"])
    import openai

    cl = openai.OpenAI(api_key="sk-test", base_url=f"https://{HOST}/v1", max_retries=0)
    e = catch(cl.chat.completions.create, model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    c.exc(e, ver("openai"), "dns", "chat.completions with a .invalid base_url (exception chain logged)", m,
          style="chain")
    import boto3
    from botocore.config import Config

    s3 = boto3.client("s3", endpoint_url=f"https://s3.{HOST}", aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                      aws_secret_access_key="x", region_name="us-east-1", config=Config(retries={"max_attempts": 1}))
    e = catch(s3.get_object, Bucket="agent-artifacts", Key="x.json")
    c.exc(e, ver("boto3"), "dns", "S3 GetObject with a .invalid endpoint (exception chain logged)", m,
          accept=["INFRA_OBJECT_STORE_UNREACHABLE"], style="chain")
    import grpc

    ch = grpc.insecure_channel(f"{HOST}:443")
    e = catch(ch.unary_unary("/agent.v1.ToolService/Run"), b"", timeout=2)
    c.exc(e, ver("grpcio"), "dns", "unary call on a channel to a .invalid host", m)
    curl = f"curl {tool_version(['curl', '--version'])}"
    c.cli(sh(["curl", "-sS", f"https://{HOST}/v1/items"]), curl, "dns", "curl of a .invalid host", m)
    c.cli(sh(["wget", "-O", "/dev/null", "-t", "1", f"https://{HOST}/v1/items"]),
          f"wget {tool_version(['wget', '--version'])}", "dns", "wget of a .invalid host", m,
          keep=lambda ln: not ln.startswith("--"))
    c.cli(sh(["git", "ls-remote", f"https://git.{HOST}/org/app.git"], env={"GIT_TERMINAL_PROMPT": "0"}),
          f"git {tool_version(['git', '--version'])}", "dns", "git ls-remote of a .invalid host", m)
    c.cli(sh(["ssh", "-o", "BatchMode=yes", f"deploy@bastion.{HOST}", "true"]),
          f"OpenSSH ssh {tool_version(['ssh', '-V'], r'OpenSSH_([0-9.p]+)')}", "dns", "ssh to a .invalid host", m)
    c.cli(sh(["psql", "-h", "db.internal.invalid", "-U", "agent", "-c", "select 1"]),
          f"psql {tool_version(['psql', '--version'])}", "dns", "psql to a .invalid host", m,
          accept=["INFRA_DB_UNAVAILABLE"])
    node = os.path.join(os.path.dirname(__file__), "programs", "errs.js")
    from provoke.langs import _node_keep

    c.cli(sh(["node", node, "fetch", f"https://{HOST}/v1/items"]), f"node {tool_version(['node', '--version'])}",
          "dns", "fetch() of a .invalid host", m, keep=_node_keep)


def unreachable(c: Corpus):
    import requests

    m = "NET_HOST_UNREACHABLE"
    s = socket.socket()
    e = catch(s.connect, ("192.0.2.10", 443))
    c.exc(e, stdlib("socket"), "os", "connect() to an address with an unreachable route", m, style="qual")
    s.close()
    s = socket.socket()
    e = catch(s.connect, ("198.51.100.7", 5432))
    c.exc(e, stdlib("socket"), "os", "connect() with no route to the network at all", m, style="name")
    s.close()
    e = catch(requests.get, "http://192.0.2.10:8080/v1/items", timeout=2)
    c.exc(e, ver("requests"), "http", "GET of an address with an unreachable route", m, must="No route")
    import psycopg2

    e = catch(psycopg2.connect, "host=198.51.100.7 user=agent dbname=agent connect_timeout=2")
    c.exc(e, ver("psycopg2-binary", "psycopg2"), "database", "connect to a database address with no route", m,
          accept=["INFRA_DB_UNAVAILABLE"])
    c.cli(sh(["ssh", "-o", "BatchMode=yes", "deploy@192.0.2.10", "true"]),
          f"OpenSSH ssh {tool_version(['ssh', '-V'], r'OpenSSH_([0-9.p]+)')}", "ssh",
          "ssh to an address with an unreachable route", m)


if __name__ == "__main__":
    _setup()
    corpus = Corpus()
    for fn in (dns, unreachable):
        try:
            fn(corpus)
        except Exception as ex:  # noqa: BLE001
            corpus.skipped.append(f"{fn.__name__} aborted: {ex!r}")
    print(json.dumps({"records": corpus.records, "skipped": corpus.skipped}))
