# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real redis-server / redis-sentinel processes on 127.0.0.1 for functional tests.

A :class:`Cluster` is one replication group (a primary and its replicas) watched by a set of
Sentinels, every process on a free loopback port with its files in ``workdir``. Sentinel timers are
short (down-after 1 s, failover-timeout 5 s) so failure scenarios finish quickly.

    cluster = Cluster(tmp_path, replicas=2, sentinels=3).start()
    try:
        ...
    finally:
        cluster.stop()

Only processes started here are ever signalled, always by PID.
"""

from __future__ import annotations

import atexit
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import redis

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
HOST = "127.0.0.1"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000

REPO = Path(__file__).resolve().parents[2]
# The virtualenv whose ansible-core runs the tests (scripts/ansible-core-lowest.sh points it at another one).
VENV_BIN = Path(os.environ.get("HA_REDIS_VENV_BIN") or REPO / ".venv" / "bin")
ANSIBLE = VENV_BIN / "ansible"
PYTHON = VENV_BIN / "python" if (VENV_BIN / "python").exists() else Path(sys.executable)
COLLECTIONS = REPO / ".collections"

DATA_PASSWORD = "data-s3cret"
SENTINEL_PASSWORD = "sentinel-s3cret"

_port_lock = threading.Lock()
_next_port = None

# Ports come from below the kernel's ephemeral range (32768-60999 by default), so that no outgoing connection of a
# test can hold a port a server is about to bind. Each pytest-xdist worker gets its own slice of 1000 ports.
PORT_RANGE_START = 20000
PORT_SLICE = 1000


def _worker_index():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    digits = "".join(ch for ch in worker if ch.isdigit())
    return int(digits) if digits else 0


def _bindable(port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1, from this worker's slice, never handed out twice by this process."""
    global _next_port  # noqa: PLW0603 - one allocator per process
    low = PORT_RANGE_START + (_worker_index() % 12) * PORT_SLICE
    with _port_lock:
        if _next_port is None:
            # Start at a random place in the slice: consecutive test runs do not reuse ports in TIME_WAIT.
            _next_port = low + random.randrange(PORT_SLICE)
        for _attempt in range(PORT_SLICE):
            port = _next_port
            _next_port = low + (_next_port + 1 - low) % PORT_SLICE
            if _bindable(port):
                return port
        raise RuntimeError("no free port left in %d-%d on %s" % (low, low + PORT_SLICE - 1, HOST))


def wait_until(predicate, timeout=15.0, interval=0.05, what="condition"):
    """Poll ``predicate`` until it returns a truthy value; raise TimeoutError naming ``what``."""
    end = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (redis.RedisError, OSError) as exc:
            last_exc = exc
        if time.monotonic() >= end:
            raise TimeoutError("timed out after %.1fs waiting for %s (last error: %s)" % (timeout, what, last_exc))
        time.sleep(interval)


def sentinel_state(client, name):
    """SENTINEL MASTER as a plain dict of strings (raw command: redis-py's parsers differ between versions)."""
    reply = client.execute_command("SENTINEL", "MASTER", name)
    return dict(zip(reply[0::2], reply[1::2]))


