"""Caches and brokers: redis-py, pymemcache, pika, paho-mqtt, nats-py, kafka-python, aiokafka."""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import tempfile
import time

from .common import Corpus, blackhole, eof_server, free_port, silent_server, ver
from .common import run as sh
from .http_clients import catch

CACHE, BROKER = "cache", "broker"
DOWN = "INFRA_CACHE_UNAVAILABLE"


@contextlib.contextmanager
def _daemon(args: list[str], port: int, settle: float = 5.0):
    """Start a throwaway server process and wait until its port accepts connections."""
    import socket

    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + settle
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


def _redis(c: Corpus):
    import redis
    import redis.asyncio

    lib = ver("redis", "redis-py")
    e = catch(redis.Redis(port=free_port(), socket_connect_timeout=1).ping)
    c.exc(e, lib, CACHE, "PING on a closed loopback port", DOWN, must="refused")
    with blackhole() as port:
        e = catch(redis.Redis(port=port, socket_connect_timeout=0.3).ping)
        c.exc(e, lib, CACHE, "PING to a port whose accept queue is full, socket_connect_timeout 0.3 s",
              "NET_CONNECT_TIMEOUT", must="timeout")
    with silent_server() as port:
        e = catch(redis.Redis(port=port, socket_timeout=0.3).get, "session:42")
        c.exc(e, lib, CACHE, "GET on a server that never answers, socket_timeout 0.3 s", "NET_READ_TIMEOUT",
              must="timeout")
    with eof_server() as port:
        e = catch(redis.Redis(port=port, socket_timeout=1).get, "session:42")
        c.exc(e, lib, CACHE, "GET on a server that closes the connection without answering", "NET_CONNECTION_RESET",
              accept=[DOWN])
    r = redis.Redis(port=6379, socket_timeout=2)
    key = "error-corpus:list"
    try:
        r.rpush(key, "a")
        e = catch(r.get, key)
        c.exc(e, lib, CACHE, "GET on a key holding a list", "DATA_WRONG_TYPE", must="WRONGTYPE")
        e = catch(r.hset, key, "f", "v")
        c.exc(e, lib, CACHE, "HSET on a key holding a list", "DATA_WRONG_TYPE", must="WRONGTYPE", style="tb")
        r.set("error-corpus:str", "abc")
        e = catch(r.incr, "error-corpus:str")
        c.exc(e, lib, CACHE, "INCR on a key holding a non-numeric string", "DATA_WRONG_TYPE", must="integer")
        r.xadd("error-corpus:stream", {"a": "1"})
        r.xgroup_create("error-corpus:stream", "workers")
        e = catch(r.xgroup_create, "error-corpus:stream", "workers")
        c.exc(e, lib, CACHE, "XGROUP CREATE of a consumer group that already exists", "DATA_CONFLICT",
              must="BUSYGROUP")
        e = catch(redis.Redis(port=6379, username="error-corpus-ghost", password="wrong").ping)
        c.exc(e, lib, CACHE, "AUTH with a user name and password the server refuses", "AUTH_LOGIN_FAILED",
              must="WRONGPASS" if False else "invalid")
        r.execute_command("ACL", "SETUSER", "error-corpus-ro", "on", ">ro-pass", "~error-corpus:*", "+get", "+ping")
        ro = redis.Redis(port=6379, username="error-corpus-ro", password="ro-pass")
        e = catch(ro.set, "error-corpus:str", "x")
        c.exc(e, lib, CACHE, "SET as an ACL user allowed only GET", "AUTH_FORBIDDEN", must="permission")
        e = catch(ro.get, "sessions:42")
        c.exc(e, lib, CACHE, "GET of a key outside the ACL user's key pattern", "AUTH_FORBIDDEN", must="permission")
    finally:
        with contextlib.suppress(Exception):
            r.delete(key, "error-corpus:str", "error-corpus:stream")
            r.execute_command("ACL", "DELUSER", "error-corpus-ro")
    port = free_port()
    with _daemon(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                  "--requirepass", "s3cret", "--maxmemory", "1mb", "--maxmemory-policy", "noeviction"], port):
        e = catch(redis.Redis(port=port).get, "session:42")
        c.exc(e, lib, CACHE, "GET without AUTH on a throwaway redis-server with requirepass",
              "AUTH_CREDENTIALS_MISSING", accept=["AUTH_UNAUTHORIZED"], must="authenticated")
        e = catch(redis.Redis(port=port, password="wrong").ping)
        c.exc(e, lib, CACHE, "AUTH with a wrong password on a throwaway redis-server", "AUTH_LOGIN_FAILED")
        big = redis.Redis(port=port, password="s3cret")
        e = catch(lambda: [big.set(f"blob:{i}", "x" * 100_000) for i in range(50)])
        c.exc(e, lib, CACHE, "SET past maxmemory 1mb with noeviction on a throwaway redis-server",
              "RES_OUT_OF_MEMORY", must="maxmemory")
    port = free_port()
    with _daemon(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                  "--maxclients", "1"], port):
        first = redis.Redis(port=port)
        first.ping()
        e = catch(redis.Redis(port=port).ping)
        c.exc(e, lib, CACHE, "second client on a throwaway redis-server with maxclients 1", "RES_POOL_EXHAUSTED",
              must="max number of clients")
        first.close()
    pool = redis.BlockingConnectionPool(port=6379, max_connections=1, timeout=0.2)
    held = pool.get_connection()
    e = catch(redis.Redis(connection_pool=pool).ping)
    c.exc(e, lib, CACHE, "command while the only connection of a BlockingConnectionPool is taken",
          "RES_POOL_EXHAUSTED", must="No connection available")
    pool.release(held)

    async def aping(port):
        client = redis.asyncio.Redis(port=port, socket_connect_timeout=1)
        try:
            await client.ping()
        finally:
            await client.aclose()

    e = catch(asyncio.run, aping(free_port()))
    c.exc(e, lib + " (redis.asyncio)", CACHE, "async PING on a closed loopback port", DOWN,
          accept=["NET_CONNECTION_REFUSED"])


