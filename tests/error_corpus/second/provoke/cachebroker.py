"""Caches and brokers not in the main corpus: coredis, valkey-py, aiomcache, aio-pika, kombu, aiomqtt, gmqtt,
confluent-kafka."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import tempfile
import time

from .common import Corpus, blackhole, catch, free_port, silent_server, ver
from .common import run as sh

CACHE, BROKER = "cache", "broker"
DOWN = "INFRA_CACHE_UNAVAILABLE"


@contextlib.contextmanager
def daemon(args: list[str], port: int, settle: float = 5.0):
    """Start a throwaway server process and wait until its port accepts connections."""
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


def _redis_server(port, *extra):
    d = tempfile.mkdtemp(prefix="holdout-redis-")
    return daemon(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                   "--dir", d, *extra], port)


def _coredis(c: Corpus):
    import coredis

    lib = ver("coredis")

    async def go0(port, op, pw=None, **kw):
        cl = coredis.Redis(host="127.0.0.1", port=port, password=pw, **kw)
        async with cl:
            return await op(cl)

    async def go(*a, **kw):
        # coredis runs its connection in a TaskGroup; callers see the ExceptionGroup's single leaf
        try:
            return await go0(*a, **kw)
        except BaseExceptionGroup as eg:
            leaf = eg
            while isinstance(leaf, BaseExceptionGroup):
                leaf = leaf.exceptions[0]
            raise leaf from None

    e = catch(asyncio.run, go(free_port(), lambda cl: cl.ping(), connect_timeout=1))
    c.exc(e, lib, CACHE, "PING on a closed loopback port", DOWN, accept=["NET_CONNECTION_REFUSED"])
    port = free_port()
    with _redis_server(port, "--requirepass", "right-password", "--maxmemory", "1mb",
                       "--maxmemory-policy", "noeviction"):
        e = catch(asyncio.run, go(port, lambda cl: cl.ping(), pw="wrong-password"))
        c.exc(e, lib, CACHE, "AUTH with a wrong password (throwaway redis-server)", "AUTH_LOGIN_FAILED",
              must="pass")
        e = catch(asyncio.run, go(port, lambda cl: cl.get("k")))
        c.exc(e, lib, CACHE, "GET without AUTH on a server with requirepass", "AUTH_LOGIN_FAILED",
              accept=["AUTH_CREDENTIALS_MISSING"], must="auth")

        async def wrongtype(cl):
            await cl.rpush("queue:jobs", ["a"])
            return await cl.hgetall("queue:jobs")

        e = catch(asyncio.run, go(port, wrongtype, pw="right-password"))
        c.exc(e, lib, CACHE, "HGETALL on a key holding a list", "DATA_WRONG_TYPE", must="WRONGTYPE")

        async def incr(cl):
            await cl.set("counter", "many")
            return await cl.incr("counter")

        e = catch(asyncio.run, go(port, incr, pw="right-password"))
        c.exc(e, lib, CACHE, "INCR on a key holding text", "DATA_WRONG_TYPE", must="integer")

        async def fill(cl):
            for i in range(200):
                await cl.set(f"blob:{i}", "x" * 50_000)

        e = catch(asyncio.run, go(port, fill, pw="right-password"))
        c.exc(e, lib, CACHE, "SET past maxmemory 1mb with noeviction", "RES_OUT_OF_MEMORY", must="OOM")


def _valkey(c: Corpus):
    import valkey

    lib = ver("valkey", "valkey-py")
    e = catch(valkey.Valkey(port=free_port(), socket_connect_timeout=1).ping)
    c.exc(e, lib, CACHE, "PING on a closed loopback port", DOWN, must="refused")
    port = free_port()
    with _redis_server(port, "--requirepass", "right-password", "--maxclients", "2"):
        e = catch(valkey.Valkey(port=port, password="nope").ping)
        c.exc(e, lib, CACHE, "PING with a wrong password", "AUTH_LOGIN_FAILED", must="password")
        r = valkey.Valkey(port=port, password="right-password")
        r.set("job:1:status", "running")
        e = catch(r.lpush, "job:1:status", "x")
        c.exc(e, lib, CACHE, "LPUSH on a key holding a string", "DATA_WRONG_TYPE", must="WRONGTYPE")
        e = catch(r.execute_command, "JSON.GET", "doc:1")
        c.exc(e, lib, CACHE, "a command the server does not know (JSON.GET without the module)",
              "INFRA_NOT_IMPLEMENTED", must="unknown command")
        held = []
        e = None
        for _ in range(5):
            try:
                held.append(valkey.Valkey(port=port, password="right-password", single_connection_client=True))
                held[-1].ping()
            except Exception as ex:  # noqa: BLE001
                e = ex
                break
        c.exc(e, lib, CACHE, "a third client against maxclients 2", "RES_POOL_EXHAUSTED", must="max number of clients")
        for h in held:
            with contextlib.suppress(Exception):
                h.close()
    with blackhole() as bport:
        e = catch(valkey.Valkey(port=bport, socket_connect_timeout=0.3).ping)
        c.exc(e, lib, CACHE, "PING to a port whose accept queue is full, socket_connect_timeout 0.3 s",
              "NET_CONNECT_TIMEOUT", must="timeout")


def _aiomcache(c: Corpus):
    import aiomcache

    lib = ver("aiomcache")

    async def go(port, op):
        mc = aiomcache.Client("127.0.0.1", port, pool_size=1)
        try:
            return await op(mc)
        finally:
            await mc.close()

    e = catch(asyncio.run, go(free_port(), lambda mc: mc.get(b"session:1")))
    c.exc(e, lib, CACHE, "get on a closed loopback port", DOWN, accept=["NET_CONNECTION_REFUSED"])
    port = free_port()
    with daemon(["memcached", "-u", "nobody", "-l", "127.0.0.1", "-p", str(port), "-m", "8", "-I", "1m"], port):
        e = catch(asyncio.run, go(port, lambda mc: mc.set(b"blob", b"x" * 2_000_000)))
        c.exc(e, lib, CACHE, "set of a 2 MB value with item size limit 1 MB (throwaway memcached)",
              "VAL_PAYLOAD_TOO_LARGE", must="large")

        async def incr(mc):
            await mc.set(b"counter", b"many")
            return await mc.incr(b"counter")

        e = catch(asyncio.run, go(port, incr))
        c.exc(e, lib, CACHE, "incr on a value that is not a number", "DATA_WRONG_TYPE", must="numeric")


def _aio_pika(c: Corpus):
    import aio_pika

    lib = ver("aio-pika")

    async def conn(url, op=None):
        connection = await aio_pika.connect(url, timeout=3)
        async with connection:
            if op:
                ch = await connection.channel()
                return await op(ch)

    e = catch(asyncio.run, conn(f"amqp://guest:guest@127.0.0.1:{free_port()}/"))
    c.exc(e, lib, BROKER, "connect to a closed loopback port", DOWN, accept=["NET_CONNECTION_REFUSED"])
    e = catch(asyncio.run, conn("amqp://guest:wrong-password@127.0.0.1:5672/"))
    c.exc(e, lib, BROKER, "connect with a wrong password (local RabbitMQ)", "AUTH_LOGIN_FAILED", must="ACCESS_REFUSED")
    e = catch(asyncio.run, conn("amqp://guest:guest@127.0.0.1:5672/",
                                lambda ch: ch.declare_queue("holdout-missing-queue", passive=True)))
    c.exc(e, lib, BROKER, "passive declare of a queue that does not exist", "DATA_OBJECT_NOT_FOUND",
          must="NOT_FOUND")

    async def inequivalent(ch):
        await ch.declare_queue("holdout-q", durable=False, auto_delete=True)
        ch2 = await ch.channel.connection.channel() if False else None  # noqa: F841
        return await ch.declare_queue("holdout-q", durable=True, auto_delete=True)

    e = catch(asyncio.run, conn("amqp://guest:guest@127.0.0.1:5672/", inequivalent))
    c.exc(e, lib, BROKER, "redeclare a queue with different durability", "DATA_CONFLICT", must="PRECONDITION_FAILED")

    async def cleanup(ch):
        await ch.queue_delete("holdout-q")

    catch(asyncio.run, conn("amqp://guest:guest@127.0.0.1:5672/", cleanup))

    async def missing_exchange(ch):
        return await ch.get_exchange("holdout-missing-exchange", ensure=True)

    e = catch(asyncio.run, conn("amqp://guest:guest@127.0.0.1:5672/", missing_exchange))
    c.exc(e, lib, BROKER, "get_exchange(ensure=True) of an exchange that does not exist", "DATA_OBJECT_NOT_FOUND",
          must="exchange")


def _kombu(c: Corpus):
    import kombu

    lib = ver("kombu")
    conn = kombu.Connection(f"amqp://guest:guest@127.0.0.1:{free_port()}//", connect_timeout=1)
    e = catch(conn.connect)
    c.exc(e, lib, BROKER, "connect to a closed loopback port (py-amqp)", DOWN, accept=["NET_CONNECTION_REFUSED"],
          must="refused")
    conn = kombu.Connection("amqp://guest:bad-password@127.0.0.1:5672//", connect_timeout=2)
    e = catch(conn.connect)
    c.exc(e, lib, BROKER, "connect with a wrong password (local RabbitMQ)", "AUTH_LOGIN_FAILED", must="ACCESS_REFUSED")
    with kombu.Connection("amqp://guest:guest@127.0.0.1:5672//") as conn:
        ch = conn.channel()
        e = catch(ch.queue_declare, queue="holdout-missing-queue", passive=True)
        c.exc(e, lib, BROKER, "passive queue_declare of a queue that does not exist", "DATA_OBJECT_NOT_FOUND",
              must="NOT_FOUND")
    conn = kombu.Connection(f"redis://127.0.0.1:{free_port()}/0", connect_timeout=1,
                            transport_options={"max_retries": 0})
    e = catch(conn.ensure_connection, max_retries=1)
    c.exc(e, lib, BROKER, "ensure_connection to a Redis broker on a closed port", DOWN,
          accept=["NET_CONNECTION_REFUSED"])


def _mqtt(c: Corpus):
    import aiomqtt

    lib = ver("aiomqtt")

    async def pub(port, **kw):
        async with aiomqtt.Client("127.0.0.1", port=port, timeout=2, **kw) as cl:
            await cl.publish("agents/run/42", b"done", qos=1)

    e = catch(asyncio.run, pub(free_port()))
    c.exc(e, lib, BROKER, "publish to a closed loopback port", DOWN, accept=["NET_CONNECTION_REFUSED"])
    tmp = tempfile.mkdtemp(prefix="holdout-mqtt-")
    os.chmod(tmp, 0o755)
    pwfile = os.path.join(tmp, "passwd")
    sh(["mosquitto_passwd", "-c", "-b", pwfile, "agent", "right-password"])
    os.chmod(pwfile, 0o644)
    port = free_port()
    conf = os.path.join(tmp, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write(f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {pwfile}\n"
                f"persistence false\nlog_type none\n")
    with daemon(["mosquitto", "-c", conf], port):
        e = catch(asyncio.run, pub(port, username="agent", password="wrong"))
        c.exc(e, lib, BROKER, "connect with a wrong password (throwaway mosquitto)", "AUTH_LOGIN_FAILED",
)
        e = catch(asyncio.run, pub(port))
        c.exc(e, lib, BROKER, "anonymous connect to a mosquitto with allow_anonymous false", "AUTH_LOGIN_FAILED",
              accept=["AUTH_CREDENTIALS_MISSING"])
    with silent_server() as sport:
        e = catch(asyncio.run, pub(sport))
        c.exc(e, lib, BROKER, "connect to a port that never answers, timeout 2 s", "NET_TIMEOUT",
)
    import gmqtt

    lib = ver("gmqtt")

    async def gpub(port):
        cl = gmqtt.Client("holdout-client")
        await cl.connect("127.0.0.1", port, keepalive=5)
        await cl.disconnect()

    e = catch(asyncio.run, gpub(free_port()))
    c.exc(e, lib, BROKER, "connect to a closed loopback port", DOWN, accept=["NET_CONNECTION_REFUSED"])


def _confluent(c: Corpus):
    from confluent_kafka import KafkaException, Producer
    from confluent_kafka.admin import AdminClient

    lib = ver("confluent-kafka")
    port = free_port()
    conf = {"bootstrap.servers": f"127.0.0.1:{port}", "log_level": 0, "logger": _NullLog()}
    adm = AdminClient(conf)
    e = catch(adm.list_topics, timeout=1.5)
    c.exc(e, lib, BROKER, "list_topics against a closed bootstrap port", DOWN, must="transport")
    errors = []
    p = Producer({**conf, "message.timeout.ms": 1500})
    p.produce("agent-events", b"x", callback=lambda err, msg: errors.append(err))
    p.flush(4)
    if errors and errors[0] is not None:
        e = KafkaException(errors[0])
        c.exc(e, lib, BROKER, "produce to a closed bootstrap port, message.timeout.ms 1500 (delivery callback error)",
              "NET_TIMEOUT", must="timed out")
    else:
        c.skipped.append(f"confluent produce: no delivery error {errors!r}")


class _NullLog:
    def log(self, *a, **kw):
        pass

    def __getattr__(self, name):
        return lambda *a, **kw: None


def run(c: Corpus):
    for fn in (_coredis, _valkey, _aiomcache, _aio_pika, _kombu, _mqtt, _confluent):
        try:
            fn(c)
        except Exception:  # noqa: BLE001
            import traceback
            c.skipped.append(f"{fn.__name__} crashed: {traceback.format_exc()[-1500:]}")
