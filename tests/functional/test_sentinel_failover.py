# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ha.redis.sentinel_failover against a real primary, two replicas and three Sentinels."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest
import redis
from cluster import Cluster, sentinel_state, wait_until
from redis.backoff import NoBackoff
from redis.retry import Retry
from redis.sentinel import Sentinel

RETURN_KEYS = {"changed", "old_primary", "new_primary", "elapsed", "write_pause_ms", "commands", "views", "msg",
               "method", "synced_replicas", "info_cycle_wait", "clients_disconnected"}


class Writer(threading.Thread):
    """A Sentinel-aware client that RPUSHes sequence numbers and records every acknowledged one."""

    def __init__(self, cluster, key="seq"):
        super().__init__(daemon=True)
        self.key = key
        self.sentinel = Sentinel([(s.host, s.port) for s in cluster.sentinels], socket_timeout=1)
        self.client = self.sentinel.master_for(cluster.name, socket_timeout=2, decode_responses=True)
        self.acked = []
        self.errors = 0
        self.stop_event = threading.Event()

    def run(self):
        n = 0
        while not self.stop_event.is_set():
            n += 1
            try:
                self.client.rpush(self.key, n)
                self.acked.append(n)
            except redis.RedisError:
                self.errors += 1
                time.sleep(0.01)

    def stop(self):
        self.stop_event.set()
        self.join(10)


class AddrWriter(threading.Thread):
    """The other kind of Sentinel-aware client: asks SENTINEL GET-MASTER-ADDR-BY-NAME of the Sentinels in order after
    every failed write, and writes there."""

    def __init__(self, cluster, key="seq-addr"):
        super().__init__(daemon=True)
        self.key = key
        self.sentinel_clients = [s.client(socket_timeout=1) for s in cluster.sentinels]
        self.name = cluster.name
        self.client = None
        self.acked = []
        self.errors = 0
        self.stop_event = threading.Event()

    def run(self):
        n = 0
        while not self.stop_event.is_set():
            n += 1
            try:
                if self.client is None:
                    for sentinel in self.sentinel_clients:
                        try:
                            host, port = sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.name)
                            break
                        except (redis.RedisError, TypeError, ValueError):
                            continue
                    else:
                        raise redis.ConnectionError("no Sentinel named a primary")
                    self.client = redis.Redis(host=host, port=int(port), socket_timeout=2, decode_responses=True)
                self.client.rpush(self.key, n)
                self.acked.append(n)
            except redis.RedisError:
                self.errors += 1
                if self.client is not None:
                    self.client.close()
                self.client = None
                time.sleep(0.01)

    def stop(self):
        self.stop_event.set()
        self.join(10)


class DirectWriter(threading.Thread):
    """A client that is not Sentinel-aware and does not treat READONLY as a disconnect (as ioredis and most clients
    by default): one connection to the primary, no retry. It writes until the connection is closed under it, and
    records each reply: a demoted primary must close it (Sentinel's client contract), never answer READONLY."""

    def __init__(self, node, key="seq-direct"):
        super().__init__(daemon=True)
        self.key = key
        self.client = redis.Redis(host=node.host, port=node.port, password=node.password, socket_timeout=10,
                                  single_connection_client=True, retry=Retry(NoBackoff(), 0))
        self.acked = []
        self.readonly = 0
        self.errors = []
        self.disconnected = None
        self.stop_event = threading.Event()

    def run(self):
        n = 0
        while not self.stop_event.is_set() and self.disconnected is None:
            n += 1
            try:
                self.client.rpush(self.key, n)
                self.acked.append(n)
            except redis.ConnectionError as exc:
                self.disconnected = str(exc)
            except redis.RedisError as exc:
                self.errors.append(str(exc))
                self.readonly += isinstance(exc, redis.exceptions.ReadOnlyError)
                time.sleep(0.01)

    def stop(self):
        self.stop_event.set()
        self.join(10)


def _priority(node):
    return node.client().config_get("replica-priority")["replica-priority"]


def _role(node):
    return node.client().info("replication")["role"]