def _memcache(c: Corpus):
    from pymemcache.client.base import Client
    from pymemcache.client.hash import HashClient

    lib = ver("pymemcache")
    e = catch(Client(("127.0.0.1", free_port()), connect_timeout=1, timeout=1).get, "session:42")
    c.exc(e, lib, CACHE, "get on a closed loopback port", DOWN, accept=["NET_CONNECTION_REFUSED"], must="refused")
    with silent_server() as port:
        e = catch(Client(("127.0.0.1", port), connect_timeout=1, timeout=0.3).get, "session:42")
        c.exc(e, lib, CACHE, "get on a server that never answers, timeout 0.3 s", "NET_TIMEOUT",
              accept=["NET_READ_TIMEOUT"], style="qual")
    with eof_server() as port:
        e = catch(Client(("127.0.0.1", port), connect_timeout=1, timeout=1).get, "session:42")
        c.exc(e, lib, CACHE, "get on a server that closes the connection", "NET_CONNECTION_RESET", accept=[DOWN])
    hc = HashClient([("127.0.0.1", free_port()), ("127.0.0.1", free_port())], connect_timeout=0.3, timeout=0.3,
                    retry_attempts=1, dead_timeout=60, ignore_exc=False)
    e = catch(lambda: [hc.get("session:42") for _ in range(3)])
    c.exc(e, lib, CACHE, "HashClient get when both memcached servers refuse connections", DOWN)


