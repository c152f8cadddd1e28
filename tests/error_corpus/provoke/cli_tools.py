"""Command-line tools run as subprocesses: curl, wget, git, psql, mysql, redis-cli, shells, timeout, npm, pip."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile

from .common import Corpus, blackhole, free_port, reset_server, silent_server, stdlib, tool_version
from .common import run as sh
from .http_clients import catch
from .servers import STATUS_MEANING, STATUS_PATHS, Resp, ScriptedServer, app_routes

FAM = "cli"


def _wget_keep(ln: str) -> bool:
    return not (re.match(r"--\d{4}-", ln) or ln.startswith(("Length:", "Saving to", "Resolving", "Reusing")))


def _curl(c: Corpus, srv):
    lib = f"curl {tool_version(['curl', '--version'])}"
    base = ["curl", "-sS", "--fail"]
    c.cli(sh(base + [f"http://127.0.0.1:{free_port()}/v1/items"]), lib, FAM, "curl on a closed loopback port",
          "NET_CONNECTION_REFUSED", accept=["NET_CONNECTION_ERROR"], must="connect")
    with blackhole() as port:
        c.cli(sh(base + ["--connect-timeout", "0.3", f"http://127.0.0.1:{port}/"]), lib, FAM,
              "curl --connect-timeout 0.3 to a full accept queue", "NET_CONNECT_TIMEOUT", must="timeout")
    c.cli(sh(base + ["-m", "0.5", srv.url + "/slow"]), lib, FAM, "curl -m 0.5 on a server that answers after 3 s",
          "NET_READ_TIMEOUT", accept=["NET_TIMEOUT"], must="timed out")
    for code in (400, 401, 403, 404, 409, 413, 429, 500, 502, 503, 504):
        c.cli(sh(base + [srv.url + STATUS_PATHS[code]]), lib, FAM, f"curl --fail answered HTTP {code}",
              STATUS_MEANING[code], must=str(code))
    c.cli(sh(["curl", "-sS", "--fail-with-body", srv.url + "/v1/quota"]), lib, FAM,
          "curl --fail-with-body answered 429 with a quota body", "RATE_LIMIT_QUOTA_EXCEEDED", stream="both",
          must="quota")
    c.cli(sh(base + [srv.url + "/drop"]), lib, FAM, "curl; the server closes without answering",
          "NET_CONNECTION_RESET", must="empty reply")
    c.cli(sh(base + [srv.url + "/short"]), lib, FAM, "curl; the body is shorter than Content-Length",
          "NET_CONNECTION_RESET")
    with reset_server() as port:
        c.cli(sh(base + [f"http://127.0.0.1:{port}/"]), lib, FAM, "curl answered by a TCP reset",
              "NET_CONNECTION_RESET", must="reset")
    c.cli(sh(base + ["-L", "--max-redirs", "3", srv.url + "/redirect-loop"]), lib, FAM,
          "curl -L --max-redirs 3 on a redirect loop", "NET_TOO_MANY_REDIRECTS")
    c.cli(sh(base + ["-x", srv.url.replace("http", "http"), "https://api.example.invalid/v1"]), lib, FAM,
          "curl through a loopback proxy that answers CONNECT with 407", "NET_PROXY_ERROR", must="407")
    c.cli(sh(base + ["file:///var/lib/agent/missing-report.csv"]), lib, FAM, "curl file:// on a missing file",
          "DATA_OBJECT_NOT_FOUND")


def _wget(c: Corpus, srv):
    lib = f"wget {tool_version(['wget', '--version'])}"
    base = ["wget", "-O", "/dev/null", "-t", "1", "-T", "2"]
    c.cli(sh(base + [f"http://127.0.0.1:{free_port()}/v1/items"]), lib, FAM, "wget on a closed loopback port",
          "NET_CONNECTION_REFUSED", keep=_wget_keep, must="refused")
    for code in (401, 403, 404, 429, 500, 503):
        c.cli(sh(base + [srv.url + STATUS_PATHS[code]]), lib, FAM, f"wget answered HTTP {code}",
              STATUS_MEANING[code], keep=_wget_keep, must=str(code) if code != 401 else "")
    c.cli(sh(["wget", "-O", "/dev/null", "-t", "1", "-T", "0.5", srv.url + "/slow"]), lib, FAM,
          "wget -T 0.5 on a server that answers after 3 s", "NET_READ_TIMEOUT", keep=_wget_keep, must="timed out")
    c.cli(sh(base + [srv.url + "/drop"]), lib, FAM, "wget; the server closes without answering",
          "NET_CONNECTION_RESET", keep=_wget_keep)


def _git_server_routes():
    def route(h):
        p = h.path
        for code, name in ((404, "missing"), (401, "private"), (403, "forbidden"), (500, "broken"),
                           (503, "maintenance")):
            if f"/{name}.git/" in p:
                hdr = {"WWW-Authenticate": 'Basic realm="git"'} if code == 401 else {}
                return Resp(code, f"{code}\n", headers=hdr)
        return Resp(404, "not found\n")
    return route


def _git(c: Corpus):
    lib = f"git {tool_version(['git', '--version'])}"
    tmp = tempfile.mkdtemp(prefix="corpus-git-")
    env = {"HOME": tmp, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "agent",
           "GIT_AUTHOR_EMAIL": "agent@example.invalid", "GIT_COMMITTER_NAME": "agent",
           "GIT_COMMITTER_EMAIL": "agent@example.invalid", "LANG": "C"}

    def git(*args, cwd=tmp):
        return sh(["git", *args], env=env, cwd=cwd)

    with ScriptedServer(fallback=_git_server_routes()) as srv:
        c.cli(git("clone", f"{srv.url}/org/missing.git"), lib, FAM, "git clone of a repository the server answers 404",
              "DATA_OBJECT_NOT_FOUND", must="not found")
        c.cli(git("clone", f"{srv.url}/org/private.git"), lib, FAM,
              "git clone answered 401, no credentials and prompts disabled", "AUTH_CREDENTIALS_MISSING",
              accept=["AUTH_UNAUTHORIZED"])
        c.cli(git("clone", f"http://agent:wrong-token@127.0.0.1:{srv.port}/org/private.git"), lib, FAM,
              "git clone with a wrong user/token answered 401", "AUTH_LOGIN_FAILED", accept=["AUTH_UNAUTHORIZED"],
              must="Authentication failed")
        c.cli(git("clone", f"{srv.url}/org/forbidden.git"), lib, FAM, "git clone answered 403", "AUTH_FORBIDDEN",
              must="403")
        c.cli(git("clone", f"{srv.url}/org/broken.git"), lib, FAM, "git clone answered 500",
              "INFRA_INTERNAL_SERVER_ERROR", must="500")
        c.cli(git("ls-remote", f"{srv.url}/org/maintenance.git"), lib, FAM, "git ls-remote answered 503",
              "INFRA_SERVICE_UNAVAILABLE", must="503")
    c.cli(git("clone", f"http://127.0.0.1:{free_port()}/org/app.git"), lib, FAM, "git clone from a closed port",
          "NET_CONNECTION_REFUSED", accept=["NET_CONNECTION_ERROR"])
    ssh_cmd = "ssh -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
    c.cli(sh(["git", "ls-remote", f"ssh://git@127.0.0.1:{free_port()}/org/app.git"], env={**env, "GIT_SSH_COMMAND": ssh_cmd}),
          lib, FAM, "git ls-remote over ssh to a closed port", "NET_CONNECTION_REFUSED", must="refused")
    with silent_server() as port:
        c.cli(sh(["git", "-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=1", "ls-remote",
                  f"http://127.0.0.1:{port}/org/app.git"], env=env), lib, FAM,
              "git ls-remote on a server that never answers, lowSpeedTime 1 s", "NET_READ_TIMEOUT",
              accept=["NET_TIMEOUT"])
    c.cli(git("clone", "/srv/repos/does-not-exist.git", "x"), lib, FAM, "git clone of a missing local path",
          "DATA_OBJECT_NOT_FOUND")
    c.cli(git("status"), lib, FAM, "git status outside a repository", "TOOL_SUBPROCESS_FAILED",
          must="not a git repository")
    repo = os.path.join(tmp, "work")
    os.makedirs(repo)
    git("init", "-q", "-b", "main", cwd=repo)
    with open(os.path.join(repo, "f.txt"), "w") as f:
        f.write("base\n")
    git("add", "f.txt", cwd=repo)
    git("commit", "-qm", "base", cwd=repo)
    c.cli(git("checkout", "feature/missing", cwd=repo), lib, FAM, "git checkout of a branch that does not exist",
          "DATA_OBJECT_NOT_FOUND")
    c.cli(git("show", "deadbeef", cwd=repo), lib, FAM, "git show of an unknown revision", "DATA_OBJECT_NOT_FOUND")
    c.cli(git("commit", "-m", "nothing", cwd=repo), lib, FAM, "git commit with nothing to commit",
          "TOOL_SUBPROCESS_FAILED", stream="stdout", status=True)
    git("checkout", "-qb", "other", cwd=repo)
    with open(os.path.join(repo, "f.txt"), "w") as f:
        f.write("other\n")
    git("commit", "-qam", "other", cwd=repo)
    git("checkout", "-q", "main", cwd=repo)
    with open(os.path.join(repo, "f.txt"), "w") as f:
        f.write("mine\n")
    git("commit", "-qam", "mine", cwd=repo)
    c.cli(git("merge", "other", cwd=repo), lib, FAM, "git merge of two branches that changed the same line",
          "DATA_CONFLICT", accept=["TOOL_SUBPROCESS_FAILED"], stream="stdout", must="conflict")
    git("merge", "--abort", cwd=repo)
    bare = os.path.join(tmp, "remote.git")
    git("init", "-q", "-b", "main", "--bare", bare)
    git("push", "-q", bare, "main", cwd=repo)
    clone2 = os.path.join(tmp, "clone2")
    git("clone", "-q", bare, clone2)
    with open(os.path.join(clone2, "g.txt"), "w") as f:
        f.write("g\n")
    git("add", "g.txt", cwd=clone2)
    git("commit", "-qm", "g", cwd=clone2)
    git("push", "-q", "origin", "main", cwd=clone2)
    git("commit", "-q", "--allow-empty", "-m", "local", cwd=repo)
    c.cli(git("push", bare, "main", cwd=repo), lib, FAM, "git push rejected because the remote has new commits",
          "DATA_CONFLICT", accept=["TOOL_SUBPROCESS_FAILED"], must="rejected")
    shutil.rmtree(tmp, ignore_errors=True)


def _psql(c: Corpus):
    lib = f"psql {tool_version(['psql', '--version'])}"
    env = {"PGCONNECT_TIMEOUT": "2", "PGPASSWORD": ""}
    c.cli(sh(["psql", "-h", "127.0.0.1", "-p", str(free_port()), "-U", "postgres", "-c", "select 1"], env=env),
          lib, FAM, "psql to a closed port", "INFRA_DB_UNAVAILABLE", must="refused")
    c.cli(sh(["psql", "-h", "127.0.0.1", "-U", "agent_reporting", "-d", "postgres", "-c", "select 1"], env=env),
          lib, FAM, "psql as a role that does not exist", "AUTH_DB_LOGIN_FAILED", must="does not exist")
    c.cli(sh(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "analytics_prod", "-c", "select 1"], env=env),
          lib, FAM, "psql to a database that does not exist", "INFRA_DB_NOT_FOUND", must="does not exist")
    c.cli(sh(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c",
              "select * from agent_runs limit 1"], env=env), lib, FAM, "psql -c on a table that does not exist",
          "INFRA_DB_SCHEMA_MISMATCH", must="does not exist")
    c.cli(sh(["psql", "-h", "127.0.0.1", "-U", "postgres", "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c",
              "select pg_sleep(3)"], env={**env, "PGOPTIONS": "-c statement_timeout=200"}), lib, FAM,
          "psql -c pg_sleep(3) with statement_timeout=200ms", "INFRA_DB_STATEMENT_TIMEOUT", must="statement timeout")
    with blackhole() as port:
        c.cli(sh(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-c", "select 1"],
                 env={"PGCONNECT_TIMEOUT": "1"}), lib, FAM, "psql to a full accept queue, PGCONNECT_TIMEOUT=1",
              "NET_CONNECT_TIMEOUT", must="timeout")


def _mysql(c: Corpus):
    pattern = r"Distrib (\d+\.\d+\.\d+)"
    lib = f"mariadb-client {tool_version(['mysql', '--version'], pattern)}"
    c.cli(sh(["mysql", "-h", "127.0.0.1", "-P", str(free_port()), "-uroot", "-e", "select 1"]), lib, FAM,
          "mysql client to a closed port", "INFRA_DB_UNAVAILABLE", accept=["NET_CONNECTION_REFUSED"])
    c.cli(sh(["mysql", "-h", "127.0.0.1", "-u", "agent_ro", "-pwrong", "-e", "select 1"]), lib, FAM,
          "mysql client with an unknown user and password", "AUTH_DB_LOGIN_FAILED", must="Access denied")
    c.cli(sh(["mysql", "-h", "127.0.0.1", "-uroot", "-e", "select 1", "analytics_prod"]), lib, FAM,
          "mysql client to a database that does not exist", "INFRA_DB_NOT_FOUND", must="Unknown database")
    c.cli(sh(["mysql", "-h", "127.0.0.1", "-uroot", "-e", "select * from agent_runs", "test"]), lib, FAM,
          "mysql client query on a missing table", "INFRA_DB_SCHEMA_MISMATCH", must="doesn't exist")


def _redis_cli(c: Corpus):
    lib = f"redis-cli {tool_version(['redis-cli', '--version'])}"
    c.cli(sh(["redis-cli", "-p", str(free_port()), "ping"]), lib, FAM, "redis-cli to a closed port",
          "INFRA_CACHE_UNAVAILABLE", stream="both", must="refused")
    key = "error-corpus:cli:list"
    sh(["redis-cli", "rpush", key, "a"])
    c.cli(sh(["redis-cli", "get", key]), lib, FAM, "redis-cli GET on a key holding a list", "DATA_WRONG_TYPE",
          stream="both", must="WRONGTYPE")
    sh(["redis-cli", "del", key])
    c.cli(sh(["redis-cli", "--user", "error-corpus-nobody", "--pass", "wrong", "--no-auth-warning", "ping"]), lib,
          FAM, "redis-cli with a user/password the server refuses", "AUTH_LOGIN_FAILED", stream="both",
          must="WRONGPASS", keep=lambda ln: "AUTH" in ln)


def _shells(c: Corpus):
    bash = f"bash {tool_version(['bash', '--version'])}"
    c.cli(sh(["bash", "-c", "helmfile -e prod apply"]), bash, FAM, "bash -c with a program that is not installed",
          "TOOL_EXECUTABLE_NOT_FOUND", must="not found")
    c.cli(sh(["sh", "-c", "ansible-playbook -i hosts site.yml"]), "dash (sh) 0.5", FAM, "sh -c with a program that is not installed",
          "TOOL_EXECUTABLE_NOT_FOUND", must="not found")
    c.cli(sh(["env", "ffmpeg", "-i", "in.mp4", "out.webm"]), f"coreutils env {tool_version(['env', '--version'])}", FAM,
          "env with a program that is not installed", "TOOL_EXECUTABLE_NOT_FOUND")
    tmp = tempfile.mkdtemp(prefix="corpus-sh-")
    script = os.path.join(tmp, "deploy.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\necho deploying\n")
    os.chmod(script, 0o644)
    c.cli(sh(["bash", "-c", script]), bash, FAM, "bash -c on a script without the execute bit", "PERM_FILE_ACCESS",
          must="Permission denied")
    c.cli(sh(["bash", "-c", "ls /var/lib/agent/outputs"]), bash, FAM, "ls of a missing directory",
          "DATA_OBJECT_NOT_FOUND")
    to = f"coreutils timeout {tool_version(['timeout', '--version'])}"
    c.cli(sh(["timeout", "-v", "0.3", "sleep", "5"]), to, FAM, "timeout -v 0.3 sleep 5", "TOOL_TIMEOUT",
          must="sending signal")
    c.cli(sh(["timeout", "-v", "-s", "KILL", "0.3", "sleep", "5"]), to, FAM, "timeout -v -s KILL 0.3 sleep 5",
          "TOOL_TIMEOUT", status=True)
    with open(os.path.join(tmp, "Makefile"), "w") as f:
        f.write("all:\n\tprotoc --python_out=. api.proto\n")
    make = f"make {tool_version(['make', '--version'])}"
    c.cli(sh(["make", "-C", tmp, "--no-print-directory"]), make, FAM, "make whose recipe runs a missing program",
          "TOOL_EXECUTABLE_NOT_FOUND", must="No such file")
    c.cli(sh(["make", "-C", tmp, "--no-print-directory", "release"]), make, FAM, "make of a target that does not exist",
          "TOOL_SUBPROCESS_FAILED", must="No rule")
    shutil.rmtree(tmp, ignore_errors=True)


def _subprocess(c: Corpus):
    lib = stdlib("subprocess")
    e = catch(subprocess.run, ["helm", "upgrade", "--install", "agent", "./chart"], check=True)
    c.exc(e, lib, FAM, "subprocess.run of a program that is not installed", "TOOL_EXECUTABLE_NOT_FOUND")
    e = catch(subprocess.run, ["/opt/tools/bin/pandoc", "in.md"], check=True)
    c.exc(e, lib, FAM, "subprocess.run of an absolute path that does not exist", "TOOL_EXECUTABLE_NOT_FOUND",
          style="tb")
    e = catch(subprocess.run, ["ls", "/var/lib/agent/missing"], check=True, capture_output=True)
    c.exc(e, lib, FAM, "subprocess.run(check=True) of a command exiting 2", "TOOL_SUBPROCESS_FAILED",
          must="non-zero exit status")
    e = catch(subprocess.check_output, "exit 3", shell=True)
    c.exc(e, lib, FAM, "check_output of a shell command exiting 3", "TOOL_SUBPROCESS_FAILED", style="qual")
    e = catch(subprocess.run, ["sleep", "5"], timeout=0.3)
    c.exc(e, lib, FAM, "subprocess.run(timeout=0.3) of sleep 5", "TOOL_TIMEOUT", must="timed out")
    e = catch(subprocess.run, [sys.executable, "-c", "import os,signal; os.kill(os.getpid(), signal.SIGKILL)"],
              check=True)
    c.exc(e, lib, FAM, "subprocess.run(check=True) of a child killed by SIGKILL", "TOOL_SUBPROCESS_FAILED",
          must="SIGKILL")
    e = catch(subprocess.run, ["bash", "-c", "kill -SEGV $$"], check=True)
    c.exc(e, lib, FAM, "subprocess.run(check=True) of a child that dies of SIGSEGV", "TOOL_SUBPROCESS_FAILED",
          must="SIGSEGV")
    tmp = tempfile.mkdtemp(prefix="corpus-sp-")
    script = os.path.join(tmp, "run.sh")
    with open(script, "w") as f:
        f.write("#!/bin/sh\necho hi\n")
    os.chmod(script, 0o644)
    e = catch(subprocess.run, [script])
    c.exc(e, lib, FAM, "subprocess.run of a script without the execute bit", "PERM_FILE_ACCESS")
    e = catch(subprocess.run, ["ls"], cwd="/var/lib/agent/workspace")
    c.exc(e, lib, FAM, "subprocess.run with a cwd that does not exist", "DATA_OBJECT_NOT_FOUND",
          accept=["TOOL_EXECUTABLE_NOT_FOUND"])
    shutil.rmtree(tmp, ignore_errors=True)


def _npm_pip(c: Corpus, srv):
    if shutil.which("npm"):
        lib = f"npm {tool_version(['npm', '--version'])}"
        cache = tempfile.mkdtemp(prefix="corpus-npm-")
        base = ["npm", "view", "--cache", cache, "--fetch-retries=0", "--fetch-timeout=2000", "--no-update-notifier"]
        keep = lambda ln: not ln.startswith(("npm error A complete log", "npm error     at "))  # noqa: E731
        c.cli(sh(base + ["left-pad-agent-tools", "--registry", srv.url + "/"], timeout=60), lib, FAM,
              "npm view of a package the loopback registry does not have", "DATA_OBJECT_NOT_FOUND", keep=keep,
              must="404")
        c.cli(sh(base + ["left-pad", "--registry", f"http://127.0.0.1:{free_port()}/"], timeout=60), lib, FAM,
              "npm view against a registry on a closed port", "NET_CONNECTION_REFUSED", keep=keep, must="ECONNREFUSED")
        c.cli(sh(base + ["private-pkg", "--registry", srv.url + "/private/"], timeout=60), lib, FAM,
              "npm view answered 401 by the registry", "AUTH_UNAUTHORIZED", keep=keep, must="401")
        shutil.rmtree(cache, ignore_errors=True)
    lib = f"pip {tool_version([sys.executable, '-m', 'pip', '--version'])}"
    base = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--retries", "0", "--timeout", "2",
            "-d", tempfile.gettempdir()]
    penv = {"PIP_CONFIG_FILE": "/dev/null", "PIP_FIND_LINKS": "", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    c.cli(sh(base + ["--index-url", srv.url + "/simple/", "agent-toolkit-nonexistent"], timeout=60, env=penv), lib, FAM,
          "pip download of a package the loopback index does not have", "DATA_OBJECT_NOT_FOUND",
          keep=lambda ln: ln.startswith("ERROR"))


def run(c: Corpus):
    routes = app_routes()
    routes["/redirect-loop"] = Resp(302, b"", headers={"Location": "/redirect-loop"})
    routes["/v1/quota"] = Resp(429, {"error": {"code": "insufficient_quota",
                                                "message": "Monthly quota exceeded for this API key."}})
    routes["/private/*"] = Resp(401, {"error": "authentication required"},
                                headers={"WWW-Authenticate": 'Bearer realm="registry"'})
    routes["/simple/*"] = Resp(404, "<html><body>Not Found</body></html>", ctype="text/html")
    routes["/left-pad-agent-tools"] = Resp(404, {"error": "Not found"})
    routes["*"] = Resp(407, "Proxy Authentication Required",
                       headers={"Proxy-Authenticate": 'Basic realm="corp-proxy"'})
    with ScriptedServer(routes) as srv:
        _curl(c, srv)
        _wget(c, srv)
        _npm_pip(c, srv)
    _git(c)
    _psql(c)
    _mysql(c)
    _redis_cli(c)
    _shells(c)
    _subprocess(c)
