"""Command-line tools not in the main corpus, via subprocess: rsync, tar, unzip, jq, yq,
pg_dump, pg_restore, pg_isready, createdb, sqlite3 (CLI), gpg, docker, kubectl, mosquitto_pub,
rabbitmqadmin, lftp, nc, socat, xmllint."""

from __future__ import annotations

import os
import tempfile
import threading

from .cachebroker import daemon
from .common import Corpus, free_port, have, tool_version
from .common import run as sh
from .pgcluster import throwaway_cluster
from .remote import sshd
from .servers import Resp, ScriptedServer

FAM = "cli"


def tv(name, cmd=None, pattern=r"(\d+\.\d+(?:\.\d+)?)"):
    return f"{name} {tool_version(cmd or [name, '--version'], pattern)}"


def _ssh_tools(c: Corpus):
    with sshd() as (port, d):
        opts = ["-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", f"UserKnownHostsFile={d}/kh",
                "-o", "ConnectTimeout=3"]
        key = ["-i", f"{d}/client"]
        lib = tv("rsync")
        r = sh(["rsync", "-e", " ".join(["ssh", "-p", str(port), *opts, *key]),
                "root@127.0.0.1:/srv/holdout/missing-dir/", tempfile.mkdtemp()])
        c.cli(r, lib, FAM, "rsync over ssh of a remote directory that does not exist", "DATA_OBJECT_NOT_FOUND",
              must="No such file")
        r = sh(["rsync", "-e", " ".join(["ssh", "-p", str(port), *opts, "-i", f"{d}/other"]),
                "root@127.0.0.1:/etc/hostname", tempfile.mkdtemp()])
        c.cli(r, lib, FAM, "rsync over ssh with a key the server does not accept", "AUTH_LOGIN_FAILED",
              must="Permission denied")
        r = sh(["rsync", "/nonexistent/holdout/build/", tempfile.mkdtemp()])
        c.cli(r, lib, FAM, "rsync of a local source that does not exist", "DATA_OBJECT_NOT_FOUND",
              must="No such file")
        r = sh(["rsync", "-e", f"ssh -p {free_port()} -o BatchMode=yes -o ConnectTimeout=2",
                "/etc/hostname", "root@127.0.0.1:/tmp/"])
        c.cli(r, lib, FAM, "rsync over ssh to a closed port", "NET_CONNECTION_REFUSED", must="refused")


def _archives(c: Corpus):
    d = tempfile.mkdtemp(prefix="holdout-arch-")
    lib = tv("tar", pattern=r"tar\) (\d+\.\d+)")
    r = sh(["tar", "-xzf", "/nonexistent/holdout/artifacts.tar.gz", "-C", d])
    c.cli(r, lib, FAM, "extract an archive that does not exist", "DATA_OBJECT_NOT_FOUND", must="No such file")
    bad = os.path.join(d, "weights.tar.gz")
    with open(bad, "wb") as f:
        f.write(b"<html>404 Not Found</html>\n")
    r = sh(["tar", "-xzf", bad, "-C", d])
    c.cli(r, lib, FAM, "extract a .tar.gz that is really an HTML error page", "DATA_PARSE_ERROR",
          must="gzip")
    lib = tv("unzip", ["unzip", "-v"], r"UnZip (\d+\.\d+)")
    r = sh(["unzip", "-o", "/nonexistent/holdout/site.zip", "-d", d])
    c.cli(r, lib, FAM, "unzip of an archive that does not exist", "DATA_OBJECT_NOT_FOUND", must="cannot find",
          stream="both")
    bz = os.path.join(d, "bundle.zip")
    with open(bz, "wb") as f:
        f.write(b"PK\x03\x04" + os.urandom(300))
    r = sh(["unzip", "-o", bz, "-d", d])
    c.cli(r, lib, FAM, "unzip of a truncated/corrupt archive", "DATA_PARSE_ERROR",
          stream="both", keep=lambda ln: not ln.startswith("Archive:"))


def _jq(c: Corpus):
    lib = tv("jq", pattern=r"jq-(\d+\.\d+(?:\.\d+)?)")
    r = sh(["jq", ".items[0].name"], input='{"items": [{"name": "a"}, ]}')
    c.cli(r, lib, FAM, "jq on malformed JSON (trailing comma)", "DATA_JSON_DECODE", must="parse error")
    r = sh(["jq", ".items[0].name"], input='{"items": "none"}')
    c.cli(r, lib, FAM, "jq indexing a string as an array", "DATA_WRONG_TYPE", must="Cannot index")
    r = sh(["jq", "-e", ".status"], input='{"id": 1}')
    if r.rc != 0:
        r.stderr = r.stderr or r.stdout
    r = sh(["jq", ".[] | .tokens + \"x\""], input='[{"tokens": 5}]')
    c.cli(r, lib, FAM, "jq adding a number and a string", "DATA_WRONG_TYPE", must="cannot be added")
    if have("yq"):
        r = sh(["yq", ".spec.replicas"], input="spec:\n  replicas: 3\n   image: x\n")
        c.cli(r, tv("yq", ["yq", "--version"]), FAM, "yq on a mis-indented YAML document", "DATA_PARSE_ERROR")