def _sentinel_views(cluster):
    # raw command: redis-py 6.4's sentinel_get_master_addr_by_name() fails on a plain client
    return {s.address: "%s:%s" % tuple(s.client().execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", cluster.name))
            for s in cluster.sentinels}


def test_switchover_to_target_loses_no_acknowledged_write(cluster, run_module, run_ansible):
    old, target, other = cluster.primary, cluster.replicas[1], cluster.replicas[0]
    args = dict(sentinels=cluster.sentinel_addresses(), primary_name=cluster.name, target=target.address)

    # check mode: reports the plan, changes nothing
    result = run_module("sentinel_failover", args, check_mode=True)
    assert result["changed"] is True, result
    assert (result["old_primary"], result["new_primary"]) == (old.address, target.address)
    assert any("SENTINEL FAILOVER" in c for c in result["commands"])
    assert _role(old) == "master" and _priority(other) == "100"
    assert set(_sentinel_views(cluster).values()) == {old.address}

    writer = Writer(cluster)
    direct = DirectWriter(old)
    writer.start()
    direct.start()
    time.sleep(0.5)
    try:
        result = run_module("sentinel_failover", args)
        time.sleep(0.5)
    finally:
        writer.stop()
        direct.stop()
    assert result.get("failed") is not True, result
    assert result["changed"] is True
    assert set(result) - {"invocation", "rc", "warnings"} <= RETURN_KEYS
    # Sentinel's client contract: the demoted primary closed the direct client's connection (it was waiting on the
    # write pause) in the same transaction as its REPLICAOF; the client never saw READONLY.
    assert direct.readonly == 0 and direct.disconnected is not None, (direct.errors[:3], len(direct.errors))
    assert len(direct.acked) > 10 and result["clients_disconnected"] >= 1, result
    demotion = ["%s: %s" % (old.address, c) for c in ("MULTI", "REPLICAOF %s %d" % (target.host, target.port),
                                                      "CONFIG REWRITE", "CLIENT KILL TYPE normal",
                                                      "CLIENT KILL TYPE pubsub", "EXEC")]
    start = result["commands"].index(demotion[0])
    assert result["commands"][start:start + len(demotion)] == demotion, result["commands"]
    assert result["new_primary"] == target.address
    assert 0 < result["write_pause_ms"] < 5000
    assert set(_sentinel_views(cluster).values()) == {target.address}
    assert _role(target) == "master" and _role(old) == "slave"
    assert _priority(other) == "100", "replica-priority of the other replica was not restored"
    # no acknowledged write is missing on the new primary
    stored = set(int(x) for x in target.client().lrange("seq", 0, -1))
    lost = [n for n in writer.acked if n not in stored]
    assert len(writer.acked) > 50, "the writer made too little progress to prove anything"
    assert lost == [], "%d acknowledged writes lost: %s" % (len(lost), lost[:20])
    assert writer.acked[-1] > max(n for n in writer.acked if n <= writer.acked[0] + 50), "writer never resumed"

    # repeat: target is the primary -> no change
    again = run_module("sentinel_failover", args)
    assert again["changed"] is False and again["old_primary"] == target.address, again

    # `avoid` the old primary, the way users call it: it is not the primary any more -> no-op
    result = run_ansible("sentinel_failover", dict(sentinels=cluster.sentinel_addresses(), primary_name=cluster.name,
                                                   avoid=old.address))
    assert result.get("failed") is not True, result
    assert result["changed"] is False and result["new_primary"] == target.address, result


def test_avoid_without_target_waits_for_every_replica_and_loses_nothing(cluster, run_module):
    """No target: every replica Sentinel could promote gets the paused primary's whole stream, then Sentinel
    picks one itself; the replicas' priorities are never touched."""
    old = cluster.primary
    args = dict(sentinels=cluster.sentinel_addresses(), primary_name=cluster.name, avoid=old.address,
                zero_loss=True)
    planned = run_module("sentinel_failover", args, check_mode=True)
    assert planned["changed"] is True and planned["method"] == "any_synced_replica", planned
    assert not any("replica-priority" in c for c in planned["commands"]), planned["commands"]
    assert _role(old) == "master"

    writer = Writer(cluster)
    writer.start()
    time.sleep(0.5)
    try:
        result = run_module("sentinel_failover", args)
        time.sleep(0.5)
    finally:
        writer.stop()
    assert result.get("failed") is not True, result
    assert set(result) - {"invocation", "rc", "warnings"} <= RETURN_KEYS
    assert result["changed"] is True and result["method"] == "any_synced_replica", result
    assert sorted(result["synced_replicas"]) == sorted(r.address for r in cluster.replicas)
    assert not any("replica-priority" in c for c in result["commands"]), result["commands"]
    new = cluster.node_at(*result["new_primary"].split(":"))
    assert new in cluster.replicas and _role(new) == "master" and _role(old) == "slave"
    assert set(_sentinel_views(cluster).values()) == {new.address}
    assert 0 < result["write_pause_ms"] < 5000
    assert all(_priority(r) == "100" for r in cluster.replicas)
    stored = set(int(x) for x in new.client().lrange("seq", 0, -1))
    lost = [n for n in writer.acked if n not in stored]
    assert len(writer.acked) > 50, "the writer made too little progress to prove anything"
    assert lost == [], "%d acknowledged writes lost: %s" % (len(lost), lost[:20])

    again = run_module("sentinel_failover", args)
    assert again["changed"] is False, again
    assert "Nothing to do" in again["msg"]


def test_stalled_target_times_out_and_leaves_old_primary_writable(cluster, run_module):
    old, target, other = cluster.primary, cluster.replicas[0], cluster.replicas[1]
    watcher_client = other.client()
    stopped = threading.Event()
    done = threading.Event()

    def stop_target_once_priorities_lowered():
        # SIGSTOP the target once the module has lowered the other replica's priority (its first change):
        # Sentinel then sees the target down and the module has to time out, undo and fail.
        while not done.is_set():
            try:
                if watcher_client.config_get("replica-priority")["replica-priority"] == "0":
                    os.kill(target.pid, signal.SIGSTOP)
                    stopped.set()
                    return
            except redis.RedisError:
                pass
            time.sleep(0.002)

    watcher = threading.Thread(target=stop_target_once_priorities_lowered, daemon=True)
    watcher.start()
    try:
        result = run_module("sentinel_failover", dict(sentinels=cluster.sentinel_addresses(),
                                                      primary_name=cluster.name, target=target.address,
                                                      timeout=5, command_timeout=0.5))
    finally:
        done.set()
        watcher.join(5)
        if stopped.is_set():
            os.kill(target.pid, signal.SIGCONT)
    assert stopped.is_set(), "the module never lowered the other replica's priority: %s" % result
    assert result.get("failed") is True, result
    assert "Timed out" in result["msg"] and target.address in result["msg"], result["msg"]
    assert result["commands"][-1].endswith("CONFIG SET replica-priority 100"), result["commands"]
    assert not any("SENTINEL FAILOVER" in c for c in result["commands"])
    # the old primary is still the primary, unpaused and writable right away
    assert _role(old) == "master"
    assert set(_sentinel_views(cluster).values()) == {old.address}
    client = old.client(socket_timeout=0.5)
    started = time.monotonic()
    assert client.set("after-timeout", "1") is True
    assert time.monotonic() - started < 0.3
    assert _priority(other) == "100"


@pytest.mark.parametrize("replicas", [2, 4])
def test_switchover_with_many_replicas_both_client_kinds_lose_nothing(tmp_path, run_module, replicas):
    """The leader is the last Sentinel, runs with parallel-syncs raised to the number of replicas (restored after),
    and every other replica is pointed at the new primary by the module right after the promotion. Both kinds of
    Sentinel-aware client keep writing through it; none of their acknowledged writes is lost."""
    cluster = Cluster(tmp_path / "cluster", replicas=replicas).start()
    try:
        old, sentinels = cluster.primary, cluster.sentinel_addresses()
        writers = [Writer(cluster), AddrWriter(cluster)]
        for writer in writers:
            writer.start()
        time.sleep(0.5)
        try:
            result = run_module("sentinel_failover", dict(sentinels=sentinels, primary_name=cluster.name,
                                                          avoid=old.address))
            acked_before_end = [len(w.acked) for w in writers]
            time.sleep(0.7)
        finally:
            for writer in writers:
                writer.stop()
        assert result.get("failed") is not True, result
        assert result["changed"] is True, result
        commands = result["commands"]
        assert "%s: SENTINEL FAILOVER %s" % (sentinels[-1], cluster.name) in commands, commands
        raised = [c for c in commands if "parallel-syncs" in c]
        if replicas > 2:
            assert raised == ["%s: SENTINEL SET %s parallel-syncs %d" % (sentinels[-1], cluster.name, replicas),
                              "%s: SENTINEL SET %s parallel-syncs 1" % (sentinels[-1], cluster.name)], raised
        else:
            assert raised == [], raised
        new = cluster.node_at(*result["new_primary"].split(":"))
        others = [r for r in cluster.replicas if r is not new]
        for other in others:
            assert "%s: REPLICAOF %s %d" % (other.address, new.host, new.port) in commands, commands
        assert all(sentinel_state(s.client(), cluster.name)["parallel-syncs"] == "1" for s in cluster.sentinels)
        assert set(_sentinel_views(cluster).values()) == {new.address}

        def followers_up():
            for node in [old] + others:
                info = node.client().info("replication")
                if (info["role"], info.get("master_port"), info.get("master_link_status")) != (
                        "slave", new.port, "up"):
                    return False
            return True
        wait_until(followers_up, timeout=10, what="every other data node to replicate from %s" % new.address)

        stored = {key: set(int(x) for x in new.client().lrange(key, 0, -1)) for key in ("seq", "seq-addr")}
        for writer, before_end in zip(writers, acked_before_end):
            lost = [n for n in writer.acked if n not in stored[writer.key]]
            assert len(writer.acked) > 50, "%s made too little progress to prove anything" % type(writer).__name__
            assert lost == [], "%s: %d acknowledged writes lost: %s" % (type(writer).__name__, len(lost), lost[:20])
            assert len(writer.acked) > before_end, "%s never wrote after the switchover" % type(writer).__name__
    finally:
        cluster.stop()
