# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ha.redis.sentinel_failover against a real primary, two replicas and three Sentinels."""

from __future__ import annotations

import os
import signal
import threading
import time

import redis
from redis.sentinel import Sentinel

RETURN_KEYS = {"changed", "old_primary", "new_primary", "elapsed", "write_pause_ms", "commands", "views", "msg",
               "method", "synced_replicas", "info_cycle_wait"}


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
    writer.start()
    time.sleep(0.5)
    try:
        result = run_module("sentinel_failover", args)
        time.sleep(0.5)
    finally:
        writer.stop()
    assert result.get("failed") is not True, result
    assert result["changed"] is True
    assert set(result) - {"invocation", "rc", "warnings"} <= RETURN_KEYS
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
