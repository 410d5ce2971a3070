# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client matrix's harness: start the writers of every client, run an event, read back, compute the figures.

Used by tests/functional/test_client_matrix.py (loopback processes) and bench/clients.py (repetitions, medians).

Each writer is a process of its own (Node.js writers in this folder, Python ones in ``py_writers.py``) with one
contract: a JSON config as argument, ``READY`` on stdout after its first acknowledged write, one JSON report line
when its stdin closes. The harness starts every writer of an event before the event and stops them after it, so
each event gets fresh clients, keys of its own and figures of its own; the Redis processes are shared.

Figures per client and event (times in ms; the event's reference time ``ref`` is when it began, or for a
switchover when the Sentinels named the new primary: every Sentinel, both in ``GET-MASTER-ADDR-BY-NAME`` and in
``SENTINEL MASTER``, which some clients read and which the leading Sentinel updates only when its failover ends):

* ``longest_gap_ms``: the longest time between two acknowledged writes (or between the last one and the writer's
  stop, for a client that never wrote again) that ends after the event began;
* ``failed``: writes that returned an error after the first acknowledged one;
* ``lost``: acknowledged writes missing when read back from the servers at the end;
* ``resumed_ms``: from ``ref`` to the first acknowledged write after the last failure and after the last long
  gap (over ``GAP_MS``) that began before the event was over; ``None`` when the writer never wrote again
  after its last failure. Negative when the writer was writing again before ``ref``.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
NODE = shutil.which("node") or "/usr/bin/node"
INTERVAL_MS = 20
GAP_MS = 250

# name: (topology, command, settings in one line)
CLIENTS = {
    "ioredis-sentinel": ("sentinel", [NODE, "ioredis_sentinel.js"], "default",
                         "new Redis({sentinels, name, password, sentinelPassword}): defaults"),
    "ioredis-sentinel-recommended": ("sentinel", [NODE, "ioredis_sentinel.js"], "recommended",
                                     "defaults + reconnectOnError: READONLY -> 2 (reconnect, resend), "
                                     "failoverDetector: true"),
    "node-redis-sentinel": ("sentinel", [NODE, "node_redis_sentinel.js"], "default",
                            "createSentinel({name, sentinelRootNodes, nodeClientOptions, sentinelClientOptions}): "
                            "defaults"),
    "redis-py-sentinel": ("sentinel", [sys.executable, "py_writers.py", "redis-py-sentinel"], "default",
                          "Sentinel(sentinels, sentinel_kwargs).master_for(name, password): defaults"),
    "coredis-sentinel": ("sentinel", [sys.executable, "py_writers.py", "coredis-sentinel"], "default",
                         "Sentinel([TCPLocation], sentinel_kwargs, password).primary_for(name): defaults"),
    "ioredis-cluster": ("cluster", [NODE, "ioredis_cluster.js"], "default",
                        "new Redis.Cluster(nodes, {redisOptions: {password}}): defaults"),
    "node-redis-cluster": ("cluster", [NODE, "node_redis_cluster.js"], "default",
                           "createCluster({rootNodes, defaults: {password}}): defaults"),
    "redis-py-cluster": ("cluster", [sys.executable, "py_writers.py", "redis-py-cluster"], "default",
                         "RedisCluster(startup_nodes, password): defaults"),
    "coredis-cluster": ("cluster", [sys.executable, "py_writers.py", "coredis-cluster"], "default",
                        "RedisCluster(startup_nodes, password): defaults"),
    "glide-cluster": ("cluster", [sys.executable, "py_writers.py", "glide-cluster"], "default",
                      "GlideClusterClient(GlideClusterClientConfiguration(addresses, credentials)): defaults"),
}


def clients(topology):
    return [name for name, spec in CLIENTS.items() if spec[0] == topology]


def now_ms():
    return int(time.time() * 1000)


def node_modules_ready():
    return (HERE / "node_modules" / "ioredis").is_dir() and (HERE / "node_modules" / "redis").is_dir()