def _pika(c: Corpus):
    import pika

    lib = ver("pika")

    def connect(port=5672, user="guest", pw="guest", vhost="/", **kw):
        opts = {"connection_attempts": 1, "socket_timeout": 1, "blocked_connection_timeout": 1, **kw}
        params = pika.ConnectionParameters("127.0.0.1", port, vhost, pika.PlainCredentials(user, pw), **opts)
        return pika.BlockingConnection(params)

    e = catch(connect, free_port())
    c.exc(e, lib, BROKER, "BlockingConnection to a closed loopback port", DOWN, accept=["NET_CONNECTION_REFUSED"],
          style="repr")
    e = catch(connect, pw="not-the-password")
    c.exc(e, lib, BROKER, "BlockingConnection as guest with a wrong password", "AUTH_LOGIN_FAILED",
          must="ACCESS_REFUSED")
    e = catch(connect, vhost="billing")
    c.exc(e, lib, BROKER, "BlockingConnection to a vhost that does not exist", "DATA_OBJECT_NOT_FOUND",
          accept=["AUTH_FORBIDDEN"], must="vhost")
    with blackhole() as port:
        e = catch(connect, port, socket_timeout=0.3)
        c.exc(e, lib, BROKER, "BlockingConnection to a full accept queue, socket_timeout 0.3 s", "NET_CONNECT_TIMEOUT",
              accept=["NET_TIMEOUT"], style="repr")
    with eof_server() as port:
        e = catch(connect, port)
        c.exc(e, lib, BROKER, "BlockingConnection to a port that closes the connection", "NET_CONNECTION_RESET",
              accept=[DOWN], style="repr")
    conn = connect()
    try:
        ch = conn.channel()
        e = catch(ch.queue_declare, "agent-jobs-missing", passive=True)
        c.exc(e, lib, BROKER, "passive queue_declare of a queue that does not exist", "DATA_OBJECT_NOT_FOUND",
              must="NOT_FOUND")
        ch = conn.channel()
        ch.queue_declare("error-corpus-q", auto_delete=True)
        e = catch(ch.queue_declare, "error-corpus-q", durable=True)
        c.exc(e, lib, BROKER, "queue_declare of an existing queue with different arguments", "DATA_CONFLICT",
              must="PRECONDITION_FAILED")
        ch = conn.channel()
        ch.confirm_delivery()
        e = catch(ch.basic_publish, "agent-events-missing", "run.finished", b"{}")
        c.exc(e, lib, BROKER, "basic_publish to an exchange that does not exist", "DATA_OBJECT_NOT_FOUND",
              must="no exchange")
        ch = conn.channel()
        ch.queue_delete("error-corpus-q")
    finally:
        with contextlib.suppress(Exception):
            conn.close()
    if sh(["rabbitmqctl", "-q", "add_user", "error-corpus-noperm", "pw-123"], timeout=60).rc == 0:
        try:
            e = catch(connect, user="error-corpus-noperm", pw="pw-123")
            c.exc(e, lib, BROKER, "BlockingConnection as a user with no permissions on vhost /", "AUTH_FORBIDDEN",
                  must="refused")
        finally:
            sh(["rabbitmqctl", "-q", "delete_user", "error-corpus-noperm"], timeout=60)


