"""SSH, FTP, SMTP and LDAP clients: paramiko, asyncssh and ssh/scp against a throwaway sshd; ftplib and curl
against pyftpdlib; smtplib and aiosmtplib against aiosmtpd; ldap3."""

from __future__ import annotations

import asyncio
import contextlib
import ftplib
import os
import shutil
import smtplib
import tempfile
import threading

from .cache_broker import _daemon
from .common import Corpus, blackhole, eof_server, free_port, silent_server, stdlib, tool_version, ver
from .common import run as sh
from .http_clients import catch

HOSTKEY = "NET_HOST_KEY_REJECTED"


@contextlib.contextmanager
def _sshd():
    """A throwaway OpenSSH server on a free loopback port; yields (port, dir, client_key, host_pub)."""
    d = tempfile.mkdtemp(prefix="corpus-sshd-")
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
    with _daemon(["/usr/sbin/sshd", "-D", "-e", "-f", f"{d}/sshd_config"], port):
        yield port, d
    shutil.rmtree(d, ignore_errors=True)


def _paramiko(c: Corpus, port: int, d: str):
    import paramiko

    lib = ver("paramiko")
    fam = "ssh"

    def connect(p=port, policy=paramiko.AutoAddPolicy(), known=None, **kw):
        cl = paramiko.SSHClient()
        if known:
            cl.load_host_keys(known)
        cl.set_missing_host_key_policy(policy)
        kw.setdefault("timeout", 2)
        kw.setdefault("banner_timeout", 2)
        cl.connect("127.0.0.1", p, username="root", look_for_keys=False, allow_agent=False, **kw)
        return cl

    e = catch(connect, password="wrong-password")
    c.exc(e, lib, fam, "password login with a wrong password (throwaway sshd)", "AUTH_LOGIN_FAILED")
    e = catch(connect, policy=paramiko.RejectPolicy(), key_filename=f"{d}/client")
    c.exc(e, lib, fam, "connect with RejectPolicy to a host not in known_hosts", HOSTKEY, must="known_hosts")
    other = paramiko.Ed25519Key.from_private_key_file(f"{d}/other")
    known = f"{d}/known_hosts_wrong"
    with open(known, "w") as f:
        f.write(f"[127.0.0.1]:{port} ssh-ed25519 {other.get_base64()}\n")
    e = catch(connect, policy=paramiko.RejectPolicy(), known=known, key_filename=f"{d}/client")
    c.exc(e, lib, fam, "connect when known_hosts holds a different host key", HOSTKEY, must="does not match")
    e = catch(connect)
    c.exc(e, lib, fam, "connect with neither password nor key", "AUTH_CREDENTIALS_MISSING",
          must="No authentication methods")
    e = catch(connect, p=free_port(), password="x")
    c.exc(e, lib, fam, "connect to a closed port", "NET_CONNECTION_REFUSED", accept=["NET_CONNECTION_ERROR"])
    with blackhole() as bport:
        e = catch(connect, p=bport, password="x", timeout=0.5)
        c.exc(e, lib, fam, "connect to a full accept queue, timeout 0.5 s", "NET_TIMEOUT",
              accept=["NET_CONNECT_TIMEOUT"], style="qual")
    with silent_server() as sport:
        e = catch(connect, p=sport, password="x", banner_timeout=0.5)
        c.exc(e, lib, fam, "connect to a server that never sends its SSH banner, banner_timeout 0.5 s",
              "NET_READ_TIMEOUT", style="chain")
    with eof_server() as eport:
        e = catch(connect, p=eport, password="x")
        c.exc(e, lib, fam, "connect to a server that closes before sending a banner", "NET_CONNECTION_RESET",
              style="chain")
    cl = connect(key_filename=f"{d}/client")
    try:
        sftp = cl.open_sftp()
        e = catch(sftp.get, "/srv/backups/latest.tar.gz", f"{d}/x")
        c.exc(e, lib, fam, "SFTP get of a remote file that does not exist", "DATA_OBJECT_NOT_FOUND")
        e = catch(sftp.listdir, "/srv/exports")
        c.exc(e, lib, fam, "SFTP listdir of a remote directory that does not exist", "DATA_OBJECT_NOT_FOUND",
              style="tb")
        sftp.close()
    finally:
        cl.close()


