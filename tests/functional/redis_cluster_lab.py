# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real ``redis-server --cluster-enabled yes`` processes on 127.0.0.1 for the Redis Cluster tests and bench.

    lab = ClusterLab(tmp_path, count=6).start()     # six empty cluster nodes, not joined
    try:
        ...
    finally:
        lab.stop()

Each node's cluster bus listens on port + 10000, so ports are picked where both are free, from a range of their
own (14000-15999, bus 24000-25999) that the Sentinel harness (``cluster.py``, 20000 + 1000 per worker) does not
hand out while fewer than four xdist workers run. ``cluster-node-timeout`` is short so failures show quickly.
Only processes started here are ever signalled, by PID.
"""

from __future__ import annotations

import os
import random
import threading
from pathlib import Path

from cluster import HOST, Node, _bindable, wait_until

NODE_TIMEOUT_MS = 1500
PORT_LOW = 14000
PORT_SLICE = 500
_lock = threading.Lock()
_next = None


def free_cluster_port() -> int:
    """A port free on 127.0.0.1 whose bus port (+10000) is free too, from this xdist worker's slice."""
    global _next  # noqa: PLW0603 - one allocator per process
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int("".join(ch for ch in worker if ch.isdigit()) or 0) % 4
    low = PORT_LOW + index * PORT_SLICE
    with _lock:
        if _next is None:
            _next = low + random.randrange(PORT_SLICE)
        for _attempt in range(PORT_SLICE):
            port = _next
            _next = low + (_next + 1 - low) % PORT_SLICE
            if _bindable(port) and _bindable(port + 10000):
                return port
    raise RuntimeError("no free cluster port pair left in %d-%d" % (low, low + PORT_SLICE - 1))


def node_config(port, password=None, extra=""):
    text = ("port %d\nbind %s\ncluster-enabled yes\ncluster-config-file nodes.conf\ncluster-node-timeout %d\n"
            "save \"\"\nappendonly no\ncluster-require-full-coverage yes\nrepl-diskless-sync-delay 0\n"
            % (port, HOST, NODE_TIMEOUT_MS))
    if password:
        text += "requirepass %s\nmasterauth %s\n" % (password, password)
    return text + extra


class ClusterLab:
    """``count`` empty cluster nodes; ``hosts`` gives each one a fake inventory host (anti-affinity)."""

    def __init__(self, workdir, count=6, password=None, hosts=None):
        self.workdir = Path(workdir)
        self.password = password
        self.nodes = []
        for index in range(count):
            port = free_cluster_port()
            node = Node("redis", self.workdir / ("n%d" % index), port, node_config(port, password), password=password)
            self.nodes.append(node)
        self.hosts = list(hosts or ["h%d" % (i // 2) for i in range(count)])

    def add_node(self, host):
        index = len(self.nodes)
        port = free_cluster_port()
        node = Node("redis", self.workdir / ("n%d" % index), port, node_config(port, self.password),
                    password=self.password)
        self.nodes.append(node)
        self.hosts.append(host)
        return node.start()

    def start(self):
        try:
            for node in self.nodes:
                node.start(wait=False)
            for node in self.nodes:
                node.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self):
        for node in self.nodes:
            node.stop()

    def declared(self, nodes=None):
        """The ``nodes`` option: one dict per node with its fake inventory host."""
        chosen = nodes if nodes is not None else self.nodes
        return [dict(host=n.host, port=n.port, inventory_host=self.hosts[self.nodes.index(n)]) for n in chosen]

    @property
    def startup_nodes(self):
        return [(n.host, n.port) for n in self.nodes if n.running]

    def node_at(self, address):
        return next(n for n in self.nodes if n.address == address)

    def cluster_nodes(self, node):
        return node.client().execute_command("CLUSTER", "NODES")

    def wait_ok(self, nodes=None, timeout=20.0):
        """Until every running node says cluster_state:ok and they all share one CLUSTER NODES config."""
        chosen = [n for n in (nodes or self.nodes) if n.running]

        def agreed():
            signatures = set()
            for node in chosen:
                client = node.client()
                if "cluster_state:ok" not in client.execute_command("CLUSTER", "INFO"):
                    return False
                lines = client.execute_command("CLUSTER", "NODES").splitlines()
                if any("fail" in line.split()[2] or "handshake" in line.split()[2] for line in lines):
                    return False
                signatures.add(frozenset((line.split()[0], line.split()[3], " ".join(sorted(line.split()[8:])))
                                         for line in lines))
            return len(signatures) == 1
        wait_until(agreed, timeout=timeout, interval=0.1, what="the cluster to agree")