def _mqtt(c: Corpus):
    import paho.mqtt.publish as publish

    lib = ver("paho-mqtt")
    e = catch(publish.single, "agents/run/42", "done", hostname="127.0.0.1", port=free_port())
    c.exc(e, lib, BROKER, "publish.single to a closed loopback port", DOWN, accept=["NET_CONNECTION_REFUSED"])
    tmp = tempfile.mkdtemp(prefix="corpus-mqtt-")
    os.chmod(tmp, 0o755)  # mosquitto drops to its own user before reading the files
    pwfile = os.path.join(tmp, "passwd")
    sh(["mosquitto_passwd", "-c", "-b", pwfile, "agent", "right-password"])
    acl = os.path.join(tmp, "acl")
    with open(acl, "w") as f:
        f.write("user agent\ntopic read agents/#\n")
    port = free_port()
    conf = os.path.join(tmp, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write(f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {pwfile}\nacl_file {acl}\n"
                f"persistence false\nlog_type none\n")
    os.chmod(pwfile, 0o644)
    with _daemon(["mosquitto", "-c", conf], port):
        e = catch(publish.single, "agents/run/42", "done", hostname="127.0.0.1", port=port,
                  auth={"username": "agent", "password": "wrong"})
        c.exc(e, lib, BROKER, "publish.single with a wrong password to a throwaway mosquitto", "AUTH_LOGIN_FAILED",
              accept=["AUTH_UNAUTHORIZED"])


def _nats(c: Corpus):
    import nats
    import nats.errors

    lib = ver("nats-py")

    async def conn(port, **kw):
        return await asyncio.wait_for(
            nats.connect(f"nats://127.0.0.1:{port}", connect_timeout=1, allow_reconnect=False,
                         max_reconnect_attempts=1, reconnect_time_wait=0.1, error_cb=_quiet, **kw), 8)

    async def closed():
        await conn(free_port())

    e = catch(asyncio.run, closed())
    c.exc(e, lib, BROKER, "nats.connect to a closed loopback port", DOWN, accept=["NET_CONNECTION_REFUSED"])

    async def on_shared():
        nc = await conn(4222)
        try:
            try:
                await nc.request("agents.summarize", b"{}", timeout=1)
            except Exception as ex:  # noqa: BLE001
                c.exc(ex, lib, BROKER, "request on a subject nobody subscribes to", "INFRA_SERVICE_UNAVAILABLE",
                      accept=["DATA_OBJECT_NOT_FOUND"], must="no responders")
            sub = await nc.subscribe("error-corpus.slow")
            try:
                await nc.request("error-corpus.slow", b"{}", timeout=0.3)
            except Exception as ex:  # noqa: BLE001
                c.exc(ex, lib, BROKER, "request to a subscriber that never replies, timeout 0.3 s", "NET_TIMEOUT",
                      must="timeout")
            await sub.unsubscribe()
            try:
                await nc.publish("error-corpus.big", b"x" * (nc.max_payload + 1))
            except Exception as ex:  # noqa: BLE001
                c.exc(ex, lib, BROKER, "publish of a message larger than the server's max_payload",
                      "VAL_PAYLOAD_TOO_LARGE", must="payload")
            js = nc.jetstream()
            try:
                await js.stream_info("AGENT_EVENTS_MISSING")
            except Exception as ex:  # noqa: BLE001
                c.exc(ex, lib, BROKER, "JetStream stream_info of a stream that does not exist", "DATA_OBJECT_NOT_FOUND",
                      must="not found")
            try:
                await js.publish("error-corpus.nostream", b"{}", timeout=0.5)
            except Exception as ex:  # noqa: BLE001
                c.exc(ex, lib, BROKER, "JetStream publish to a subject no stream captures", "DATA_OBJECT_NOT_FOUND",
                      accept=["INFRA_SERVICE_UNAVAILABLE"])
        finally:
            await nc.close()

    asyncio.run(on_shared())
    port = free_port()
    with _daemon(["nats-server", "-a", "127.0.0.1", "-p", str(port), "--user", "agent", "--pass", "right"], port):
        async def bad_auth():
            await conn(port, user="agent", password="wrong")

        e = catch(asyncio.run, bad_auth())
        c.exc(e, lib, BROKER, "nats.connect with a wrong password to a throwaway nats-server", "AUTH_LOGIN_FAILED",
              must="authorization")


async def _quiet(e):
    return None


def _kafka(c: Corpus):
    try:
        import kafka
        import kafka.errors
    except ImportError:
        return
    lib = ver("kafka-python")
    e = catch(kafka.KafkaProducer, bootstrap_servers=f"127.0.0.1:{free_port()}", bootstrap_timeout_ms=1000,
              request_timeout_ms=1000)
    c.exc(e, lib, BROKER, "KafkaProducer bootstrapping from a closed loopback port", DOWN, accept=["NET_TIMEOUT"])
    with silent_server() as port:
        e = catch(kafka.KafkaConsumer, "agent-events", bootstrap_servers=f"127.0.0.1:{port}",
                  bootstrap_timeout_ms=800, request_timeout_ms=1000)
        c.exc(e, lib, BROKER, "KafkaConsumer bootstrapping from a server that never answers", DOWN,
              accept=["NET_TIMEOUT"], style="tb")
    try:
        from aiokafka import AIOKafkaProducer
    except ImportError:
        return
    lib = ver("aiokafka")

    async def start():
        p = AIOKafkaProducer(bootstrap_servers=f"127.0.0.1:{free_port()}", request_timeout_ms=1000)
        try:
            await p.start()
        finally:
            await p.stop()

    e = catch(asyncio.run, start())
    c.exc(e, lib, BROKER, "AIOKafkaProducer.start() against a closed loopback port", DOWN)


def run(c: Corpus):
    import sys

    for fn in (_redis, _memcache, _pika, _mqtt, _nats, _kafka):
        print(f"  {fn.__name__}", file=sys.stderr, flush=True)
        try:
            fn(c)
        except Exception as ex:  # noqa: BLE001
            c.skipped.append(f"{fn.__name__} aborted: {ex!r}")