class Node:
    """One redis-server or redis-sentinel process."""

    def __init__(self, kind, workdir, port, config_text, password=None):
        assert kind in ("redis", "sentinel")
        self.kind = kind
        self.host = HOST
        self.port = port
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_path = self.workdir / ("sentinel.conf" if kind == "sentinel" else "redis.conf")
        self.log_path = self.workdir / "server.log"
        self.password = password
        self.config_path.write_text(config_text)
        self._proc: subprocess.Popen | None = None

    def __repr__(self):
        return "Node(%s %s:%d pid=%s)" % (self.kind, self.host, self.port, self.pid)

    @property
    def address(self) -> str:
        return "%s:%d" % (self.host, self.port)

    @property
    def pid(self):
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def client(self, password=None, **kwargs) -> redis.Redis:
        kwargs.setdefault("socket_timeout", 3)
        kwargs.setdefault("socket_connect_timeout", 1)
        return redis.Redis(host=self.host, port=self.port, password=password if password is not None else self.password,
                           decode_responses=True, **kwargs)

    def start(self, wait=True) -> Node:
        """(Re)start the process with the same config file; wait until it answers PING."""
        if self.running:
            return self
        args = [REDIS_SERVER, str(self.config_path)]
        if self.kind == "sentinel":
            args.append("--sentinel")
        with open(self.log_path, "ab") as log:
            self._proc = subprocess.Popen(args, cwd=str(self.workdir), stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True)
        if wait:
            self.wait_ready()
        return self

    def wait_ready(self, timeout=10.0):
        def ready():
            if self._proc.poll() is not None:
                raise RuntimeError("%r exited with %s; log:\n%s" % (self, self._proc.returncode, self.log_tail()))
            return self.client().ping()
        wait_until(ready, timeout=timeout, what="%r to answer PING" % self)

    def log_tail(self, lines=20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def _signal(self, sig, timeout):
        if self._proc is None or self._proc.poll() is not None:
            return
        try:
            os.kill(self._proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self._proc.pid, signal.SIGKILL)
            self._proc.wait(timeout=10)

    def kill(self):
        """SIGKILL: the process dies without saving or saying goodbye."""
        self._signal(signal.SIGKILL, timeout=10)

    def stop(self):
        """SIGTERM and wait (SIGKILL after 10 s)."""
        self._signal(signal.SIGTERM, timeout=10)


class Cluster:
    """A primary, ``replicas`` replicas and ``sentinels`` Sentinels monitoring them as ``name``."""

    def __init__(self, workdir, name="mymaster", replicas=2, sentinels=3, password=None, sentinel_password=None,
                 quorum=2):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.name = name
        self.password = password
        self.sentinel_password = sentinel_password
        self.quorum = quorum
        self.primary = self._data_node("primary", None)
        self.replicas = [self._data_node("replica-%d" % (i + 1), self.primary) for i in range(replicas)]
        self.sentinels = [self._sentinel_node("sentinel-%d" % (i + 1)) for i in range(sentinels)]
        self._stopped = False

    # -- construction ---------------------------------------------------------------------------------------
    def _data_node(self, label, primary):
        port = free_port()
        lines = [
            "port %d" % port,
            "bind %s" % HOST,
            "protected-mode no",
            "daemonize no",
            'save ""',
            "appendonly no",
            "dir %s" % (self.workdir / label),
            "logfile \"\"",
            "repl-diskless-sync yes",
            "repl-diskless-sync-delay 0",
            "repl-ping-replica-period 1",
            "repl-timeout 5",
        ]
        if self.password:
            lines += ["requirepass %s" % self.password, "masterauth %s" % self.password]
        if primary is not None:
            lines.append("replicaof %s %d" % (primary.host, primary.port))
        return Node("redis", self.workdir / label, port, "\n".join(lines) + "\n", password=self.password)

    def _sentinel_node(self, label):
        port = free_port()
        lines = [
            "port %d" % port,
            "bind %s" % HOST,
            "protected-mode no",
            "daemonize no",
            "dir %s" % (self.workdir / label),
            "logfile \"\"",
            "sentinel monitor %s %s %d %d" % (self.name, self.primary.host, self.primary.port, self.quorum),
            "sentinel down-after-milliseconds %s %d" % (self.name, DOWN_AFTER_MS),
            "sentinel failover-timeout %s %d" % (self.name, FAILOVER_TIMEOUT_MS),
            "sentinel parallel-syncs %s 1" % self.name,
        ]
        if self.password:
            lines.append("sentinel auth-pass %s %s" % (self.name, self.password))
        if self.sentinel_password:
            lines += ["requirepass %s" % self.sentinel_password, "sentinel sentinel-pass %s" % self.sentinel_password]
        return Node("sentinel", self.workdir / label, port, "\n".join(lines) + "\n", password=self.sentinel_password)

    # -- accessors ------------------------------------------------------------------------------------------
    @property
    def data_nodes(self) -> list[Node]:
        return [self.primary] + list(self.replicas)

    @property
    def nodes(self) -> list[Node]:
        return self.data_nodes + list(self.sentinels)

    def sentinel_addresses(self) -> list[str]:
        return [s.address for s in self.sentinels]

    def client(self, node) -> redis.Redis:
        """An authenticated client for ``node`` (data-node or Sentinel password as appropriate)."""
        return node.client()

    def node_at(self, host, port):
        for node in self.nodes:
            if node.host == host and int(node.port) == int(port):
                return node
        return None

    def current_primary(self) -> Node | None:
        """The data node the first answering Sentinel names as primary (after a failover: not ``.primary``)."""
        for sentinel in self.sentinels:
            if not sentinel.running:
                continue
            try:
                host, port = sentinel.client().execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.name)
            except (redis.RedisError, TypeError):
                continue
            return self.node_at(host, port)
        return None

    # -- lifecycle ------------------------------------------------------------------------------------------
    def start(self, wait=True) -> Cluster:
        """Start every process. ``wait=True``: until the replicas are in sync and each Sentinel sees the rest."""
        atexit.register(self.stop)  # last resort if the test run is interrupted; stop() is idempotent
        try:
            for node in self.data_nodes:
                node.start(wait=True)
            if wait:
                self.wait_replication()
            for node in self.sentinels:
                node.start(wait=wait)
            if wait:
                self.wait_sentinels()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        """Stop every process this cluster started (by PID). Safe to call more than once."""
        for node in reversed(self.nodes):
            try:
                node.kill() if node.kind == "redis" else node.stop()
            except Exception:  # noqa: BLE001 - keep going, every process must go
                pass
        self._stopped = True

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- waiting --------------------------------------------------------------------------------------------
    def wait_replication(self, timeout=20.0):
        def synced():
            for replica in self.replicas:
                info = replica.client().info("replication")
                if info.get("master_link_status") != "up" or int(info.get("master_sync_in_progress", 1)):
                    return False
            if self.replicas:
                info = self.primary.client().info("replication")
                return int(info.get("connected_slaves", 0)) >= len(self.replicas)
            return True
        wait_until(synced, timeout=timeout, what="replicas of %s to be in sync" % self.name)

    def wait_sentinels(self, timeout=20.0, sentinels=None, replicas=None):
        """Until every running Sentinel knows the other running Sentinels and every replica."""
        running = [s for s in (sentinels or self.sentinels) if s.running]
        want_replicas = len(self.replicas) if replicas is None else replicas

        def converged():
            for sentinel in running:
                state = sentinel_state(sentinel.client(), self.name)
                if int(state.get("num-other-sentinels", 0)) < len(running) - 1:
                    return False
                if int(state.get("num-slaves", 0)) < want_replicas:
                    return False
                flags = state.get("flags", "")
                if not isinstance(flags, str):
                    flags = ",".join(flags)
                if "down" in flags or "failover" in flags:
                    return False
                # Links to the other Sentinels and replicas must be up, not merely discovered.
                for command in ("SENTINELS", "REPLICAS"):
                    for reply in sentinel.client().execute_command("SENTINEL", command, self.name):
                        flags = dict(zip(reply[0::2], reply[1::2])).get("flags", "")
                        if "disconnected" in flags or "down" in flags:
                            return False
            return True
        wait_until(converged, timeout=timeout, interval=0.1, what="Sentinels of %s to discover each other" % self.name)