def _asyncssh(c: Corpus, port: int, d: str):
    try:
        import asyncssh
    except ImportError:
        return
    lib = ver("asyncssh")
    fam = "ssh"

    async def conn(p=port, **kw):
        kw.setdefault("known_hosts", None)
        kw.setdefault("connect_timeout", 2)
        return await asyncssh.connect("127.0.0.1", p, username="root", **kw)

    def a(coro):
        return catch(asyncio.run, coro)

    e = a(conn(password="wrong-password", client_keys=None))
    c.exc(e, lib, fam, "password login with a wrong password (throwaway sshd)", "AUTH_LOGIN_FAILED")
    e = a(conn(known_hosts=(), client_keys=[f"{d}/client"]))
    c.exc(e, lib, fam, "connect with an empty known_hosts list", HOSTKEY)
    e = a(conn(p=free_port(), password="x"))
    c.exc(e, lib, fam, "connect to a closed port", "NET_CONNECTION_REFUSED")
    with blackhole() as bport:
        e = a(conn(p=bport, password="x", connect_timeout=0.5))
        c.exc(e, lib, fam, "connect to a full accept queue, connect_timeout 0.5 s", "NET_TIMEOUT",
              accept=["NET_CONNECT_TIMEOUT"], must="timeout")

    async def session(cmd, **kw):
        async with await conn(client_keys=[f"{d}/client"]) as cx:
            await cx.run(cmd, check=True, **kw)

    e = a(session("ls /srv/backups/latest.tar.gz"))
    c.exc(e, lib, fam, "run('ls <missing file>', check=True) on the throwaway sshd", "TOOL_SUBPROCESS_FAILED",
          accept=["DATA_OBJECT_NOT_FOUND"])
    e = a(session("restic -r /srv/restic backup /srv/data"))
    c.exc(e, lib, fam, "run() of a program the remote host does not have", "TOOL_EXECUTABLE_NOT_FOUND",
          accept=["TOOL_SUBPROCESS_FAILED"], style="str")
    e = a(session("sleep 5", timeout=0.3))
    c.exc(e, lib, fam, "run('sleep 5', timeout=0.3)", "TOOL_TIMEOUT", style="qual")

    async def sftp_get():
        async with await conn(client_keys=[f"{d}/client"]) as cx:
            async with cx.start_sftp_client() as sftp:
                await sftp.get("/srv/backups/latest.tar.gz", f"{d}/y")

    e = a(sftp_get())
    c.exc(e, lib, fam, "SFTP get of a remote file that does not exist", "DATA_OBJECT_NOT_FOUND")


