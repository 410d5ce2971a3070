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

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import redis

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
HOST = "127.0.0.1"
DOWN_AFTER_MS = 1000
FAILOVER_TIMEOUT_MS = 5000

_port_lock = threading.Lock()
_recent_ports: set[int] = set()


def free_port() -> int:
    """A TCP port that is free on 127.0.0.1 right now (the kernel picks it from the ephemeral range)."""
    with _port_lock:
        for _ in range(50):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
                sock.bind((HOST, 0))
                port = sock.getsockname()[1]
            # Redis cluster bus / Sentinel never use port+10000 here, but keep clear of ports handed out already.
            if port not in _recent_ports and port < 55000:
                _recent_ports.add(port)
                return port
        raise RuntimeError("no free port found on %s" % HOST)


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

    def start(self, wait=True) -> "Node":
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
        """The data node that the first answering Sentinel names as primary (after a failover it differs from .primary)."""
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
    def start(self, wait=True) -> "Cluster":
        """Start every process. ``wait=True``: until the replicas are in sync and each Sentinel sees the rest."""
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
                    for entry in sentinel.client().execute_command("SENTINEL", command, self.name):
                        entry = dict(zip(entry[0::2], entry[1::2]))
                        if "disconnected" in entry.get("flags", "") or "down" in entry.get("flags", ""):
                            return False
            return True
        wait_until(converged, timeout=timeout, interval=0.1, what="Sentinels of %s to discover each other" % self.name)