# ---------------------------------------------------------------------------------------------------------------
# Running ha.redis modules
# ---------------------------------------------------------------------------------------------------------------
def _parse_module_output(stdout):
    """Modules print one JSON document; warnings or noise may surround it."""
    text = stdout.strip()
    try:
        return json.loads(text)
    except ValueError:
        # Decode from the first line that opens a JSON object; ignore whatever follows (e.g. profile_tasks).
        starts = [0] if text.startswith("{") else []
        starts += [i + 1 for i in range(len(text)) if text[i] == "\n" and text[i + 1:i + 2] == "{"]
        for start in starts:
            try:
                return json.JSONDecoder().raw_decode(text[start:])[0]
            except ValueError:
                continue
        raise ValueError("no JSON object in output") from None


def run_module_direct(module, args, tmp_path, check_mode=False, timeout=120):
    """Run ``plugins/modules/<module>.py`` in a subprocess with an ANSIBLE_MODULE_ARGS file; return its JSON."""
    module_args = dict(args)
    if check_mode:
        module_args["_ansible_check_mode"] = True
    args_file = Path(tmp_path) / ("%s-args-%d.json" % (module, os.getpid()))
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
    # HA_REDIS_MODULE_PYTHONPATH: extra paths searched first, e.g. a site-packages with redis-py 4.3 (Debian 12).
    extra = os.environ.get("HA_REDIS_MODULE_PYTHONPATH")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(([extra] if extra else []) + [str(COLLECTIONS)]))
    proc = subprocess.run(
        [str(PYTHON), "-m", "ansible_collections.ha.redis.plugins.modules.%s" % module, str(args_file)],
        check=False, capture_output=True, text=True, env=env, cwd=str(REPO), timeout=timeout,
    )
    try:
        result = _parse_module_output(proc.stdout)
    except ValueError as exc:
        raise AssertionError("module %s printed no JSON (rc=%s)\nstdout:\n%s\nstderr:\n%s"
                             % (module, proc.returncode, proc.stdout, proc.stderr)) from exc
    result.setdefault("rc", proc.returncode)
    # ansible-core 2.22's AnsibleModule hands the values of no_log options to the controller in this key, which the
    # controller removes before anything is shown or registered; a direct run removes it the same way.
    result.pop("_ansible_new_secrets", None)
    return result