def _postgres_tools(c: Corpus):
    lib = tv("pg_dump")
    r = sh(["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "holdout_missing_db"])
    c.cli(r, lib, FAM, "pg_dump of a database that does not exist", "INFRA_DB_NOT_FOUND", must="does not exist")
    r = sh(["pg_dump", "-h", "127.0.0.1", "-p", str(free_port()), "-U", "postgres", "postgres"])
    c.cli(r, lib, FAM, "pg_dump against a closed port", "INFRA_DB_UNAVAILABLE", must="refused")
    r = sh(["pg_dump", "-h", "127.0.0.1", "-U", "postgres", "-t", "holdout_no_such_table", "postgres"])
    c.cli(r, lib, FAM, "pg_dump -t of a table that does not exist", "INFRA_DB_SCHEMA_MISMATCH",
          accept=["DATA_OBJECT_NOT_FOUND"], must="no matching tables")
    with throwaway_cluster() as cport:
        if cport:
            r = sh(["pg_dump", "-h", "127.0.0.1", "-p", str(cport), "-U", "agent", "postgres"],
                   env={"PGPASSWORD": "wrong-password"})
            c.cli(r, lib, FAM, "pg_dump with a wrong password (scram)", "AUTH_DB_LOGIN_FAILED",
                  must="password authentication failed")
    lib = tv("pg_restore")
    bad = os.path.join(tempfile.mkdtemp(), "backup.dump")
    with open(bad, "w") as f:
        f.write("this is not a pg_dump archive\n")
    r = sh(["pg_restore", "-d", "postgres", "-h", "127.0.0.1", "-U", "postgres", bad])
    c.cli(r, lib, FAM, "pg_restore of a file that is not an archive", "DATA_PARSE_ERROR",
          must="valid archive")
    lib = tv("pg_isready")
    r = sh(["pg_isready", "-h", "127.0.0.1", "-p", str(free_port()), "-t", "2"])
    c.cli(r, lib, FAM, "pg_isready against a closed port", "INFRA_DB_UNAVAILABLE", stream="stdout", status=True)
    lib = tv("createdb")
    r = sh(["createdb", "-h", "127.0.0.1", "-U", "postgres", "postgres"])
    c.cli(r, lib, FAM, "createdb of a database that already exists", "DATA_CONFLICT", must="already exists")


def _sqlite_cli(c: Corpus):
    lib = tv("sqlite3", ["sqlite3", "--version"], r"^(\d+\.\d+\.\d+)")
    d = tempfile.mkdtemp(prefix="holdout-sqlite-cli-")
    db = os.path.join(d, "runs.db")
    sh(["sqlite3", db, "create table runs (id integer primary key, tenant text not null);"
                       "insert into runs values (1, 'acme');"])
    r = sh(["sqlite3", db, "select * from run_events;"])
    c.cli(r, "sqlite3-cli " + lib.split(" ")[1], FAM, "sqlite3 CLI select from a table that does not exist",
          "INFRA_DB_SCHEMA_MISMATCH", must="no such table")
    r = sh(["sqlite3", db, "insert into runs values (1, 'globex');"])
    c.cli(r, "sqlite3-cli " + lib.split(" ")[1], FAM, "sqlite3 CLI insert of a duplicate primary key",
          "DATA_CONSTRAINT_VIOLATION", must="UNIQUE")
    r = sh(["sqlite3", os.path.join(d, "missing", "x.db"), "select 1;"])
    c.cli(r, "sqlite3-cli " + lib.split(" ")[1], FAM, "sqlite3 CLI on a database path whose directory does not exist",
          "DATA_OBJECT_NOT_FOUND", accept=["INFRA_DB_UNAVAILABLE"], must="unable to open")


def _misc(c: Corpus):
    if have("gpg"):
        lib = tv("gpg")
        home = tempfile.mkdtemp(prefix="holdout-gpg-")
        os.chmod(home, 0o700)
        f = os.path.join(home, "release.tar.gz.asc")
        with open(f, "w") as fh:
            fh.write("not a signature\n")
        r = sh(["gpg", "--homedir", home, "--batch", "--verify", f])
        c.cli(r, lib, FAM, "gpg --verify of a file with no OpenPGP data", "DATA_PARSE_ERROR",
              keep=lambda ln: "keybox" not in ln and "created" not in ln, must="no valid OpenPGP data")
        enc = os.path.join(home, "secret.gpg")
        sh(["gpg", "--homedir", home, "--batch", "--passphrase", "x", "--pinentry-mode", "loopback",
            "--quick-gen-key", "holdout-a@example.invalid", "default", "default", "never"])
        sh(["gpg", "--homedir", home, "--batch", "--trust-model", "always", "-r", "holdout-a@example.invalid",
            "-o", enc, "-e", "/etc/hostname"])
        home2 = tempfile.mkdtemp(prefix="holdout-gpg2-")
        os.chmod(home2, 0o700)
        r = sh(["gpg", "--homedir", home2, "--batch", "-d", enc])
        c.cli(r, lib, FAM, "gpg -d of a file encrypted for a key this keyring lacks", "AUTH_CREDENTIALS_MISSING",
              keep=lambda ln: "keybox" not in ln and "created" not in ln, must="No secret key")
        for h in (home, home2):  # gpg starts an agent per home directory; stop them
            sh(["gpgconf", "--homedir", h, "--kill", "gpg-agent"])
    if have("docker"):
        lib = tv("docker", ["docker", "--version"])
        r = sh(["docker", "ps"])
        if "Cannot connect" in r.stdout + r.stderr:
            r.stderr = r.stderr or r.stdout
            c.cli(r, lib, FAM, "docker ps with no Docker daemon running", "NET_CONNECTION_REFUSED",
                  accept=["NET_CONNECTION_ERROR"], must="Cannot connect")
    if have("kubectl"):
        _kubectl(c)
    lib = tv("mosquitto_pub", ["mosquitto_pub", "--help"], r"version (\d+\.\d+\.\d+)")
    r = sh(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(free_port()), "-t", "agents/run/42", "-m", "done"])
    c.cli(r, lib, FAM, "mosquitto_pub to a closed port", "INFRA_CACHE_UNAVAILABLE",
          accept=["NET_CONNECTION_REFUSED"], must="refused")
    tmp = tempfile.mkdtemp(prefix="holdout-mqtt2-")
    os.chmod(tmp, 0o755)
    pw = os.path.join(tmp, "passwd")
    sh(["mosquitto_passwd", "-c", "-b", pw, "agent", "right-password"])
    os.chmod(pw, 0o644)
    port = free_port()
    conf = os.path.join(tmp, "m.conf")
    with open(conf, "w") as f:
        f.write(f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {pw}\npersistence false\n"
                f"log_type none\n")
    with daemon(["mosquitto", "-c", conf], port):
        r = sh(["mosquitto_pub", "-h", "127.0.0.1", "-p", str(port), "-u", "agent", "-P", "wrong", "-t", "a/b",
                "-m", "x"])
        c.cli(r, lib, FAM, "mosquitto_pub with a wrong password", "AUTH_LOGIN_FAILED", must="not authori")
    if have("rabbitmqadmin"):
        r = sh(["rabbitmqadmin", "-P", str(free_port()), "list", "queues"])
        r.stderr = r.stderr or r.stdout
        c.cli(r, "rabbitmqadmin", FAM, "rabbitmqadmin against a closed management port", "INFRA_CACHE_UNAVAILABLE",
              accept=["NET_CONNECTION_REFUSED"], must="refused")
    if have("lftp"):
        _lftp(c)
    if have("nc"):
        r = sh(["nc", "-vz", "-w", "2", "127.0.0.1", str(free_port())])
        c.cli(r, "netcat-openbsd", FAM, "nc -vz of a closed port", "NET_CONNECTION_REFUSED", must="refused")
    r = sh(["socat", "-", f"TCP:127.0.0.1:{free_port()}"], input="PING\n")
    c.cli(r, tv("socat", ["socat", "-V"], r"socat version (\d+\.\d+\.\d+)"), FAM, "socat to a closed port",
          "NET_CONNECTION_REFUSED", must="refused")
    if have("xmllint"):
        d = tempfile.mkdtemp(prefix="holdout-xml-")
        x = os.path.join(d, "feed.xml")
        open(x, "w").write("<feed><entry><title>x</entry></feed>\n")
        r = sh(["xmllint", "--noout", x])
        lib = tv("xmllint", ["xmllint", "--version"], r"version (\d+)")
        c.cli(r, lib, FAM, "xmllint of XML with mismatched tags", "DATA_PARSE_ERROR", must="parser error")
        xsd = os.path.join(d, "run.xsd")
        open(xsd, "w").write('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="run">'
                             '<xs:complexType><xs:sequence><xs:element name="tokens" type="xs:int"/></xs:sequence>'
                             '</xs:complexType></xs:element></xs:schema>')
        doc = os.path.join(d, "run.xml")
        open(doc, "w").write("<run><tokens>many</tokens></run>\n")
        r = sh(["xmllint", "--noout", "--schema", xsd, doc])
        c.cli(r, lib, FAM, "xmllint --schema of a document with text in an xs:int element", "VAL_SCHEMA_VIOLATION",
              must="validity error")


def _kubectl(c: Corpus):
    lib = tv("kubectl", ["kubectl", "version", "--client"], r"Client Version: v(\d+\.\d+\.\d+)")
    kc = os.path.join(tempfile.mkdtemp(prefix="holdout-kube-"), "config")
    open(kc, "w").close()
    r = sh(["kubectl", "--kubeconfig", kc, "get", "pods"], timeout=40)
    c.cli(r, lib, FAM, "kubectl get pods with no kubeconfig (localhost:8080 closed)", "NET_CONNECTION_REFUSED",
          must="refused", keep=lambda ln: "memcache.go" not in ln)

    def status(code, reason, message):
        return Resp(code, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                           "message": message, "reason": reason, "code": code})

    resources = {"kind": "APIResourceList", "groupVersion": "v1", "resources": [
        {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod",
         "verbs": ["get", "list", "create", "delete"], "shortNames": ["po"]},
        {"name": "secrets", "singularName": "secret", "namespaced": True, "kind": "Secret",
         "verbs": ["get", "list"]},
        {"name": "configmaps", "singularName": "configmap", "namespaced": True, "kind": "ConfigMap",
         "verbs": ["get", "list", "create"], "shortNames": ["cm"]}]}
    routes = {
        "/api": Resp(200, {"kind": "APIVersions", "versions": ["v1"],
                           "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}),
        "/apis": Resp(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}),
        "/api/v1": Resp(200, resources),
        "/api/v1/namespaces/default/pods/web-0": status(404, "NotFound", 'pods "web-0" not found'),
        "/api/v1/namespaces/default/secrets": status(
            403, "Forbidden", 'secrets is forbidden: User "system:serviceaccount:agents:runner" cannot list resource '
                              '"secrets" in API group "" in the namespace "default"'),
        "/api/v1/namespaces/default/configmaps/agent-config": status(
            401, "Unauthorized", "Unauthorized"),
        "/api/v1/namespaces/default/pods": status(
            429, "TooManyRequests", "storage is (re)initializing"),
    }
    with ScriptedServer(routes) as srv:
        base = ["kubectl", "--kubeconfig", kc, "--server", srv.url, "--request-timeout", "5s"]
        r = sh(base + ["get", "pod", "web-0"], timeout=40)
        c.cli(r, lib, FAM, "kubectl get of a pod that does not exist (fake API server)", "DATA_OBJECT_NOT_FOUND",
              must="NotFound")
        r = sh(base + ["get", "secrets"], timeout=40)
        c.cli(r, lib, FAM, "kubectl get secrets answered 403 (fake API server)", "AUTH_FORBIDDEN", must="forbidden")
        r = sh(base + ["get", "configmap", "agent-config"], timeout=40)
        c.cli(r, lib, FAM, "kubectl get configmap answered 401 (fake API server)", "AUTH_UNAUTHORIZED",
              must="Unauthorized")


def _lftp(c: Corpus):
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import FTPServer

    root = tempfile.mkdtemp(prefix="holdout-ftp2-")
    auth = DummyAuthorizer()
    auth.add_user("agent", "right-password", root, perm="elr")
    handler = type("H2", (FTPHandler,), {"authorizer": auth})
    srv = FTPServer(("127.0.0.1", 0), handler)
    port = srv.address[1]
    threading.Thread(target=srv.serve_forever, kwargs={"timeout": 0.2, "blocking": True}, daemon=True).start()
    lib = tv("lftp", ["lftp", "--version"], r"Version (\d+\.\d+\.\d+)")
    settings = "set net:max-retries 1; set net:timeout 3; set net:reconnect-interval-base 1;"
    try:
        r = sh(["lftp", "-c", f"{settings} open -u agent,wrong-password ftp://127.0.0.1:{port}; ls"], timeout=30)
        c.cli(r, lib, FAM, "lftp login with a wrong password, net:max-retries 1 (pyftpdlib)", "RUN_RETRIES_EXHAUSTED",
              must="max-retries")
        r = sh(["lftp", "-c", f"{settings} open -u agent,right-password ftp://127.0.0.1:{port}; "
                              f"get exports/missing.csv -o {root}/x"], timeout=30)
        c.cli(r, lib, FAM, "lftp get of a file that does not exist", "DATA_OBJECT_NOT_FOUND", must="550")
    finally:
        srv.close_all()


def run(c: Corpus):
    for fn in (_ssh_tools, _archives, _jq, _postgres_tools, _sqlite_cli, _misc):
        try:
            fn(c)
        except Exception:  # noqa: BLE001
            import traceback
            c.skipped.append(f"{fn.__name__} crashed: {traceback.format_exc()[-1500:]}")
