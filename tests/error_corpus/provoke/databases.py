"""Databases: psycopg2, psycopg 3, asyncpg, pymysql, mysqlclient, sqlite3, SQLAlchemy, pymongo."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import tempfile
import threading
import time

from .common import Corpus, blackhole, free_port, stdlib, ver
from .http_clients import catch
from .pgcluster import throwaway_cluster

FAM = "database"
DB = "error_corpus_tmp"
PG = "host=127.0.0.1 port=5432 user=postgres"


def _pg_setup():
    import psycopg2

    admin = psycopg2.connect(PG + " dbname=postgres")
    admin.autocommit = True
    cur = admin.cursor()
    cur.execute(f"drop database if exists {DB}")
    cur.execute(f"create database {DB}")
    cur.execute("drop role if exists error_corpus_reader")
    cur.execute("create role error_corpus_reader nologin")
    admin.close()
    conn = psycopg2.connect(PG + f" dbname={DB}")
    conn.autocommit = True
    conn.cursor().execute("""
        create table tenants (id int primary key, name text not null unique);
        create table runs (id int primary key, tenant_id int not null references tenants(id),
                           tokens int check (tokens >= 0), meta jsonb, status text);
        insert into tenants values (1, 'acme'), (2, 'globex');
        insert into runs values (1, 1, 10, '{}', 'ok'), (2, 1, 5, '{}', 'ok');
        grant connect on database error_corpus_tmp to error_corpus_reader;
    """)
    conn.close()


def _pg_teardown():
    import psycopg2

    with contextlib.suppress(Exception):
        admin = psycopg2.connect(PG + " dbname=postgres")
        admin.autocommit = True
        cur = admin.cursor()
        cur.execute(f"select pg_terminate_backend(pid) from pg_stat_activity where datname = '{DB}'")
        cur.execute(f"drop database if exists {DB}")
        cur.execute("drop role if exists error_corpus_reader")
        admin.close()


def _deadlock(connect, err_types):
    """Two sessions lock two rows in opposite order; return the deadlock error one of them got."""
    a, b = connect(), connect()
    ca, cb = a.cursor(), b.cursor()
    ca.execute("update tenants set name = name where id = 1")
    cb.execute("update tenants set name = name where id = 2")
    result = {}

    def second():
        try:
            cb.execute("update tenants set name = name where id = 1")
        except err_types as e:
            result["e"] = e

    t = threading.Thread(target=second)
    t.start()
    time.sleep(0.3)
    try:
        ca.execute("update tenants set name = name where id = 2")
    except err_types as e:
        result["e"] = e
    t.join(10)
    for conn in (a, b):
        with contextlib.suppress(Exception):
            conn.rollback()
            conn.close()
    return result.get("e")


def _psycopg2(c: Corpus, cluster_port):
    import psycopg2

    lib = ver("psycopg2-binary", "psycopg2")
    e = catch(psycopg2.connect, f"host=127.0.0.1 port={free_port()} user=postgres dbname=postgres connect_timeout=2")
    c.exc(e, lib, FAM, "connect to a closed port", "INFRA_DB_UNAVAILABLE", must="refused")
    with blackhole() as port:
        e = catch(psycopg2.connect, f"host=127.0.0.1 port={port} user=postgres connect_timeout=1")
        c.exc(e, lib, FAM, "connect to a full accept queue, connect_timeout=1", "NET_CONNECT_TIMEOUT", must="timeout")
    e = catch(psycopg2.connect, PG.replace("user=postgres", "user=agent_writer") + " dbname=postgres")
    c.exc(e, lib, FAM, "connect as a role that does not exist", "AUTH_DB_LOGIN_FAILED", must="does not exist")
    e = catch(psycopg2.connect, PG + " dbname=agent_prod")
    c.exc(e, lib, FAM, "connect to a database that does not exist", "INFRA_DB_NOT_FOUND", must="does not exist")
    if cluster_port:
        base = f"host=127.0.0.1 port={cluster_port} dbname=postgres connect_timeout=2"
        e = catch(psycopg2.connect, base + " user=agent password=wrong-password")
        c.exc(e, lib, FAM, "connect with a wrong password (throwaway scram cluster)", "AUTH_DB_LOGIN_FAILED",
              must="password authentication failed")
        e = catch(psycopg2.connect, base + " user=intruder password=x")
        c.exc(e, lib, FAM, "connect as a user no pg_hba.conf line admits (throwaway cluster)", "AUTH_DB_LOGIN_FAILED",
              must="pg_hba.conf")
        e = catch(psycopg2.connect, base + " user=postgres sslmode=require")
        c.exc(e, lib, FAM, "connect with sslmode=require to a server without SSL", "NET_TLS_ERROR", must="SSL")
        held = []
        try:
            for _ in range(5):
                held.append(psycopg2.connect(base + " user=postgres"))
        except psycopg2.Error as ex:
            c.exc(ex, lib, FAM, "connect when max_connections are all taken (throwaway cluster)", "RES_POOL_EXHAUSTED",
                  must="too many clients")
        for h in held:
            h.close()

    def connect():
        return psycopg2.connect(PG + f" dbname={DB}")

    conn = connect()
    conn.autocommit = True
    cur = conn.cursor()

    def q(sql, *args):
        return catch(cur.execute, sql, *args)

    cases = [
        ("set statement_timeout = 200; select pg_sleep(3)", "select pg_sleep(3) with statement_timeout 200 ms",
         "INFRA_DB_STATEMENT_TIMEOUT", "statement timeout"),
        ("insert into tenants values (3, 'acme')", "insert of a duplicate unique value", "DATA_CONSTRAINT_VIOLATION",
         "duplicate key"),
        ("insert into tenants values (4, null)", "insert of NULL into a NOT NULL column", "DATA_CONSTRAINT_VIOLATION",
         "null value"),
        ("insert into runs values (9, 99, 1, '{}', 'ok')", "insert with a foreign key to a missing row",
         "DATA_CONSTRAINT_VIOLATION", "foreign key"),
        ("update runs set tokens = -1 where id = 1", "update that violates a CHECK constraint",
         "DATA_CONSTRAINT_VIOLATION", "check constraint"),
        ("select * from agent_steps", "select from a table that does not exist", "INFRA_DB_SCHEMA_MISMATCH",
         "does not exist"),
        ("select cost_usd from runs", "select of a column that does not exist", "INFRA_DB_SCHEMA_MISMATCH",
         "does not exist"),
        ("select * from runs where id = 'run-42'", "integer column compared with a non-numeric string",
         "DATA_WRONG_TYPE", "invalid input syntax"),
        ("update runs set meta = '{\"a\": 1' where id = 1", "jsonb column set to truncated JSON", "DATA_JSON_DECODE",
         "json"),
    ]
    for sql, what, meaning, must in cases:
        if what is None:
            continue
        e = q(sql)
        c.exc(e, lib, FAM, what, meaning, must=must)
        cur.execute("set statement_timeout = 0")
    e = q("select convert_from('\\xc328'::bytea, 'UTF8')")
    c.exc(e, lib, FAM, "convert_from() of bytes that are not valid UTF-8", "DATA_ENCODING", must="invalid byte sequence")
    e = q("set role error_corpus_reader; select * from runs")
    c.exc(e, lib, FAM, "select on a table the role has no privilege on", "PERM_DB_PRIVILEGE",
          must="permission denied")
    cur.execute("reset role")
    e = _deadlock(connect, psycopg2.Error)
    c.exc(e, lib, FAM, "two sessions update two rows in opposite order", "INFRA_DB_LOCK_CONFLICT", must="deadlock")
    a, b = connect(), connect()
    a.cursor().execute("update tenants set name = name where id = 1")
    bc = b.cursor()
    bc.execute("set lock_timeout = 200")
    e = catch(bc.execute, "update tenants set name = 'x' where id = 1")
    c.exc(e, lib, FAM, "update of a row locked by another session, lock_timeout 200 ms", "INFRA_DB_LOCK_CONFLICT",
          must="lock timeout")
    a.rollback()
    b.rollback()
    for conn2 in (a, b):
        conn2.set_session(isolation_level="SERIALIZABLE")
    a.cursor().execute("select sum(tokens) from runs")
    b.cursor().execute("select sum(tokens) from runs")
    a.cursor().execute("insert into runs values (20, 1, 1, '{}', 'a')")
    b.cursor().execute("insert into runs values (21, 1, 1, '{}', 'b')")
    a.commit()
    e = catch(b.commit)
    c.exc(e, lib, FAM, "two serializable transactions with a read/write dependency", "INFRA_DB_LOCK_CONFLICT",
          must="serialize")
    a.close()
    b.close()
    victim = connect()
    vpid = victim.get_backend_pid()
    threading.Timer(0.3, lambda: cur.execute(f"select pg_cancel_backend({vpid})")).start()
    e = catch(victim.cursor().execute, "select pg_sleep(5)")
    c.exc(e, lib, FAM, "long query cancelled with pg_cancel_backend", "RUN_CANCELLED", must="user request")
    victim.rollback()
    cur.execute(f"select pg_terminate_backend({vpid})")
    e = catch(victim.cursor().execute, "select 1")
    c.exc(e, lib, FAM, "query on a session terminated with pg_terminate_backend", "NET_CONNECTION_RESET",
          accept=["INFRA_DB_UNAVAILABLE"])
    conn.close()


def _psycopg3(c: Corpus):
    import psycopg

    lib = ver("psycopg")
    e = catch(psycopg.connect, f"host=127.0.0.1 port={free_port()} user=postgres connect_timeout=2")
    c.exc(e, lib, FAM, "connect to a closed port", "INFRA_DB_UNAVAILABLE", must="refused")
    with blackhole() as port:
        e = catch(psycopg.connect, f"host=127.0.0.1 port={port} user=postgres connect_timeout=1")
        c.exc(e, lib, FAM, "connect to a full accept queue, connect_timeout=1", "NET_CONNECT_TIMEOUT", must="timeout")
    e = catch(psycopg.connect, "host=127.0.0.1 user=etl_loader dbname=postgres")
    c.exc(e, lib, FAM, "connect as a role that does not exist", "AUTH_DB_LOGIN_FAILED", must="does not exist")
    e = catch(psycopg.connect, "host=127.0.0.1 user=postgres dbname=warehouse")
    c.exc(e, lib, FAM, "connect to a database that does not exist", "INFRA_DB_NOT_FOUND", must="does not exist")
    with psycopg.connect(PG + f" dbname={DB}", autocommit=True) as conn:
        for sql, what, meaning, must in (
            ("set statement_timeout = 150; select pg_sleep(2)", "pg_sleep(2) with statement_timeout 150 ms",
             "INFRA_DB_STATEMENT_TIMEOUT", "statement timeout"),
            ("insert into tenants values (1, 'initech')", "insert of a duplicate primary key",
             "DATA_CONSTRAINT_VIOLATION", "duplicate key"),
            ("select * from failure_matches", "select from a table that does not exist", "INFRA_DB_SCHEMA_MISMATCH",
             "does not exist"),
            ("insert into runs (id, tenant_id, tokens) values (30, 1, 'many')", "integer column given a word",
             "DATA_WRONG_TYPE", "invalid input syntax"),
        ):
            e = catch(conn.execute, sql)
            c.exc(e, lib, FAM, what, meaning, must=must)
            conn.execute("set statement_timeout = 0")


def _asyncpg(c: Corpus, cluster_port):
    import asyncpg

    lib = ver("asyncpg")

    def a(coro):
        return catch(asyncio.run, coro)

    async def connect(**kw):
        kw.setdefault("host", "127.0.0.1")
        kw.setdefault("user", "postgres")
        kw.setdefault("timeout", 2)
        conn = await asyncpg.connect(**kw)
        return conn

    async def once(sql, *args, **kw):
        conn = await connect(database=DB, **kw)
        try:
            await conn.execute(sql, *args) if not args else await conn.fetch(sql, *args)
        finally:
            await conn.close()

    e = a(connect(port=free_port()))
    c.exc(e, lib, FAM, "connect to a closed port", "INFRA_DB_UNAVAILABLE", accept=["NET_CONNECTION_REFUSED"])
    with blackhole() as port:
        e = a(connect(port=port, timeout=0.5))
        c.exc(e, lib, FAM, "connect to a full accept queue, timeout 0.5 s", "NET_TIMEOUT",
              accept=["NET_CONNECT_TIMEOUT"], style="qual")
    e = a(connect(user="agent_reader"))
    c.exc(e, lib, FAM, "connect as a role that does not exist", "AUTH_DB_LOGIN_FAILED", must="does not exist")
    e = a(connect(database="tenant_archive"))
    c.exc(e, lib, FAM, "connect to a database that does not exist", "INFRA_DB_NOT_FOUND", must="does not exist")
    if cluster_port:
        e = a(connect(port=cluster_port, user="agent", password="nope", database="postgres"))
        c.exc(e, lib, FAM, "connect with a wrong password (throwaway scram cluster)", "AUTH_DB_LOGIN_FAILED",
              must="password")
    e = a(once("select pg_sleep(3)", server_settings={"statement_timeout": "200"}))
    c.exc(e, lib, FAM, "pg_sleep(3) with statement_timeout 200 ms", "INFRA_DB_STATEMENT_TIMEOUT", must="timeout")
    e = a(once("insert into tenants values (1, 'dup')"))
    c.exc(e, lib, FAM, "insert of a duplicate primary key", "DATA_CONSTRAINT_VIOLATION", must="duplicate")
    e = a(once("select * from run_steps"))
    c.exc(e, lib, FAM, "select from a table that does not exist", "INFRA_DB_SCHEMA_MISMATCH", must="does not exist")
    e = a(once("select * from runs where id = $1", "run-42"))
    c.exc(e, lib, FAM, "query argument of the wrong Python type for an integer column", "DATA_WRONG_TYPE",
          must="invalid input")

    async def slow():
        conn = await connect(database=DB, command_timeout=0.3)
        try:
            await conn.execute("select pg_sleep(3)")
        finally:
            conn.terminate()

    e = a(slow())
    c.exc(e, lib, FAM, "pg_sleep(3) with command_timeout 0.3 s on the client", "NET_TIMEOUT", style="qual")


def _mysql_setup():
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", user="root", autocommit=True)
    cur = conn.cursor()
    cur.execute(f"drop database if exists {DB}")
    cur.execute(f"create database {DB}")
    cur.execute(f"use {DB}")
    cur.execute("create table tenants (id int primary key, name varchar(50) not null unique) engine=InnoDB")
    cur.execute("create table runs (id int primary key, tenant_id int not null, tokens int,"
                " foreign key (tenant_id) references tenants(id)) engine=InnoDB")
    cur.execute("insert into tenants values (1, 'acme'), (2, 'globex')")
    cur.execute("drop user if exists 'error_corpus_ro'@'%'")
    cur.execute("create user 'error_corpus_ro'@'%' identified by 'ro-pass' with max_user_connections 1")
    cur.execute(f"grant select on {DB}.* to 'error_corpus_ro'@'%'")
    conn.close()


def _mysql_teardown():
    import pymysql

    with contextlib.suppress(Exception):
        conn = pymysql.connect(host="127.0.0.1", user="root", autocommit=True)
        cur = conn.cursor()
        cur.execute(f"drop database if exists {DB}")
        cur.execute("drop user if exists 'error_corpus_ro'@'%'")
        conn.close()


def _pymysql(c: Corpus):
    import pymysql

    lib = ver("pymysql", "PyMySQL")

    def connect(**kw):
        kw.setdefault("host", "127.0.0.1")
        kw.setdefault("user", "root")
        kw.setdefault("connect_timeout", 2)
        return pymysql.connect(**kw)

    e = catch(connect, port=free_port())
    c.exc(e, lib, FAM, "connect to a closed port", "INFRA_DB_UNAVAILABLE", must="refused")
    with blackhole() as port:
        e = catch(connect, port=port, connect_timeout=0.5)
        c.exc(e, lib, FAM, "connect to a full accept queue, connect_timeout 0.5 s", "NET_CONNECT_TIMEOUT",
              must="timed out")
    e = catch(connect, user="agent_rw", password="wrong")
    c.exc(e, lib, FAM, "connect with an unknown user and password", "AUTH_DB_LOGIN_FAILED", must="Access denied")
    e = catch(connect, database="agent_prod")
    c.exc(e, lib, FAM, "connect to a database that does not exist", "INFRA_DB_NOT_FOUND", must="Unknown database")
    e = catch(connect, user="error_corpus_ro", password="ro-pass", database="mysql")
    c.exc(e, lib, FAM, "connect as a user without rights on that database", "PERM_DB_PRIVILEGE",
          accept=["AUTH_DB_LOGIN_FAILED"], must="Access denied")
    ro = connect(user="error_corpus_ro", password="ro-pass", database=DB)
    e = catch(ro.cursor().execute, "insert into tenants values (9, 'x')")
    c.exc(e, lib, FAM, "insert as a user granted only SELECT", "PERM_DB_PRIVILEGE", must="denied")
    e = catch(connect, user="error_corpus_ro", password="ro-pass", database=DB)
    c.exc(e, lib, FAM, "second connection of a user limited to max_user_connections 1", "RES_POOL_EXHAUSTED",
          must="max_user_connections")
    ro.close()
    conn = connect(database=DB, autocommit=True)
    cur = conn.cursor()
    cur.execute("set session sql_mode = 'STRICT_ALL_TABLES'")
    for sql, what, meaning, must in (
        ("insert into tenants values (3, 'acme')", "insert of a duplicate unique value", "DATA_CONSTRAINT_VIOLATION",
         "Duplicate entry"),
        ("insert into tenants values (4, null)", "insert of NULL into a NOT NULL column", "DATA_CONSTRAINT_VIOLATION",
         "cannot be null"),
        ("insert into runs values (1, 99, 1)", "insert with a foreign key to a missing row",
         "DATA_CONSTRAINT_VIOLATION", "foreign key"),
        ("insert into runs values (2, 1, 'lots')", "integer column given a word (strict mode)", "DATA_WRONG_TYPE",
         "Incorrect integer value"),
        ("select * from agent_steps", "select from a missing table", "INFRA_DB_SCHEMA_MISMATCH", "doesn't exist"),
        ("select cost_usd from runs", "select of a missing column", "INFRA_DB_SCHEMA_MISMATCH", "Unknown column"),
    ):
        if "benchmark" in sql:
            cur.execute("set session max_statement_time = 0.2")
        e = catch(cur.execute, sql)
        c.exc(e, lib, FAM, what, meaning, must=must)
        cur.execute("set session max_statement_time = 0")
    slow = connect(database=DB, read_timeout=0.5)
    e = catch(slow.cursor().execute, "select sleep(3)")
    c.exc(e, lib, FAM, "select sleep(3) with read_timeout 0.5 s", "NET_READ_TIMEOUT", must="timed out")
    a, b = connect(database=DB), connect(database=DB)
    a.cursor().execute("update tenants set name = name where id = 1")
    bc = b.cursor()
    bc.execute("set session innodb_lock_wait_timeout = 1")
    e = catch(bc.execute, "update tenants set name = 'x' where id = 1")
    c.exc(e, lib, FAM, "update of a row locked by another session, innodb_lock_wait_timeout 1 s",
          "INFRA_DB_LOCK_CONFLICT", must="Lock wait timeout")
    a.rollback()
    b.rollback()
    a.close()
    b.close()
    e = _deadlock(lambda: connect(database=DB), pymysql.Error)
    c.exc(e, lib, FAM, "two sessions update two rows in opposite order", "INFRA_DB_LOCK_CONFLICT", must="Deadlock")
    conn.close()


def _mysqlclient(c: Corpus):
    try:
        import MySQLdb
    except ImportError:
        return
    lib = ver("mysqlclient")
    e = catch(MySQLdb.connect, host="127.0.0.1", port=free_port(), user="root", connect_timeout=2)
    c.exc(e, lib, FAM, "connect to a closed port", "INFRA_DB_UNAVAILABLE", accept=["NET_CONNECTION_REFUSED"])
    e = catch(MySQLdb.connect, host="127.0.0.1", user="report_user", password="pw")
    c.exc(e, lib, FAM, "connect with an unknown user and password", "AUTH_DB_LOGIN_FAILED", must="Access denied")
    e = catch(MySQLdb.connect, host="127.0.0.1", user="root", database="billing")
    c.exc(e, lib, FAM, "connect to a database that does not exist", "INFRA_DB_NOT_FOUND", must="Unknown database")
    conn = MySQLdb.connect(host="127.0.0.1", user="root", database=DB)
    e = catch(conn.cursor().execute, "insert into tenants values (1, 'acme')")
    c.exc(e, lib, FAM, "insert of a duplicate primary key", "DATA_CONSTRAINT_VIOLATION", must="Duplicate")
    e = catch(conn.cursor().execute, "select * from sessions")
    c.exc(e, lib, FAM, "select from a missing table", "INFRA_DB_SCHEMA_MISMATCH", must="doesn't exist")
    conn.close()


def _sqlite(c: Corpus):
    lib = stdlib("sqlite3") + f" / SQLite {sqlite3.sqlite_version}"
    d = tempfile.mkdtemp(prefix="corpus-sqlite-")
    path = os.path.join(d, "agent.db")
    conn = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    conn.executescript("""
        pragma foreign_keys = on;
        create table tenants (id integer primary key, name text not null unique);
        create table runs (id integer primary key, tenant_id int not null references tenants(id),
                           tokens int check (tokens >= 0));
        create table steps (n integer, label text) strict;
        insert into tenants values (1, 'acme');
    """)
    for sql, what, meaning, must in (
        ("insert into tenants values (2, 'acme')", "insert of a duplicate unique value", "DATA_CONSTRAINT_VIOLATION",
         "UNIQUE"),
        ("insert into tenants values (3, null)", "insert of NULL into a NOT NULL column", "DATA_CONSTRAINT_VIOLATION",
         "NOT NULL"),
        ("insert into runs values (1, 42, 1)", "insert with a foreign key to a missing row",
         "DATA_CONSTRAINT_VIOLATION", "FOREIGN KEY"),
        ("insert into runs values (2, 1, -5)", "insert violating a CHECK constraint", "DATA_CONSTRAINT_VIOLATION",
         "CHECK"),
        ("select * from failure_events", "select from a missing table", "INFRA_DB_SCHEMA_MISMATCH", "no such table"),
        ("select cost from runs", "select of a missing column", "INFRA_DB_SCHEMA_MISMATCH", "no such column"),
        ("insert into steps values ('three', 'x')", "text into an INTEGER column of a STRICT table", "DATA_WRONG_TYPE",
         "cannot store"),
        ("insert into tenants values ('abc', 'initech')", "text into an INTEGER PRIMARY KEY", "DATA_WRONG_TYPE",
         "mismatch"),
    ):
        e = catch(conn.execute, sql)
        c.exc(e, lib, FAM, what, meaning, must=must)
    other = sqlite3.connect(path, timeout=0.1, isolation_level=None)
    other.execute("begin immediate")
    other.execute("insert into tenants values (5, 'held')")
    e = catch(conn.execute, "insert into tenants values (6, 'blocked')")
    c.exc(e, lib, FAM, "write while another connection holds the write lock, timeout 0.1 s", "INFRA_DB_LOCK_CONFLICT",
          must="locked")
    other.execute("rollback")
    other.close()
    e = catch(sqlite3.connect, f"file:{d}/missing.db?mode=ro", uri=True)
    c.exc(e, lib, FAM, "open of a database file that does not exist (mode=ro)", "INFRA_DB_NOT_FOUND",
          accept=["DATA_OBJECT_NOT_FOUND"])
    conn.execute("create table big as select 1 as x")
    threading.Timer(0.2, conn.interrupt).start()
    e = catch(conn.execute, "with recursive r(i) as (select 1 union all select i + 1 from r) select count(*) from r")
    c.exc(e, lib, FAM, "endless recursive query stopped with Connection.interrupt()", "RUN_CANCELLED",
          must="interrupted")
    conn.close()


def _sqlalchemy(c: Corpus):
    import sqlalchemy as sa
    from sqlalchemy import orm

    lib = ver("sqlalchemy", "SQLAlchemy")
    eng = sa.create_engine(f"postgresql+psycopg2://postgres@127.0.0.1:{free_port()}/postgres")
    e = catch(lambda: eng.connect().close())
    c.exc(e, lib, FAM, "engine.connect() to a closed port (psycopg2)", "INFRA_DB_UNAVAILABLE", must="refused")
    eng = sa.create_engine(f"mysql+pymysql://root@127.0.0.1:{free_port()}/test")
    e = catch(lambda: eng.connect().close())
    c.exc(e, lib, FAM, "engine.connect() to a closed port (pymysql)", "INFRA_DB_UNAVAILABLE", must="Can't connect")
    eng = sa.create_engine(f"postgresql+psycopg2://postgres@127.0.0.1:5432/{DB}", pool_size=1, max_overflow=0,
                           pool_timeout=0.2)
    held = eng.connect()
    e = catch(lambda: eng.connect().close())
    c.exc(e, lib, FAM, "second checkout from a QueuePool of size 1, pool_timeout 0.2 s", "RES_POOL_EXHAUSTED",
          must="QueuePool limit")
    held.close()
    with eng.connect() as conn:
        e = catch(conn.execute, sa.text("select * from agent_sessions"))
        c.exc(e, lib, FAM, "select from a missing table (psycopg2)", "INFRA_DB_SCHEMA_MISMATCH", must="does not exist")
        conn.rollback()
        e = catch(conn.execute, sa.text("set local statement_timeout = 200; select pg_sleep(2)"))
        c.exc(e, lib, FAM, "pg_sleep(2) under statement_timeout 200 ms (psycopg2)", "INFRA_DB_STATEMENT_TIMEOUT",
              must="statement timeout")
        conn.rollback()
        e = catch(conn.execute, sa.text("insert into tenants values (1, 'dup')"))
        c.exc(e, lib, FAM, "insert of a duplicate primary key (psycopg2)", "DATA_CONSTRAINT_VIOLATION",
              must="duplicate key")
        conn.rollback()
    eng.dispose()

    class Base(orm.DeclarativeBase):
        pass

    class Doc(Base):
        __tablename__ = "docs"
        id = sa.Column(sa.Integer, primary_key=True)
        body = sa.Column(sa.String)
        version = sa.Column(sa.Integer, nullable=False)
        __mapper_args__ = {"version_id_col": version}

    eng = sa.create_engine("sqlite://")
    Base.metadata.create_all(eng)
    with orm.Session(eng) as s:
        s.add(Doc(id=1, body="a"))
        s.commit()
        e = catch(s.execute(sa.select(Doc).where(Doc.id == 2)).scalar_one)
        c.exc(e, lib, FAM, "scalar_one() on a query that matched no row", "DATA_OBJECT_NOT_FOUND",
              must="No row was found")
        doc = s.get(Doc, 1)
        with eng.begin() as raw:
            raw.execute(sa.text("update docs set version = version + 1 where id = 1"))
        doc.body = "b"
        e = catch(s.commit)
        c.exc(e, lib, FAM, "ORM update of a row whose version changed underneath (version_id_col)", "DATA_CONFLICT",
              must="expected to update")


def _pymongo(c: Corpus):
    try:
        import pymongo
    except ImportError:
        return
    lib = ver("pymongo")
    cl = pymongo.MongoClient("127.0.0.1", free_port(), serverSelectionTimeoutMS=500, connectTimeoutMS=300)
    e = catch(cl.agents.runs.find_one, {"_id": 1})
    c.exc(e, lib, FAM, "find_one against a closed port, serverSelectionTimeoutMS 500", "INFRA_DB_UNAVAILABLE",
          must="refused")
    with blackhole() as port:
        cl = pymongo.MongoClient("127.0.0.1", port, serverSelectionTimeoutMS=800, connectTimeoutMS=300)
        e = catch(cl.agents.runs.insert_one, {"run": 1})
        c.exc(e, lib, FAM, "insert_one against a full accept queue, connectTimeoutMS 300", "NET_CONNECT_TIMEOUT",
              accept=["INFRA_DB_UNAVAILABLE"], must="timed out")


def run(c: Corpus):
    _pg_setup()
    try:
        with throwaway_cluster() as cport:
            if cport is None:
                c.skipped.append("throwaway PostgreSQL cluster could not start")
            for fn in (_psycopg2,):
                fn(c, cport)
            _asyncpg(c, cport)
        _psycopg3(c)
        _sqlalchemy(c)
    finally:
        _pg_teardown()
    _mysql_setup()
    try:
        _pymysql(c)
        _mysqlclient(c)
    finally:
        _mysql_teardown()
    _sqlite(c)
    _pymongo(c)