def run_ansible_adhoc(module, args, check_mode=False, timeout=180):
    """Run ``ansible localhost -m ha.redis.<module> -a <json>`` from the checkout; return the host's result."""
    cmd = [str(ANSIBLE), "localhost", "-i", "localhost,", "-c", "local",
           "-e", "ansible_python_interpreter=%s" % PYTHON,
           "-m", "ha.redis.%s" % module, "-a", json.dumps(args)]
    if check_mode:
        cmd.append("--check")
    env = dict(os.environ,
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run(cmd, check=False, capture_output=True, text=True, env=env, cwd=str(REPO), timeout=timeout)
    try:
        doc = _parse_module_output(proc.stdout)
        result = doc["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError) as exc:
        raise AssertionError("ansible printed no usable JSON (rc=%s)\nstdout:\n%s\nstderr:\n%s"
                             % (proc.returncode, proc.stdout, proc.stderr)) from exc
    result.setdefault("rc", proc.returncode)
    return result


def install_collection(workdir):
    """Build the collection's tarball from the checkout and install it under ``workdir``/collections, as a user
    would (no project ansible.cfg); return that collections path."""
    workdir = Path(workdir)
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    galaxy = str(VENV_BIN / "ansible-galaxy")
    subprocess.run([galaxy, "collection", "build", "--force", "--output-path", str(workdir), str(REPO)],
                   check=True, capture_output=True, text=True, cwd=str(workdir), env=env, timeout=120)
    tarball = next(workdir.glob("ha-redis-*.tar.gz"))
    collections = workdir / "collections"
    subprocess.run([galaxy, "collection", "install", "--force", "-p", str(collections), str(tarball)],
                   check=True, capture_output=True, text=True, cwd=str(workdir), env=env, timeout=120)
    return collections


def run_playbook(plays, tmp_path, timeout=180, collections_path=None):
    """Run ``plays`` (a list of dicts) with ansible-playbook on localhost; return (rc, json report, stderr).

    With ``collections_path`` (an installed copy, see ``install_collection``), ansible-playbook runs as a user's
    would: from ``tmp_path``, without the project's ansible.cfg or any ANSIBLE_* setting of the caller, with that
    collections path only."""
    import yaml  # noqa: PLC0415 - only the playbook runners need it

    path = Path(tmp_path) / "playbook.yml"
    path.write_text(yaml.safe_dump(plays, sort_keys=False))
    env, cwd = dict(os.environ), REPO
    if collections_path:
        env = {key: value for key, value in env.items() if not key.startswith("ANSIBLE_")}
        env["ANSIBLE_COLLECTIONS_PATH"], cwd = str(collections_path), Path(tmp_path)
    env.update(ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_NOCOLOR="1")
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", "ansible_python_interpreter=%s" % PYTHON, str(path)],
                          check=False, capture_output=True, text=True, cwd=str(cwd), env=env, timeout=timeout)
    try:
        report = _parse_module_output(proc.stdout)
    except ValueError as exc:
        raise AssertionError("ansible-playbook printed no JSON (rc=%s)\nstdout:\n%s\nstderr:\n%s"
                             % (proc.returncode, proc.stdout, proc.stderr)) from exc
    return proc.returncode, report, proc.stderr


def failed_tasks(report):
    """(task name, message) of every task that failed on localhost in a json-callback report."""
    return [(task["task"]["name"], task["hosts"]["localhost"].get("msg"))
            for play in report["plays"] for task in play["tasks"]
            if task["hosts"].get("localhost", {}).get("failed")]
