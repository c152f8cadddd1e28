"""Database drivers and ORMs not in the main corpus: pg8000, aiomysql, mariadb, aiosqlite, peewee, pony, duckdb,
oracledb, clickhouse-connect, neo4j, cassandra-driver, elasticsearch, opensearch-py."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile

from .common import Corpus, blackhole, catch, eof_server, free_port, silent_server, ver
from .pgcluster import throwaway_cluster
from .servers import Resp, ScriptedServer

FAM = "database"
DB = "holdout_tmp"


def _pg8000(c: Corpus, cport):
    import pg8000.dbapi as pg
    import pg8000.native as pgn

    lib = ver("pg8000")
    e = catch(pg.connect, user="agent", password="wrong-password", host="127.0.0.1", port=cport, database="postgres")
    c.exc(e, lib, FAM, "connect with a wrong password (scram)", "AUTH_DB_LOGIN_FAILED", must="password")
    e = catch(pg.connect, user="postgres", host="127.0.0.1", port=free_port(), database="postgres", timeout=2)
    c.exc(e, lib, FAM, "connect to a closed port", "INFRA_DB_UNAVAILABLE", accept=["NET_CONNECTION_REFUSED"],
          must="connect", style="chain")
    e = catch(pg.connect, user="postgres", host="127.0.0.1", port=cport, database="holdout_missing")
    c.exc(e, lib, FAM, "connect to a database that does not exist", "INFRA_DB_NOT_FOUND", must="does not exist")
    conn = pgn.Connection("postgres", host="127.0.0.1", port=cport, database="postgres")
    conn.run("create table if not exists tenants (id int primary key, name text not null)")
    conn.run("insert into tenants values (1, 'acme') on conflict do nothing")
    e = catch(conn.run, "select * from run_events")
    c.exc(e, lib, FAM, "select from a table that does not exist", "INFRA_DB_SCHEMA_MISMATCH", must="does not exist")
    e = catch(conn.run, "insert into tenants values (1, 'globex')")
    c.exc(e, lib, FAM, "insert of a duplicate primary key", "DATA_CONSTRAINT_VIOLATION", must="duplicate")
    e = catch(conn.run, "insert into tenants values (:i, 'x')", i="abc")
    c.exc(e, lib, FAM, "insert of text into an integer column", "DATA_WRONG_TYPE", must="integer")
    conn.run("set statement_timeout = 200")
    e = catch(conn.run, "select pg_sleep(2)")
    c.exc(e, lib, FAM, "pg_sleep(2) with statement_timeout 200 ms", "INFRA_DB_STATEMENT_TIMEOUT",
          must="statement timeout")
    conn.close()
    conns = []
    err = None
    for _ in range(6):
        try:
            conns.append(pg.connect(user="postgres", host="127.0.0.1", port=cport, database="postgres"))
        except Exception as ex:  # noqa: BLE001
            err = ex
            break
    c.exc(err, lib, FAM, "one connection more than max_connections", "RES_POOL_EXHAUSTED", must="too many clients")
    for x in conns:
        with contextlib.suppress(Exception):
            x.close()


def _mysql_setup():
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", user="root", autocommit=True)
    cur = conn.cursor()
    cur.execute(f"drop database if exists {DB}")
    cur.execute(f"create database {DB}")
    cur.execute("drop user if exists 'holdout_app'@'%'")
    cur.execute("drop user if exists 'holdout_app'@'localhost'")
    cur.execute("drop user if exists 'holdout_app'@'127.0.0.1'")
    cur.execute("create user 'holdout_app'@'127.0.0.1' identified by 'app-pass'")
    cur.execute(f"grant select on {DB}.* to 'holdout_app'@'127.0.0.1'")
    cur.execute(f"create table {DB}.runs (id int primary key, tenant varchar(20) not null, tokens int)")
    cur.execute(f"insert into {DB}.runs values (1, 'acme', 5), (2, 'globex', 7)")
    conn.close()


def _mysql_teardown():
    import pymysql

    with contextlib.suppress(Exception):
        conn = pymysql.connect(host="127.0.0.1", user="root", autocommit=True)
        cur = conn.cursor()
        cur.execute(f"drop database if exists {DB}")
        cur.execute("drop user if exists 'holdout_app'@'127.0.0.1'")
        conn.close()


def _aiomysql(c: Corpus):
    import aiomysql

    lib = ver("aiomysql")

    async def connect(**kw):
        kw.setdefault("host", "127.0.0.1")
        kw.setdefault("user", "root")
        kw.setdefault("connect_timeout", 2)
        return await aiomysql.connect(**kw)

    async def q(sql, **kw):
        conn = await connect(**kw)
        try:
            async with conn.cursor() as cur:
                await cur.execute(sql)
                return await cur.fetchall()
        finally:
            conn.close()

    run = asyncio.run
    e = catch(run, connect(user="holdout_app", password="wrong-pass"))
    c.exc(e, lib, FAM, "connect with a wrong password", "AUTH_DB_LOGIN_FAILED", must="Access denied")
    e = catch(run, connect(port=free_port()))
    c.exc(e, lib, FAM, "connect to a closed port", "INFRA_DB_UNAVAILABLE", must="Can't connect")
    e = catch(run, connect(db="holdout_missing"))
    c.exc(e, lib, FAM, "connect to a database that does not exist", "INFRA_DB_NOT_FOUND", must="Unknown database")
    e = catch(run, q("select * from run_events", db=DB))
    c.exc(e, lib, FAM, "select from a table that does not exist", "INFRA_DB_SCHEMA_MISMATCH", must="doesn't exist")
    e = catch(run, q("insert into runs values (1, 'acme', 1)", db=DB))
    c.exc(e, lib, FAM, "insert of a duplicate primary key", "DATA_CONSTRAINT_VIOLATION", must="Duplicate")
    e = catch(run, q("delete from runs", db=DB, user="holdout_app", password="app-pass"))
    c.exc(e, lib, FAM, "DELETE by a user granted only SELECT", "PERM_DB_PRIVILEGE", must="denied")
    e = catch(run, q("select no_such_column from runs", db=DB))
    c.exc(e, lib, FAM, "select of a column that does not exist", "INFRA_DB_SCHEMA_MISMATCH", must="Unknown column")


def _mariadb(c: Corpus):
    import mariadb

    lib = ver("mariadb", "mariadb-connector-python")

    def connect(**kw):
        kw.setdefault("host", "127.0.0.1")
        kw.setdefault("user", "root")
        kw.setdefault("connect_timeout", 2)
        return mariadb.connect(**kw)

    e = catch(connect, user="holdout_app", password="wrong-pass")
    c.exc(e, lib, FAM, "connect with a wrong password", "AUTH_DB_LOGIN_FAILED", must="Access denied")
    e = catch(connect, port=free_port())
    c.exc(e, lib, FAM, "connect to a closed port", "INFRA_DB_UNAVAILABLE", must="connect")
    conn = connect(database=DB)
    cur = conn.cursor()
    e = catch(cur.execute, "insert into runs (id, tenant, tokens) values (3, NULL, 1)")
    c.exc(e, lib, FAM, "insert of NULL into a NOT NULL column", "DATA_CONSTRAINT_VIOLATION", must="null")
    conn2 = connect(database=DB)
    conn.autocommit = False
    conn2.autocommit = False
    cur.execute("update runs set tokens = tokens + 1 where id = 1")
    cur2 = conn2.cursor()
    cur2.execute("set session innodb_lock_wait_timeout = 1")
    e = catch(cur2.execute, "update runs set tokens = tokens + 2 where id = 1")
    c.exc(e, lib, FAM, "update of a row another transaction holds locked, lock wait timeout 1 s",
          "INFRA_DB_LOCK_CONFLICT", must="Lock wait")
    conn.rollback()
    conn2.rollback()
    cur.execute("set session max_statement_time = 0.2")
    e = catch(cur.execute, "select sleep(2) from runs")
    if e is None:
        e = catch(cur.execute, "select benchmark(500000000, md5('x'))")
    c.exc(e, lib, FAM, "a slow query with max_statement_time 0.2 s", "INFRA_DB_STATEMENT_TIMEOUT",
          must="max_statement_time")
    conn.close()
    conn2.close()


def _aiosqlite(c: Corpus):
    import aiosqlite

    lib = ver("aiosqlite")
    d = tempfile.mkdtemp(prefix="holdout-sqlite-")
    path = os.path.join(d, "agent.db")

    async def go(sql, db=path):
        async with aiosqlite.connect(db) as conn:
            await conn.execute("create table if not exists runs (id integer primary key, tenant text not null)")
            await conn.execute(sql)
            await conn.commit()

    e = catch(asyncio.run, go("insert into runs values (1, 'a')"))
    e = catch(asyncio.run, go("insert into runs values (1, 'b')"))
    c.exc(e, lib, FAM, "insert of a duplicate primary key", "DATA_CONSTRAINT_VIOLATION", must="UNIQUE")
    e = catch(asyncio.run, go("select * from checkpoints"))
    c.exc(e, lib, FAM, "select from a table that does not exist", "INFRA_DB_SCHEMA_MISMATCH", must="no such table")
    async def locked():
        a = await aiosqlite.connect(path, timeout=0.2)
        await a.execute("begin exclusive")
        b = await aiosqlite.connect(path, timeout=0.2)
        try:
            await b.execute("insert into runs values (7, 'x')")
        finally:
            await a.close()
            await b.close()

    e = catch(asyncio.run, locked())
    c.exc(e, lib, FAM, "write while another connection holds an exclusive lock, timeout 0.2 s",
          "INFRA_DB_LOCK_CONFLICT", must="locked")


def _peewee(c: Corpus):
    import peewee as pw

    lib = ver("peewee")
    d = tempfile.mkdtemp(prefix="holdout-peewee-")
    db = pw.SqliteDatabase(os.path.join(d, "app.db"))

    class Tenant(pw.Model):
        name = pw.CharField(unique=True)

        class Meta:
            database = db

    db.connect()
    db.create_tables([Tenant])
    Tenant.create(name="acme")
    e = catch(Tenant.get, Tenant.name == "initech")
    c.exc(e, lib, FAM, "Model.get() with no matching row", "DATA_OBJECT_NOT_FOUND", must="does not exist")
    e = catch(Tenant.create, name="acme")
    c.exc(e, lib, FAM, "create() violating a unique index", "DATA_CONSTRAINT_VIOLATION", must="UNIQUE")
    pgdb = pw.PostgresqlDatabase("postgres", host="127.0.0.1", port=free_port(), user="postgres")
    e = catch(pgdb.connect)
    c.exc(e, lib, FAM, "connect to PostgreSQL on a closed port (psycopg2)", "INFRA_DB_UNAVAILABLE",
          must="refused")
    mydb = pw.MySQLDatabase(DB, host="127.0.0.1", user="holdout_app", password="nope")
    e = catch(mydb.connect)
    c.exc(e, lib, FAM, "connect to MariaDB with a wrong password (pymysql)", "AUTH_DB_LOGIN_FAILED",
          must="Access denied")

    class Missing(pw.Model):
        x = pw.IntegerField()

        class Meta:
            database = db
            table_name = "agent_steps"

    e = catch(lambda: list(Missing.select()))
    c.exc(e, lib, FAM, "select on a model whose table was never created", "INFRA_DB_SCHEMA_MISMATCH",
          must="no such table")
    db.close()


def _pony(c: Corpus):
    from pony import orm

    lib = ver("pony")
    d = tempfile.mkdtemp(prefix="holdout-pony-")
    db = orm.Database()

    class Job(db.Entity):
        name = orm.Required(str, unique=True)
        attempts = orm.Required(int)

    db.bind(provider="sqlite", filename=os.path.join(d, "jobs.db"), create_db=True)
    db.generate_mapping(create_tables=True)
    with orm.db_session:
        Job(name="nightly", attempts=0)

    @orm.db_session
    def get42():
        return Job[42]

    e = catch(get42)
    c.exc(e, lib, FAM, "Entity[pk] for a primary key that does not exist", "DATA_OBJECT_NOT_FOUND",
          must="Job[42]", style="qual")

    @orm.db_session
    def dup():
        Job(name="nightly", attempts=1)

    e = catch(dup)
    c.exc(e, lib, FAM, "commit violating a unique constraint", "DATA_CONSTRAINT_VIOLATION", must="UNIQUE")

    def bad():
        with orm.db_session:
            Job(name="x", attempts="three")

    e = catch(bad)
    c.exc(e, lib, FAM, "an int attribute given the text 'three'", "VAL_MODEL_VALIDATION", accept=["DATA_WRONG_TYPE"],
          must="three", allow_local=True)
    db2 = orm.Database()
    e = catch(db2.bind, provider="postgres", host="127.0.0.1", port=free_port(), user="postgres", database="postgres")
    c.exc(e, lib, FAM, "bind to PostgreSQL on a closed port", "INFRA_DB_UNAVAILABLE", must="refused")


def _duckdb(c: Corpus):
    import duckdb

    lib = ver("duckdb")
    con = duckdb.connect()
    con.execute("create table runs (id integer primary key, tokens integer not null)")
    con.execute("insert into runs values (1, 5)")
    e = catch(con.execute, "select * from run_events")
    c.exc(e, lib, FAM, "select from a table that does not exist", "INFRA_DB_SCHEMA_MISMATCH", must="does not exist")
    e = catch(con.execute, "insert into runs values (1, 7)")
    c.exc(e, lib, FAM, "insert of a duplicate primary key", "DATA_CONSTRAINT_VIOLATION", must="Duplicate key")
    e = catch(con.execute, "insert into runs values (2, 'many')")
    c.exc(e, lib, FAM, "insert of text into an integer column", "DATA_WRONG_TYPE", must="many")
    e = catch(con.execute, "select tokenz from runs")
    c.exc(e, lib, FAM, "select of a column that does not exist", "INFRA_DB_SCHEMA_MISMATCH", must="tokenz")
    e = catch(con.execute, "select * from read_csv('/nonexistent/holdout/export.csv')")
    c.exc(e, lib, FAM, "read_csv of a file that does not exist", "DATA_OBJECT_NOT_FOUND", must="No files found")
    d = tempfile.mkdtemp(prefix="holdout-duck-")
    p = os.path.join(d, "bad.json")
    open(p, "w").write('{"a": 1,, }')
    e = catch(con.execute, f"select * from read_json('{p}')")
    c.exc(e, lib, "data", "read_json of a malformed JSON file", "DATA_JSON_DECODE", must="json")


def _oracledb(c: Corpus):
    import oracledb

    lib = ver("oracledb", "python-oracledb")
    e = catch(oracledb.connect, user="app", password="x", dsn=f"127.0.0.1:{free_port()}/FREEPDB1")
    c.exc(e, lib, FAM, "thin-mode connect to a closed port", "INFRA_DB_UNAVAILABLE", accept=["NET_CONNECTION_REFUSED"],
          must="refused")
    with blackhole() as port:
        e = catch(oracledb.connect, user="app", password="x", dsn=f"127.0.0.1:{port}/FREEPDB1", tcp_connect_timeout=0.5)
        c.exc(e, lib, FAM, "thin-mode connect to a port whose accept queue is full, tcp_connect_timeout 0.5 s",
              "NET_CONNECT_TIMEOUT", accept=["INFRA_DB_UNAVAILABLE"], must="timed out")


def _clickhouse(c: Corpus):
    import clickhouse_connect

    lib = ver("clickhouse-connect")
    e = catch(clickhouse_connect.get_client, host="127.0.0.1", port=free_port(), connect_timeout=1)
    c.exc(e, lib, FAM, "get_client on a closed port", "INFRA_DB_UNAVAILABLE", accept=["NET_CONNECTION_REFUSED"],
          must="refused")

    def route(h):
        q = h.path + " " + (getattr(h, "body", b"") or b"").decode(errors="replace")
        import base64
        auth = h.headers.get("Authorization", "")
        with contextlib.suppress(Exception):
            auth = base64.b64decode(auth.split()[-1]).decode()
        auth += h.headers.get("X-ClickHouse-Key", "") + h.headers.get("X-ClickHouse-User", "")
        if "wrong" in auth or "intruder" in auth:
            return Resp(401, "Code: 516. DB::Exception: intruder: Authentication failed: password is incorrect, or "
                        "there is no user with such name. (AUTHENTICATION_FAILED) (version 24.8.4.13 (official build))\n",
                        headers={"X-ClickHouse-Exception-Code": "516"})
        if "run_events" in q:
            return Resp(404, "Code: 60. DB::Exception: Unknown table expression identifier 'run_events' in scope "
                        "SELECT * FROM run_events. (UNKNOWN_TABLE) (version 24.8.4.13 (official build))\n",
                        headers={"X-ClickHouse-Exception-Code": "60"})
        if "sleepEachRow" in q:
            return Resp(500, "Code: 159. DB::Exception: Timeout exceeded: elapsed 5.000958 seconds, maximum: 5. "
                        "(TIMEOUT_EXCEEDED) (version 24.8.4.13 (official build))\n",
                        headers={"X-ClickHouse-Exception-Code": "159"})
        return Resp(200, "24.8.4.13\tUTC\n", ctype="text/tab-separated-values",
                    headers={"X-ClickHouse-Server-Display-Name": "ch-1", "X-ClickHouse-Timezone": "UTC"})

    with ScriptedServer(fallback=route) as srv:
        e = catch(clickhouse_connect.get_client, host="127.0.0.1", port=srv.port, username="intruder",
                  password="wrong")
        c.exc(e, lib, FAM, "get_client answered 516 AUTHENTICATION_FAILED by a fake ClickHouse HTTP server",
              "AUTH_DB_LOGIN_FAILED", must="Authentication failed")


def _neo4j(c: Corpus):
    import neo4j

    lib = ver("neo4j")
    drv = neo4j.GraphDatabase.driver(f"bolt://127.0.0.1:{free_port()}", auth=("neo4j", "x"))
    e = catch(drv.verify_connectivity)
    c.exc(e, lib, FAM, "verify_connectivity on a closed port", "INFRA_DB_UNAVAILABLE", must="connect")
    drv.close()
    with eof_server(immediate=True) as port:
        drv = neo4j.GraphDatabase.driver(f"bolt://127.0.0.1:{port}", auth=("neo4j", "x"), connection_timeout=1)
        e = catch(drv.verify_connectivity)
        c.exc(e, lib, FAM, "verify_connectivity on a port that accepts and closes at once",
              "INFRA_DB_UNAVAILABLE", accept=["NET_CONNECTION_RESET"], must="handshake")
        drv.close()


def _cassandra(c: Corpus):
    from cassandra.cluster import Cluster

    lib = ver("cassandra-driver")
    cl = Cluster(["127.0.0.1"], port=free_port(), connect_timeout=1)
    e = catch(cl.connect)
    c.exc(e, lib, FAM, "connect to a closed port", "INFRA_DB_UNAVAILABLE", accept=["NET_CONNECTION_REFUSED"],
          must="refused")
    with contextlib.suppress(Exception):
        cl.shutdown()


def _search(c: Corpus):
    import elasticsearch
    import opensearchpy

    def es_route(h):
        p = h.path
        base = {"X-Elastic-Product": "Elasticsearch"}
        if p.startswith("/agent-runs-missing"):
            return Resp(404, {"error": {"root_cause": [{"type": "index_not_found_exception",
                                                        "reason": "no such index [agent-runs-missing]",
                                                        "index": "agent-runs-missing"}],
                                        "type": "index_not_found_exception", "reason": "no such index [agent-runs-missing]",
                                        "index": "agent-runs-missing"}, "status": 404}, headers=base)
        if p.startswith("/secure-index"):
            return Resp(403, {"error": {"root_cause": [{"type": "security_exception",
                                                        "reason": "action [indices:data/read/search] is unauthorized for user [agent] with effective roles [reader] on indices [secure-index]"}],
                                        "type": "security_exception",
                                        "reason": "action [indices:data/read/search] is unauthorized for user [agent] with effective roles [reader] on indices [secure-index]"},
                              "status": 403}, headers=base)
        if p.startswith("/busy"):
            return Resp(429, {"error": {"root_cause": [{"type": "es_rejected_execution_exception",
                                                        "reason": "rejected execution of coordinating operation [shard_detail=[busy][0][C]] "
                                                                  "[coordinating_and_primary_bytes=104857600, max_coordinating_and_primary_bytes=104857600]"}],
                                        "type": "es_rejected_execution_exception",
                                        "reason": "rejected execution of coordinating operation"}, "status": 429},
                        headers=base)
        if p.startswith("/docs/_create/1") or p.startswith("/docs/_doc/1"):
            return Resp(409, {"error": {"root_cause": [{"type": "version_conflict_engine_exception",
                                                        "reason": "[1]: version conflict, document already exists (current version [1])",
                                                        "index": "docs"}],
                                        "type": "version_conflict_engine_exception",
                                        "reason": "[1]: version conflict, document already exists (current version [1])"},
                              "status": 409}, headers=base)
        if p.startswith("/bad"):
            return Resp(400, {"error": {"root_cause": [{"type": "parsing_exception",
                                                        "reason": "Unknown key for a START_OBJECT in [qurey].",
                                                        "line": 1, "col": 10}],
                                        "type": "parsing_exception", "reason": "Unknown key for a START_OBJECT in [qurey].",
                                        "line": 1, "col": 10}, "status": 400}, headers=base)
        if p.startswith("/_cluster/health"):
            return Resp(503, {"error": {"type": "master_not_discovered_exception", "reason": None}, "status": 503},
                        headers=base)
        if p.startswith("/unauth"):
            return Resp(401, {"error": {"root_cause": [{"type": "security_exception",
                                                        "reason": "unable to authenticate user [agent] for REST request [/unauth/_search]"}],
                                        "type": "security_exception",
                                        "reason": "unable to authenticate user [agent] for REST request [/unauth/_search]"},
                              "status": 401}, headers=base)
        return Resp(200, {"ok": True}, headers=base)

    with ScriptedServer(fallback=es_route) as srv:
        lib = ver("elasticsearch")
        es = elasticsearch.Elasticsearch(srv.url, request_timeout=2, max_retries=0)
        e = catch(es.get, index="agent-runs-missing", id="1")
        c.exc(e, lib, FAM, "get from an index that does not exist (fake server)", "DATA_OBJECT_NOT_FOUND",
              must="index_not_found")
        e = catch(es.search, index="secure-index", query={"match_all": {}})
        c.exc(e, lib, FAM, "search answered 403 security_exception (fake server)", "AUTH_FORBIDDEN",
              must="unauthorized")
        e = catch(es.index, index="busy", document={"a": 1})
        c.exc(e, lib, FAM, "index answered 429 es_rejected_execution_exception (fake server)", "RATE_LIMIT_HTTP_429",
              must="429")
        e = catch(es.create, index="docs", id="1", document={"a": 1})
        c.exc(e, lib, FAM, "create of a document that already exists (fake server)", "DATA_CONFLICT",
              must="version_conflict")
        e = catch(es.cluster.health)
        c.exc(e, lib, FAM, "cluster.health answered 503 master_not_discovered (fake server)",
              "INFRA_SERVICE_UNAVAILABLE", must="503")
        es2 = elasticsearch.Elasticsearch(f"http://127.0.0.1:{free_port()}", request_timeout=1, max_retries=1)
        e = catch(es2.info)
        c.exc(e, lib, FAM, "info() against a closed port", "NET_CONNECTION_REFUSED", must="refused")
        lib = ver("opensearch-py")
        os_ = opensearchpy.OpenSearch([srv.url], timeout=2, max_retries=0)
        e = catch(os_.search, index="bad", body={"qurey": {}})
        c.exc(e, lib, FAM, "search with a misspelt query key answered 400 parsing_exception (fake server)",
              "VAL_BAD_REQUEST", must="parsing_exception")
        e = catch(os_.search, index="unauth", body={"query": {"match_all": {}}})
        c.exc(e, lib, FAM, "search answered 401 security_exception (fake server)", "AUTH_UNAUTHORIZED",
              must="401")
        e = catch(os_.get, index="agent-runs-missing", id="7")
        c.exc(e, lib, FAM, "get from an index that does not exist (fake server)", "DATA_OBJECT_NOT_FOUND",
              must="index_not_found")
    with silent_server() as port:
        os2 = opensearchpy.OpenSearch([f"http://127.0.0.1:{port}"], timeout=0.5, max_retries=0)
        e = catch(os2.info)
        c.exc(e, lib, FAM, "info() on a port that never answers, timeout 0.5 s", "NET_READ_TIMEOUT",
              must="timed out")


def run(c: Corpus):
    with throwaway_cluster() as cport:
        if cport is None:
            c.skipped.append("pg8000: no throwaway cluster")
        else:
            _pg8000(c, cport)
    _mysql_setup()
    try:
        _aiomysql(c)
        _mariadb(c)
        _peewee(c)
    finally:
        _mysql_teardown()
    for fn in (_aiosqlite, _pony, _duckdb, _oracledb, _clickhouse, _neo4j, _cassandra, _search):
        try:
            fn(c)
        except Exception:  # noqa: BLE001
            import traceback
            c.skipped.append(f"{fn.__name__} crashed: {traceback.format_exc()[-1500:]}")