class Writer:
    """One writer process (started here, signalled only by its PID)."""

    def __init__(self, name, config):
        self.name = name
        topology, command, settings, _text = CLIENTS[name]
        self.config = dict(config, settings=settings, interval_ms=INTERVAL_MS)
        self.proc = subprocess.Popen([*command, json.dumps(self.config)], cwd=str(HERE), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        self.report = None

    def wait_ready(self, deadline):
        line = self._readline(deadline)
        if line.strip() != b"READY":
            self.kill()
            raise RuntimeError("writer %s never acknowledged a write (%r); stderr:\n%s"
                               % (self.name, line[:300], self.proc.stderr.read().decode(errors="replace")[-2000:]))

    def _readline(self, deadline):
        buffer = b""
        while time.monotonic() < deadline:
            ready, _w, _x = select.select([self.proc.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 1 << 16)
                if not chunk:
                    break
                buffer += chunk
                if b"\n" in buffer:
                    return buffer
            elif self.proc.poll() is not None:
                break
        return buffer

    def close_stdin(self):
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            self.proc.stdin = None

    def collect(self, timeout=15.0):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            out, err = self.proc.communicate()
        lines = [line for line in out.decode(errors="replace").splitlines() if line.startswith("{")]
        if not lines:
            raise RuntimeError("writer %s printed no report (rc=%s); stderr:\n%s"
                               % (self.name, self.proc.returncode, err.decode(errors="replace")[-2000:]))
        self.report = json.loads(lines[-1])
        return self.report

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()  # by PID: Popen.kill signals only this process
            self.proc.wait(10)


def start_writers(names, config_for, timeout=20.0):
    """Start a writer per name (``config_for(name)`` gives its config); wait until each has written once."""
    writers = [Writer(name, config_for(name)) for name in names]
    deadline = time.monotonic() + timeout
    try:
        for writer in writers:
            writer.wait_ready(deadline)
    except BaseException:
        for writer in writers:
            writer.kill()
        raise
    return writers


def stop_writers(writers):
    for writer in writers:
        writer.close_stdin()
    return {writer.name: writer.collect() for writer in writers}


def sentinel_config(name, topology_name, sentinels, tag, password=None, sentinel_password=None):
    return {"sentinels": [list(s) for s in sentinels], "name": topology_name, "password": password,
            "sentinel_password": sentinel_password, "key": "clients:%s:%s" % (tag, name)}


def cluster_config(name, nodes, tag, password=None):
    return {"nodes": [list(n) for n in nodes], "password": password, "prefix": "clients:%s:%s" % (tag, name)}


# -- read back ----------------------------------------------------------------------------------------------------
def lost_sentinel(primary_client, report, key):
    """Acknowledged sequence numbers missing from the list ``key`` on the primary."""
    present = {int(x) for x in primary_client.lrange(key, 0, -1)}
    return [n for n, _t in report["acked"] if n not in present]


def lost_cluster(cluster_client, report, prefix):
    """Acknowledged keys missing or holding another value, read through a cluster client."""
    acked = [n for n, _t in report["acked"]]
    lost = []
    for start in range(0, len(acked), 500):
        batch = acked[start:start + 500]
        values = cluster_client.mget_nonatomic(["%s:%d" % (prefix, n) for n in batch])
        lost += [n for n, value in zip(batch, values) if value not in (str(n), str(n).encode())]
    return lost


# -- figures ------------------------------------------------------------------------------------------------------
def figures(report, lost, event_ms, done_ms, ref_ms=None):
    """The figures of one client in one event (module docstring). ``event_ms``: when the event began; ``done_ms``:
    when it was over (the module returned, the failover was named); ``ref_ms``: reference for ``resumed_ms``."""
    ref_ms = event_ms if ref_ms is None else ref_ms
    acks = [t for _n, t in report["acked"]]
    first = acks[0] if acks else report["stopped_ms"]
    failures = [t for _n, t, _e in report["failed"] if t >= first]
    ends = acks + [report["stopped_ms"]]
    gaps = [(b - a, a, b) for a, b in zip(ends, ends[1:]) if b >= event_ms]
    longest = max((g for g, _a, _b in gaps), default=0)
    # The disruption: the last failure, and the last long gap that began before the event was over.
    marks = [a for g, a, _b in gaps if g > GAP_MS and a <= done_ms] + [t for t in failures if t >= event_ms]
    if not marks:
        resumed = None if not any(t >= event_ms for t in acks) else 0
        resumed_at = None
    else:
        last = max(marks)
        resumed_at = next((t for t in acks if t > last), None)
        resumed = None if resumed_at is None else resumed_at - ref_ms
    errors = sorted({error_kind(e) for _n, t, e in report["failed"] if t >= first})
    return {
        "acked": len(acks),
        "failed": len(failures),
        "lost": len(lost),
        "lost_samples": lost[:10],
        "longest_gap_ms": longest,
        "resumed_ms": resumed,
        "errors": errors[:6] + (["no reply (pending at stop)"] if report.get("pending") else []),
        "pending": bool(report.get("pending")),
        "error_sample": next((e for _n, t, e in report["failed"] if t >= event_ms), None),
    }


def error_kind(text):
    """The error's class or code (``READONLY``, ``ConnectionError``), else its first words."""
    head = text.split(":")[0].split()
    if head and (head[0].isupper() or head[0].endswith(("Error", "Exception"))):
        return head[0]
    return " ".join(text.split()[:4])


def table(rows, columns=("client", "event", "longest_gap_ms", "failed", "lost", "resumed_ms", "errors")):
    """A Markdown table of figure rows (dicts)."""
    def cell(value):
        if value is None:
            return "never"
        if isinstance(value, (list, tuple)):
            return ", ".join(str(v) for v in value) or "-"
        return str(value)
    lines = ["| " + " | ".join(columns) + " |", "|" + "|".join(" --- " for _c in columns) + "|"]
    lines += ["| " + " | ".join(cell(row.get(c)) for c in columns) + " |" for row in rows]
    return "\n".join(lines)