def _ssh_cli(c: Corpus, port: int, d: str):
    lib = f"OpenSSH ssh {tool_version(['ssh', '-V'], r'OpenSSH_([0-9.p]+)')}"
    fam = "ssh"
    base = ["ssh", "-o", "BatchMode=yes", "-o", "ConnectTimeout=2", "-o", f"UserKnownHostsFile={d}/kh", "-o",
            "StrictHostKeyChecking=no", "-o", "LogLevel=ERROR"]
    if os.path.exists(f"{d}/kh"):
        os.remove(f"{d}/kh")
    c.cli(sh(base + ["-p", str(free_port()), "root@127.0.0.1", "true"]), lib, fam, "ssh to a closed port",
          "NET_CONNECTION_REFUSED", must="refused")
    c.cli(sh(base + ["-i", f"{d}/other", "-p", str(port), "root@127.0.0.1", "true"]), lib, fam,
          "ssh with a key the server does not accept (throwaway sshd)", "AUTH_LOGIN_FAILED", must="Permission denied")
    strict = ["ssh", "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={d}/empty_kh", "-o", "StrictHostKeyChecking=yes",
              "-i", f"{d}/client", "-p", str(port), "root@127.0.0.1", "true"]
    c.cli(sh(strict), lib, fam, "ssh with StrictHostKeyChecking=yes to a host not in known_hosts", HOSTKEY,
          must="Host key verification failed")
    with open(f"{d}/other.pub") as f:
        other_pub = f.read().split()
    with open(f"{d}/wrong_kh", "w") as f:
        f.write(f"[127.0.0.1]:{port} {other_pub[0]} {other_pub[1]}\n")
    changed = strict.copy()
    changed[4] = f"UserKnownHostsFile={d}/wrong_kh"
    c.cli(sh(changed), lib, fam, "ssh when known_hosts holds a different host key", HOSTKEY,
          must="IDENTIFICATION HAS CHANGED", keep=lambda ln: not ln.startswith(("@@@", "IT IS POSSIBLE", "Someone")))
    with blackhole() as bport:
        c.cli(sh(base[:3] + ["-o", "ConnectTimeout=1"] + base[5:] + ["-p", str(bport), "root@127.0.0.1", "true"]),
              lib, fam, "ssh -o ConnectTimeout=1 to a full accept queue", "NET_CONNECT_TIMEOUT", must="timed out")
    with silent_server() as sport:
        c.cli(sh(base[:3] + ["-o", "ConnectTimeout=1"] + base[5:] + ["-p", str(sport), "root@127.0.0.1", "true"]),
              lib, fam, "ssh to a server that never sends its banner, ConnectTimeout=1", "NET_READ_TIMEOUT",
              accept=["NET_TIMEOUT"], must="banner exchange")
    with eof_server(immediate=True) as eport:
        c.cli(sh(base + ["-p", str(eport), "root@127.0.0.1", "true"]), lib, fam,
              "ssh to a server that closes the connection at once", "NET_CONNECTION_RESET", must="kex_exchange")
    keyed = base + ["-i", f"{d}/client", "-p", str(port), "root@127.0.0.1"]
    c.cli(sh(keyed + ["restic -r /srv/restic backup /srv/data"]), lib, fam,
          "remote command that is not installed on the host", "TOOL_EXECUTABLE_NOT_FOUND", status=True)
    c.cli(sh(keyed + ["ls /srv/backups/latest.tar.gz"]), lib, fam, "remote ls of a file that does not exist",
          "DATA_OBJECT_NOT_FOUND", accept=["TOOL_SUBPROCESS_FAILED"])
    c.cli(sh(keyed + ["exit 3"]), lib, fam, "remote command exiting 3 with no output", "TOOL_SUBPROCESS_FAILED",
          status=True)
    scp = f"OpenSSH scp {tool_version(['ssh', '-V'], r'OpenSSH_([0-9.p]+)')}"
    c.cli(sh(["scp", "-o", "BatchMode=yes", "-o", f"UserKnownHostsFile={d}/kh", "-o", "StrictHostKeyChecking=no",
              "-i", f"{d}/client", "-P", str(port), "root@127.0.0.1:/srv/backups/latest.tar.gz", d]), scp, fam,
          "scp of a remote file that does not exist", "DATA_OBJECT_NOT_FOUND")


