# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The events of the client matrix on loopback processes (tests/functional/cluster.py, redis_cluster_lab.py).

A :class:`SentinelSetup` (one group: a primary, two replicas, three Sentinels; down-after 1 s) and a
:class:`ClusterSetup` (six cluster nodes on three fake hosts, node timeout 1.5 s) are started once and go through
several events, each with fresh writers of every client (matrix.py). Each ``*_event`` function returns one figures
row per client plus the event's timing. Only processes started here are signalled, by PID.

Events, Sentinel group: ``switchover`` (module ``ha.redis.sentinel_failover``, run as the functional tests run it),
``kill`` (``kill -9`` of the primary's process; it is started again afterwards as a replica), ``freeze`` (SIGSTOP of
the primary for ``FREEZE_S``, then SIGCONT: the loopback stand-in for a partition of the primary's host; the kernel
still accepts connections and buffers writes for the stopped process, which a cut network would not),
``plain_replicaof`` (the failure mode of issue 22: ``SENTINEL FAILOVER``, and the old primary repointed with a plain
``REPLICAOF`` before Sentinel reconfigures it, so nothing disconnects its clients).
Events, Redis Cluster: ``cluster_failover`` (module, ``away_from`` the host of one primary), ``kill`` (``kill -9``
of a primary; started again afterwards), ``rebalance`` (two nodes of a fourth host joined by ``redis_cluster``, then
``cluster_rebalance`` moving ``REBALANCE_SLOTS`` slots to the new empty primary under the writers' load).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "functional"))

import matrix  # noqa: E402
import redis  # noqa: E402
from cluster import Cluster, run_module_direct, sentinel_state, wait_until  # noqa: E402
from redis.cluster import ClusterNode, RedisCluster  # noqa: E402
from redis_cluster_lab import ClusterLab  # noqa: E402

BASELINE_S = 1.0  # writing before the event
SETTLE_S = 2.5  # writing after the event is over
KILL_SETTLE_S = 4.0  # after a kill: long enough to see a slow recovery under load (the bounds stay the same)
FREEZE_S = 3.0
REBALANCE_SLOTS = 1000
# What ha.redis sets on every data node of a group with replicas (roles/server): a primary left without replicas
# refuses writes instead of acknowledging what will be lost.
WRITE_SAFETY = {"min-replicas-to-write": "1", "min-replicas-max-lag": "10"}


def _measure(names, config_for, action, readback, settle_s=SETTLE_S):
    """Start the writers, run ``action()`` (returns event_ms, done_ms, ref_ms and anything else), let them write
    ``settle_s`` more, stop them, read back; {"timing": ..., "rows": [figures + client]}."""
    writers = matrix.start_writers(names, config_for)
    try:
        time.sleep(BASELINE_S)
        timing = action()
        time.sleep(settle_s)
    except BaseException:
        for writer in writers:
            writer.kill()
        raise
    reports = matrix.stop_writers(writers)
    rows = []
    for name in names:
        lost = readback(name, reports[name])
        row = matrix.figures(reports[name], lost, timing["event_ms"], timing["done_ms"], timing.get("ref_ms"))
        rows.append(dict(row, client=name))
    return {"timing": timing, "rows": rows, "reports": reports}


# -- Sentinel group -----------------------------------------------------------------------------------------------
class SentinelSetup:
    def __init__(self, workdir, clients=None):
        self.workdir = Path(workdir)
        self.group = Cluster(self.workdir / "group").start()
        self.clients = list(clients or matrix.clients("sentinel"))
        self.events = 0
        self._restart_as_replica_later = None
        try:
            for node in self.group.data_nodes:
                self.write_safety(node)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        self.group.stop()

    @staticmethod
    def write_safety(node):
        client = node.client()
        for key, value in WRITE_SAFETY.items():
            client.config_set(key, value)

    @property
    def sentinel_addresses(self):
        return [(s.host, s.port) for s in self.group.sentinels]

    def named(self):
        """{Sentinel address: the primary it names}."""
        views = {}
        for sentinel in self.group.sentinels:
            try:
                host, port = sentinel.client(socket_timeout=0.5).execute_command(
                    "SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.group.name)
                views[sentinel.address] = "%s:%s" % (host, port)
            except (redis.RedisError, TypeError, ValueError):
                continue
        return views

    def majority_names(self, address):
        views = self.named()
        return sum(1 for v in views.values() if v == address) >= len(self.group.sentinels) // 2 + 1

    def primary(self):
        views = list(self.named().values())
        if not views:
            return None
        address = max(set(views), key=views.count)
        return self.group.node_at(*address.split(":"))

    def masters(self):
        """{Sentinel address: the primary its SENTINEL MASTER names} (what redis-py and node-redis read; the
        Sentinel that leads a failover names the new primary there only once the failover is over)."""
        views = {}
        for sentinel in self.group.sentinels:
            try:
                state = sentinel_state(sentinel.client(socket_timeout=0.5), self.group.name)
                views[sentinel.address] = "%s:%s" % (state["ip"], state["port"])
            except (redis.RedisError, KeyError, TypeError, ValueError):
                continue
        return views

    def watch_naming(self, old_address):
        """A thread that records when the Sentinels name another primary than ``old``: ``first_ms`` (one Sentinel,
        GET-MASTER-ADDR-BY-NAME), ``majority_ms`` (a majority), ``all_ms`` (every Sentinel, in GET-MASTER-ADDR-BY-NAME
        and in SENTINEL MASTER)."""
        found, stop = {}, threading.Event()
        majority = len(self.group.sentinels) // 2 + 1

        def watch():
            while not stop.is_set():
                views = self.named()
                others = [v for v in views.values() if v != old_address]
                if others:
                    found.setdefault("first_ms", matrix.now_ms())
                if len(others) >= majority and "majority_ms" not in found:
                    found["majority_ms"], found["address"] = matrix.now_ms(), max(set(others), key=others.count)
                if "address" in found and len(others) == len(self.group.sentinels):
                    masters = self.masters()
                    if len(masters) == len(self.group.sentinels) and set(masters.values()) == {found["address"]}:
                        found["all_ms"] = matrix.now_ms()
                        return
                time.sleep(0.01)
        thread = threading.Thread(target=watch, daemon=True)
        thread.start()
        return found, stop, thread

    def wait_healthy(self, timeout=30.0):
        """Until every data node but the primary replicates from it (link up), and every Sentinel agrees."""
        def healthy():
            primary = self.primary()
            if primary is None or not self.majority_names(primary.address):
                return False
            for node in self.group.data_nodes:
                if node is primary:
                    continue
                info = node.client().info("replication")
                if (info["role"], info.get("master_port"), info.get("master_link_status")) != (
                        "slave", primary.port, "up"):
                    return False
            views = set(self.named().values())
            return views == {primary.address}
        wait_until(healthy, timeout=timeout, interval=0.1, what="the group to be healthy again")
        self.group.wait_sentinels(timeout=timeout)

    def run(self, event, clients=None):
        names = list(clients or self.clients)
        self.events += 1
        tag = "%s%d" % (event, self.events)
        action = {"switchover": self._switchover, "kill": self._kill, "freeze": self._freeze,
                  "plain_replicaof": self._plain_replicaof}[event]
        result = _measure(names, lambda n: matrix.sentinel_config(n, self.group.name, self.sentinel_addresses, tag),
                          action, self._readback(tag), KILL_SETTLE_S if event == "kill" else SETTLE_S)
        for row in result["rows"]:
            row["event"] = event
        return result

    def _readback(self, tag):
        def readback(name, report):
            primary = self.primary()
            return matrix.lost_sentinel(primary.client(), report, "clients:%s:%s" % (tag, name))
        return readback

    def _switchover(self):
        old = self.primary()
        found, stop, thread = self.watch_naming(old.address)
        event_ms = matrix.now_ms()
        result = run_module_direct("sentinel_failover", dict(sentinels=self.group.sentinel_addresses(),
                                                             primary_name=self.group.name, avoid=old.address),
                                   self.workdir)
        done_ms = matrix.now_ms()
        thread.join(10)
        stop.set()
        if result.get("failed") or not result.get("changed"):
            raise AssertionError("sentinel_failover did not switch over: %s" % result)
        return {"event_ms": event_ms, "done_ms": done_ms, "ref_ms": found.get("all_ms"),
                "first_named_ms": found.get("first_ms"), "majority_named_ms": found.get("majority_ms"),
                "old": old.address, "new": result["new_primary"], "write_pause_ms": result.get("write_pause_ms")}

    def _wait_named(self, old_address, timeout, every=False):
        """Until a majority of the Sentinels name another primary (``every``: and then until every Sentinel names it
        in both commands too); the watcher's record."""
        found, stop, thread = self.watch_naming(old_address)
        try:
            wait_until(lambda: ("all_ms" if every else "majority_ms") in found, timeout=timeout, interval=0.01,
                       what="a new primary")
        except TimeoutError:
            pass
        stop.set()
        if "majority_ms" not in found:
            raise AssertionError("the Sentinels named no new primary within %.0f s" % timeout)
        return found

    def _kill(self):
        old = self.primary()
        event_ms = matrix.now_ms()
        old.kill()
        found = self._wait_named(old.address, 20, every=True)
        self._restart_as_replica_later = (old, found["address"])
        return {"event_ms": event_ms, "done_ms": found["majority_ms"], "ref_ms": event_ms, "old": old.address,
                "new": found["address"], "named_after_ms": found["majority_ms"] - event_ms,
                "all_named_after_ms": found["all_ms"] - event_ms if "all_ms" in found else None}

    def _freeze(self):
        old = self.primary()
        event_ms = matrix.now_ms()
        os.kill(old.pid, signal.SIGSTOP)
        try:
            found = self._wait_named(old.address, 20)
            time.sleep(max(0.0, event_ms / 1000 + FREEZE_S - time.time()))
        finally:
            os.kill(old.pid, signal.SIGCONT)
        cont_ms = matrix.now_ms()
        # Sentinel demotes the old primary (REPLICAOF + CLIENT KILL) some seconds after it answers again.
        wait_until(lambda: old.client().info("replication")["role"] == "slave", timeout=30,
                   what="the Sentinels to demote %s" % old.address)
        return {"event_ms": event_ms, "done_ms": cont_ms, "ref_ms": event_ms, "old": old.address,
                "new": found["address"], "named_after_ms": found["majority_ms"] - event_ms,
                "demoted_after_cont_ms": matrix.now_ms() - cont_ms}

    def _plain_replicaof(self):
        """SENTINEL FAILOVER; the moment the Sentinels name the new primary, the old one is repointed with a plain
        REPLICAOF (what sentinel_failover's _follow did before issue 22): Sentinel then finds it following the new
        primary already and never disconnects its clients."""
        old = self.primary()
        found, stop, thread = self.watch_naming(old.address)
        event_ms = matrix.now_ms()
        self.group.sentinels[0].client().execute_command("SENTINEL", "FAILOVER", self.group.name)
        wait_until(lambda: "address" in found, timeout=20, interval=0.01, what="the Sentinels to name a primary")
        host, port = found["address"].split(":")
        old.client().execute_command("REPLICAOF", host, port)
        done_ms = matrix.now_ms()
        thread.join(10)
        stop.set()
        return {"event_ms": event_ms, "done_ms": done_ms, "ref_ms": found.get("all_ms"), "old": old.address,
                "majority_named_ms": found["majority_ms"], "new": found["address"]}

    def recover(self):
        """After ``kill``: start the killed process again as a replica of the new primary (what Sentinel makes it
        once it answers; started so directly, the group is healthy without waiting for Sentinel's conversion)."""
        pending = self._restart_as_replica_later
        if pending:
            node, address = pending
            host, port = address.split(":")
            with open(node.config_path, "a", encoding="utf-8") as handle:
                handle.write("replicaof %s %s\n" % (host, port))
            node.start()
            self.write_safety(node)
            self._restart_as_replica_later = None
        self.wait_healthy()


# -- Redis Cluster ------------------------------------------------------------------------------------------------
class ClusterSetup:
    HOSTS = ["a", "a", "b", "b", "c", "c"]

    def __init__(self, workdir, clients=None):
        self.workdir = Path(workdir)
        self.lab = ClusterLab(self.workdir / "lab", count=6, hosts=self.HOSTS).start()
        self.clients = list(clients or matrix.clients("cluster"))
        self.events = 0
        self._restart = None
        try:
            result = run_module_direct("redis_cluster", dict(nodes=self.lab.declared(), replicas=1), self.workdir)
            assert result.get("created"), result
            self.lab.wait_ok()
            self.startup = list(self.lab.startup_nodes)
        except BaseException:
            self.stop()
            raise

    def stop(self):
        self.lab.stop()

    def rc(self):
        return RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in self.lab.startup_nodes],
                            decode_responses=True, socket_timeout=5)

    def primaries(self):
        """{address: inventory host} of the primaries serving slots, read from a running node."""
        node = next(n for n in self.lab.nodes if n.running)
        lines = [line.split() for line in node.client().execute_command("CLUSTER", "NODES").splitlines()]
        serving = {p[1].split("@")[0] for p in lines if "master" in p[2] and "fail" not in p[2] and len(p) > 8}
        return {n.address: self.lab.hosts[i] for i, n in enumerate(self.lab.nodes) if n.address in serving}

    def run(self, event, clients=None):
        names = list(clients or self.clients)
        self.events += 1
        tag = "%s%d" % (event, self.events)
        if event == "rebalance":
            self._grow()
        action = {"cluster_failover": self._failover, "kill": self._kill, "rebalance": self._rebalance}[event]
        result = _measure(names, lambda n: matrix.cluster_config(n, self.startup, tag), action, self._readback(tag),
                          KILL_SETTLE_S if event == "kill" else SETTLE_S)
        for row in result["rows"]:
            row["event"] = event
        return result

    def _readback(self, tag):
        clients = []

        def readback(name, report):
            if not clients:  # made after the event: the slot map of now, from the nodes running now
                clients.append(self.rc())
            return matrix.lost_cluster(clients[0], report, "clients:%s:%s" % (tag, name))
        return readback

    def _failover(self):
        host = sorted(self.primaries().values())[0]
        event_ms = matrix.now_ms()
        result = run_module_direct("cluster_failover", dict(nodes=self.lab.declared(), away_from=[host]),
                                   self.workdir)
        done_ms = matrix.now_ms()
        if result.get("failed") or not result.get("changed"):
            raise AssertionError("cluster_failover moved nothing: %s" % result)
        return {"event_ms": event_ms, "done_ms": done_ms, "host": host,
                "failovers": [(f["primary"], f["replica"]) for f in result["failovers"]]}

    def _kill(self):
        address = sorted(self.primaries())[0]
        node = self.lab.node_at(address)
        event_ms = matrix.now_ms()
        node.kill()
        wait_until(lambda: address not in self.primaries() and len(self.primaries()) == 3, timeout=30,
                   interval=0.05, what="a replica of %s to take over" % address)
        done_ms = matrix.now_ms()
        self._restart = node
        # Every running node says cluster_state:ok and names the killed node failing: what the clients see then.
        wait_until(lambda: self._agreed(address), timeout=30, interval=0.05, what="every node to see the takeover")
        agreed_ms = matrix.now_ms()
        return {"event_ms": event_ms, "done_ms": done_ms, "old": address, "promoted_after_ms": done_ms - event_ms,
                "agreed_after_ms": agreed_ms - event_ms}

    def _agreed(self, address):
        for node in self.lab.nodes:
            if not node.running:
                continue
            client = node.client(socket_timeout=0.5)
            if "cluster_state:ok" not in client.execute_command("CLUSTER", "INFO"):
                return False
            lines = [line.split() for line in client.execute_command("CLUSTER", "NODES").splitlines()]
            if not any(p[1].split("@")[0] == address and "fail" in p[2] and "fail?" not in p[2] for p in lines):
                return False
        return True

    def _grow(self):
        self.lab.add_node("d")
        self.lab.add_node("d")
        result = run_module_direct("redis_cluster", dict(nodes=self.lab.declared(), replicas=1), self.workdir)
        assert not result.get("failed") and result.get("empty_primaries"), result
        self.new_primary = result["empty_primaries"][0]
        self.lab.wait_ok()

    def _rebalance(self):
        event_ms = matrix.now_ms()
        result = run_module_direct("cluster_rebalance", dict(nodes=self.lab.declared(), max_slots=REBALANCE_SLOTS),
                                   self.workdir, timeout=300)
        done_ms = matrix.now_ms()
        if result.get("failed") or not result.get("changed"):
            raise AssertionError("cluster_rebalance moved nothing: %s" % result)
        slots = sum(b - a + 1 for move in result["moves"].values() for a, b in move["ranges"])
        return {"event_ms": event_ms, "done_ms": done_ms, "slots": slots, "to": self.new_primary}

    def recover(self):
        if self._restart is not None:
            self._restart.start()
            self._restart = None
        self.lab.wait_ok(timeout=30)


def run_all(setup, events, clients=None):
    """Every event in order on one setup (recovering in between): {event: result}."""
    results = {}
    for event in events:
        results[event] = setup.run(event, clients)
        setup.recover()
    return results
