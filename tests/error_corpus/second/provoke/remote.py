"""SSH/FTP/LDAP clients not in the main corpus: fabric and invoke (throwaway sshd), aioftp (pyftpdlib),
python-ldap (throwaway slapd)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import tempfile
import threading

from .cachebroker import daemon
from .common import Corpus, catch, free_port, silent_server, ver
from .common import run as sh


@contextlib.contextmanager
def sshd():
    d = tempfile.mkdtemp(prefix="holdout-sshd-")
    os.makedirs("/run/sshd", exist_ok=True)
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{d}/host"])
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{d}/client"])
    sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", f"{d}/other"])
    shutil.copy(f"{d}/client.pub", f"{d}/authorized_keys")
    port = free_port()
    with open(f"{d}/sshd_config", "w") as f:
        f.write(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host\nPidFile {d}/sshd.pid\nUsePAM no\n"
                f"PasswordAuthentication yes\nPermitRootLogin yes\nAuthorizedKeysFile {d}/authorized_keys\n"
                f"StrictModes no\nSubsystem sftp internal-sftp\nLogLevel QUIET\nMaxStartups 50\n")
    with daemon(["/usr/sbin/sshd", "-D", "-e", "-f", f"{d}/sshd_config"], port):
        yield port, d
    shutil.rmtree(d, ignore_errors=True)


def _fabric(c: Corpus, port, d):
    import invoke
    from fabric import Connection

    lib = ver("fabric")
    fam = "ssh"

    def conn(**kw):
        ck = {"look_for_keys": False, "allow_agent": False, "timeout": 2, "banner_timeout": 2}
        ck.update(kw.pop("ck", {}))
        return Connection("127.0.0.1", port=kw.pop("p", port), user="root", connect_kwargs=ck, **kw)

    e = catch(lambda: conn(ck={"key_filename": f"{d}/client"}).run("ls /srv/holdout-missing-dir", hide=True))
    c.exc(e, lib, fam, "run() of a remote command that exits 2", "TOOL_SUBPROCESS_FAILED", must="Exit code")
    e = catch(lambda: conn(ck={"key_filename": f"{d}/client"}).run("holdout-no-such-tool --version", hide=True))
    c.exc(e, lib, fam, "run() of a remote command that does not exist (exit 127)", "TOOL_EXECUTABLE_NOT_FOUND",
          must="127")
    e = catch(lambda: conn(ck={"password": "wrong-password"}).run("true", hide=True))
    c.exc(e, lib, fam, "connect with a wrong password (throwaway sshd)", "AUTH_LOGIN_FAILED")
    e = catch(lambda: conn(ck={"key_filename": f"{d}/client"}).get("/srv/holdout/missing-report.csv",
                                                                     local=tempfile.mktemp()))
    c.exc(e, lib, fam, "get() of a remote file that does not exist (SFTP)", "DATA_OBJECT_NOT_FOUND")
    e = catch(lambda: conn(ck={"key_filename": f"{d}/client"}, p=free_port()).run("true", hide=True))
    c.exc(e, lib, fam, "connect to a closed port", "NET_CONNECTION_REFUSED", accept=["NET_CONNECTION_ERROR"])
    e = catch(lambda: conn(ck={"key_filename": f"{d}/client"}).run("sleep 5", hide=True, timeout=1))
    c.exc(e, lib, fam, "run('sleep 5', timeout=1)", "TOOL_TIMEOUT", must="did not complete")
    lib = ver("invoke")
    e = catch(invoke.run, "holdout-missing-binary --help", hide=True)
    c.exc(e, lib, "cli", "invoke.run of a command that does not exist", "TOOL_EXECUTABLE_NOT_FOUND",
          must="127")
    e = catch(invoke.run, "sh -c 'echo build failed: missing module >&2; exit 3'", hide=True)
    c.exc(e, lib, "cli", "invoke.run of a command that exits 3", "TOOL_SUBPROCESS_FAILED", must="Exit code")
    e = catch(invoke.run, "sleep 5", hide=True, timeout=0.5)
    c.exc(e, lib, "cli", "invoke.run('sleep 5', timeout=0.5)", "TOOL_TIMEOUT", must="did not complete")


def _aioftp(c: Corpus):
    import aioftp
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer

    lib = ver("aioftp")
    fam = "ftp"
    root = tempfile.mkdtemp(prefix="holdout-ftp-")
    os.makedirs(os.path.join(root, "exports"))
    auth = DummyAuthorizer()
    auth.add_user("agent", "right-password", root, perm="elr")
    handler = type("H", (FTPHandler,), {"authorizer": auth, "passive_ports": None})
    import logging
    logging.getLogger("pyftpdlib").setLevel(logging.CRITICAL)
    srv = FTPServer(("127.0.0.1", 0), handler)
    port = srv.address[1]
    t = threading.Thread(target=srv.serve_forever, kwargs={"timeout": 0.2, "blocking": True}, daemon=True)
    t.start()

    async def go(op, user="agent", pw="right-password", p=None, **kw):
        async with aioftp.Client.context("127.0.0.1", p or port, user, pw, **kw) as cl:
            return await op(cl)

    async def noop(cl):
        return None

    try:
        e = catch(asyncio.run, go(noop, pw="wrong-password"))
        c.exc(e, lib, fam, "login with a wrong password (pyftpdlib)", "AUTH_LOGIN_FAILED", must="530")
        e = catch(asyncio.run, go(lambda cl: cl.download("exports/missing.csv", tempfile.mkdtemp())))
        c.exc(e, lib, fam, "download of a file that does not exist", "DATA_OBJECT_NOT_FOUND", must="550")
        src = os.path.join(tempfile.mkdtemp(), "report.csv")
        open(src, "w").write("a,b\n")
        e = catch(asyncio.run, go(lambda cl: cl.upload(src, "exports/report.csv", write_into=True)))
        c.exc(e, lib, fam, "upload by a user with read-only permissions", "AUTH_FORBIDDEN",
              accept=["PERM_FILE_ACCESS"], must="550")
        e = catch(asyncio.run, go(noop, p=free_port()))
        c.exc(e, lib, fam, "connect to a closed port", "NET_CONNECTION_REFUSED")
        with silent_server() as sport:
            e = catch(asyncio.run, go(noop, p=sport, socket_timeout=0.5))
            c.exc(e, lib, fam, "connect to a server that never sends its greeting, socket_timeout 0.5 s",
                  "NET_TIMEOUT", style="qual")
    finally:
        srv.close_all()


@contextlib.contextmanager
def slapd():
    d = tempfile.mkdtemp(prefix="holdout-slapd-")
    os.makedirs(f"{d}/db")
    shutil.chown(d, "openldap", "openldap") if shutil.which("slapd") else None
    port = free_port()
    with open(f"{d}/slapd.conf", "w") as f:
        f.write(f"include /etc/ldap/schema/core.schema\ninclude /etc/ldap/schema/cosine.schema\n"
                f"include /etc/ldap/schema/inetorgperson.schema\npidfile {d}/slapd.pid\n"
                f"modulepath /usr/lib/ldap\nmoduleload back_mdb\n"
                f"database mdb\nmaxsize 10485760\nsuffix \"dc=holdout,dc=invalid\"\n"
                f"rootdn \"cn=admin,dc=holdout,dc=invalid\"\nrootpw right-password\ndirectory {d}/db\n"
                f"access to * by dn.exact=\"cn=admin,dc=holdout,dc=invalid\" write by * read\n"
                f"limits anonymous size=2\n")
    with daemon(["slapd", "-d", "0", "-f", f"{d}/slapd.conf", "-h", f"ldap://127.0.0.1:{port}/"], port):
        yield port
    shutil.rmtree(d, ignore_errors=True)


def _ldap(c: Corpus):
    import ldap
    import ldap.modlist

    lib = ver("python-ldap")
    fam = "ldap"

    def conn(p):
        lc = ldap.initialize(f"ldap://127.0.0.1:{p}")
        lc.set_option(ldap.OPT_NETWORK_TIMEOUT, 1)
        lc.set_option(ldap.OPT_TIMEOUT, 2)
        return lc

    e = catch(lambda: conn(free_port()).simple_bind_s("cn=admin,dc=holdout,dc=invalid", "x"))
    c.exc(e, lib, fam, "simple bind to a closed port", "NET_CONNECTION_ERROR", accept=["NET_CONNECTION_REFUSED"],
          must="contact")
    with slapd() as port:
        e = catch(lambda: conn(port).simple_bind_s("cn=admin,dc=holdout,dc=invalid", "wrong-password"))
        c.exc(e, lib, fam, "simple bind with a wrong password (throwaway slapd)", "AUTH_LOGIN_FAILED",
              must="Invalid credentials")
        admin = conn(port)
        try:
            admin.simple_bind_s("cn=admin,dc=holdout,dc=invalid", "right-password")
            admin.add_s("dc=holdout,dc=invalid", ldap.modlist.addModlist(
                {"objectClass": [b"dcObject", b"organization"], "dc": [b"holdout"], "o": [b"holdout"]}))
            admin.add_s("ou=people,dc=holdout,dc=invalid", ldap.modlist.addModlist(
                {"objectClass": [b"organizationalUnit"], "ou": [b"people"]}))
            for i in range(4):
                admin.add_s(f"uid=user{i},ou=people,dc=holdout,dc=invalid", ldap.modlist.addModlist(
                    {"objectClass": [b"inetOrgPerson"], "uid": [f"user{i}".encode()], "cn": [b"u"], "sn": [b"u"]}))
        except Exception as ex:  # noqa: BLE001
            c.skipped.append(f"slapd setup: {ex!r}")
        e = catch(admin.search_s, "ou=robots,dc=holdout,dc=invalid", ldap.SCOPE_SUBTREE, "(uid=agent)")
        c.exc(e, lib, fam, "search under a base DN that does not exist", "DATA_OBJECT_NOT_FOUND",
              must="No such object")
        e = catch(admin.add_s, "ou=people,dc=holdout,dc=invalid", ldap.modlist.addModlist(
            {"objectClass": [b"organizationalUnit"], "ou": [b"people"]}))
        c.exc(e, lib, fam, "add of an entry that already exists", "DATA_CONFLICT", must="Already exists")
        e = catch(admin.add_s, "uid=bad,ou=people,dc=holdout,dc=invalid", ldap.modlist.addModlist(
            {"objectClass": [b"inetOrgPerson"], "uid": [b"bad"]}))
        c.exc(e, lib, fam, "add of an inetOrgPerson without the required cn and sn", "VAL_SCHEMA_VIOLATION",
              must="Object class violation")
    with silent_server() as sport:
        lc = conn(sport)
        e = catch(lc.simple_bind_s, "cn=admin,dc=holdout,dc=invalid", "x")
        c.exc(e, lib, fam, "simple bind to a server that never answers, OPT_TIMEOUT 2 s", "NET_TIMEOUT",
              must="TIMEOUT", style="qual")


def run(c: Corpus):
    with sshd() as (port, d):
        try:
            _fabric(c, port, d)
        except Exception:  # noqa: BLE001
            import traceback
            c.skipped.append(f"_fabric crashed: {traceback.format_exc()[-1500:]}")
    for fn in (_aioftp, _ldap):
        try:
            fn(c)
        except Exception:  # noqa: BLE001
            import traceback
            c.skipped.append(f"{fn.__name__} crashed: {traceback.format_exc()[-1500:]}")