def _ftp(c: Corpus):
    try:
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import FTPHandler
        from pyftpdlib.servers import FTPServer
    except ImportError:
        return
    import logging

    logging.getLogger("pyftpdlib").setLevel(logging.CRITICAL)
    lib = stdlib("ftplib")
    fam = "ftp"
    home = tempfile.mkdtemp(prefix="corpus-ftp-")
    auth = DummyAuthorizer()
    auth.add_user("agent", "right-password", home, perm="elr")

    class Handler(FTPHandler):
        authorizer = auth
        banner = "corpus ftpd ready"

    Handler.auth_failed_timeout = 0.01
    srv = FTPServer(("127.0.0.1", 0), Handler)
    srv.max_cons = 3
    port = srv.address[1]
    t = threading.Thread(target=srv.serve_forever, kwargs={"timeout": 0.05, "blocking": True}, daemon=True)
    t.start()
    try:
        def login(pw="right-password"):
            f = ftplib.FTP()
            f.connect("127.0.0.1", port, timeout=2)
            f.login("agent", pw)
            return f

        e = catch(login, "wrong-password")
        c.exc(e, lib, fam, "login with a wrong password (pyftpdlib server)", "AUTH_LOGIN_FAILED", must="530")
        f = login()
        e = catch(f.retrbinary, "RETR exports/report.csv", lambda b: None)
        c.exc(e, lib, fam, "RETR of a file that does not exist", "DATA_OBJECT_NOT_FOUND", must="550")
        import io

        e = catch(f.storbinary, "STOR upload.csv", io.BytesIO(b"a,b\n"))
        c.exc(e, lib, fam, "STOR as a user with read-only permissions", "AUTH_FORBIDDEN", accept=["PERM_FILE_ACCESS"],
              must="550")
        held = [f]
        e = None
        for _ in range(4):
            try:
                held.append(login())
            except ftplib.Error as ex:
                e = ex
                break
        c.exc(e, lib, fam, "one connection more than the server's max_cons", "RES_POOL_EXHAUSTED",
              accept=["INFRA_SERVICE_UNAVAILABLE"], must="421")
        for x in held:
            with contextlib.suppress(Exception):
                x.quit()
        curl = f"curl {tool_version(['curl', '--version'])}"
        c.cli(sh(["curl", "-sS", f"ftp://agent:wrong@127.0.0.1:{port}/report.csv"]), curl, fam,
              "curl ftp:// with a wrong password", "AUTH_LOGIN_FAILED")
        c.cli(sh(["curl", "-sS", f"ftp://agent:right-password@127.0.0.1:{port}/exports/report.csv"]), curl, fam,
              "curl ftp:// of a file that does not exist", "DATA_OBJECT_NOT_FOUND")
    finally:
        srv.close_all()
        shutil.rmtree(home, ignore_errors=True)
    e = catch(lambda: ftplib.FTP().connect("127.0.0.1", free_port(), timeout=1))
    c.exc(e, lib, fam, "connect to a closed port", "NET_CONNECTION_REFUSED")
    with silent_server() as sport:
        e = catch(lambda: ftplib.FTP().connect("127.0.0.1", sport, timeout=0.3))
        c.exc(e, lib, fam, "connect to a server that never sends its greeting, timeout 0.3 s", "NET_TIMEOUT",
              accept=["NET_READ_TIMEOUT"], style="qual")


def _smtp(c: Corpus):
    try:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult
    except ImportError:
        return
    fam = "smtp"

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if address.startswith("nobody@"):
                return (f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in local recipient "
                        f"table")
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            if len(envelope.content) > 10_000:
                return "552 5.3.4 Message size exceeds fixed limit"
            return "250 Message accepted for delivery"

    def authenticator(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=False, handled=False)

    port = free_port()
    ctl = Controller(Handler(), hostname="127.0.0.1", port=port, authenticator=authenticator,
                     auth_require_tls=False, auth_required=False)
    ctl.start()
    port2 = free_port()
    ctl2 = Controller(Handler(), hostname="127.0.0.1", port=port2, authenticator=authenticator,
                      auth_require_tls=False, auth_required=True)
    ctl2.start()
    try:
        lib = stdlib("smtplib")

        def send(to, body="hello", login=None, p=port, tls=False):
            with smtplib.SMTP("127.0.0.1", p, timeout=2) as s:
                if tls:
                    s.starttls()
                if login:
                    s.login(*login)
                s.sendmail("agent@example.invalid", to, body)

        e = catch(send, ["ops@example.invalid"], login=("agent", "wrong-password"))
        c.exc(e, lib, fam, "login with a wrong password (aiosmtpd server)", "AUTH_LOGIN_FAILED", must="535")
        e = catch(send, ["nobody@example.invalid"])
        c.exc(e, lib, fam, "sendmail to a recipient the server rejects as unknown", "DATA_OBJECT_NOT_FOUND",
              must="550")
        e = catch(send, ["ops@example.invalid"], ("x" * 70 + "\r\n") * 300)
        c.exc(e, lib, fam, "sendmail of a message larger than the server accepts", "VAL_PAYLOAD_TOO_LARGE", must="552")
        e = catch(send, ["ops@example.invalid"], p=port2)
        c.exc(e, lib, fam, "sendmail without AUTH to a server that requires it", "AUTH_CREDENTIALS_MISSING",
              accept=["AUTH_UNAUTHORIZED"], must="530")
        e = catch(send, ["ops@example.invalid"], tls=True)
        c.exc(e, lib, fam, "starttls() on a server that does not offer STARTTLS", "NET_TLS_ERROR", must="STARTTLS")
        e = catch(send, ["ops@example.invalid"], p=free_port())
        c.exc(e, lib, fam, "connect to a closed port", "NET_CONNECTION_REFUSED")
        with eof_server(immediate=True) as eport:
            e = catch(send, ["ops@example.invalid"], p=eport)
            c.exc(e, lib, fam, "connect to a server that closes before its greeting", "NET_CONNECTION_RESET")
        try:
            import aiosmtplib
        except ImportError:
            return
        lib = ver("aiosmtplib")

        async def asend(to, login=None, p=port, timeout=2):
            kw = {"username": login[0], "password": login[1]} if login else {}
            await aiosmtplib.send("Subject: run failed\n\nhello", sender="agent@example.invalid", recipients=to,
                                  hostname="127.0.0.1", port=p, timeout=timeout, start_tls=False, **kw)

        e = catch(asyncio.run, asend(["ops@example.invalid"], login=("agent", "wrong-password")))
        c.exc(e, lib, fam, "send with a wrong password (aiosmtpd server)", "AUTH_LOGIN_FAILED", must="535")
        e = catch(asyncio.run, asend(["nobody@example.invalid"]))
        c.exc(e, lib, fam, "send to a recipient the server rejects as unknown", "DATA_OBJECT_NOT_FOUND", must="550")
        e = catch(asyncio.run, asend(["ops@example.invalid"], p=port2))
        c.exc(e, lib, fam, "send without AUTH to a server that requires it", "AUTH_CREDENTIALS_MISSING",
              accept=["AUTH_UNAUTHORIZED"], must="530")
        e = catch(asyncio.run, asend(["ops@example.invalid"], p=free_port()))
        c.exc(e, lib, fam, "send to a closed port", "NET_CONNECTION_REFUSED")
        with blackhole() as bport:
            e = catch(asyncio.run, asend(["ops@example.invalid"], p=bport, timeout=0.5))
            c.exc(e, lib, fam, "send to a full accept queue, timeout 0.5 s", "NET_CONNECT_TIMEOUT",
                  accept=["NET_TIMEOUT"])
    finally:
        ctl.stop()
        ctl2.stop()


def _ldap(c: Corpus):
    try:
        import ldap3
    except ImportError:
        return
    lib = ver("ldap3")
    server = ldap3.Server("127.0.0.1", port=free_port(), connect_timeout=1)
    e = catch(ldap3.Connection(server, "cn=agent,dc=example,dc=invalid", "pw", auto_bind=False).bind)
    c.exc(e, lib, "ldap", "bind to a closed port", "NET_CONNECTION_REFUSED", accept=["NET_CONNECTION_ERROR"])
    with silent_server() as sport:
        server = ldap3.Server("127.0.0.1", port=sport, connect_timeout=1)
        conn = ldap3.Connection(server, "cn=agent,dc=example,dc=invalid", "pw", receive_timeout=1)
        e = catch(conn.bind)
        c.exc(e, lib, "ldap", "bind to a server that never answers, receive_timeout 1 s", "NET_READ_TIMEOUT",
              accept=["NET_TIMEOUT"])


def run(c: Corpus):
    with _sshd() as (port, d):
        for fn in (_paramiko, _asyncssh, _ssh_cli):
            try:
                fn(c, port, d)
            except Exception as ex:  # noqa: BLE001
                c.skipped.append(f"{fn.__name__} aborted: {ex!r}")
    for fn in (_ftp, _smtp, _ldap):
        try:
            fn(c)
        except Exception as ex:  # noqa: BLE001
            c.skipped.append(f"{fn.__name__} aborted: {ex!r}")
