# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cluster_check and cluster_info against a real six-node Redis Cluster (three hosts a, b, c, two nodes each).

Every failure test breaks the shared cluster in one way, asserts the problem the gate names, and repairs it (the
repair is asserted too, by the cluster passing again) before the next test.
"""

from __future__ import annotations

import importlib
import sys

import pytest
import yaml
from cluster import COLLECTIONS, run_module_direct, wait_until
from redis_cluster_lab import ClusterLab

sys.path.insert(0, str(COLLECTIONS))
cluster_check = importlib.import_module("ansible_collections.ha.redis.plugins.modules.cluster_check")
cluster_info = importlib.import_module("ansible_collections.ha.redis.plugins.modules.cluster_info")

HOSTS = ["a", "a", "b", "b", "c", "c"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("cluster-check")
    c = ClusterLab(workdir, count=6, hosts=HOSTS).start()
    try:
        result = run_module_direct("redis_cluster", dict(nodes=c.declared(), replicas=1), workdir)
        assert result.get("created") and not result.get("failed"), result
        c.wait_ok()
        c.tmp = workdir
        yield c
    finally:
        c.stop()


def check(lab, timeout=0, **args):
    return run_module_direct("cluster_check", dict(dict(nodes=lab.declared(), replicas=1, timeout=timeout), **args),
                             lab.tmp)


def checks(result):
    return {p["check"] for p in result["problems"]}


def by_role(lab):
    """(primaries, replicas) as Node objects, read from the cluster itself."""
    lines = lab.nodes[0].client().execute_command("CLUSTER", "NODES").splitlines()
    primaries = [lab.node_at(line.split()[1].split("@")[0]) for line in lines if "master" in line.split()[2]]
    replicas = [lab.node_at(line.split()[1].split("@")[0]) for line in lines if "slave" in line.split()[2]]
    return primaries, replicas


def owner_of(lab, slot):
    for line in lab.nodes[0].client().execute_command("CLUSTER", "NODES").splitlines():
        parts = line.split()
        for token in parts[8:]:
            if not token.startswith("["):
                start, _sep, end = token.partition("-")
                if int(start) <= slot <= int(end or start):
                    return lab.node_at(parts[1].split("@")[0]), parts[0]
    return None, None


def test_healthy_cluster_passes_with_write_probe(lab):
    result = check(lab, timeout=10, write_probe=True)
    assert not result.get("failed"), result["msg"] if "msg" in result else result
    assert result["changed"] is False and result["problems"] == []
    assert result["probe"] == dict(ok=True, primaries=3, error=None)
    assert sorted(len(s["replicas"]) for s in result["shards"]) == [1, 1, 1]
    assert sum(s["slots"] for s in result["shards"]) == 16384
    assert set(result) - {"invocation", "rc", "changed", "failed"} == set(yaml.safe_load(cluster_check.RETURN))


def test_check_mode_skips_the_probe(lab):
    result = run_module_direct("cluster_check", dict(nodes=lab.declared(), write_probe=True, timeout=5), lab.tmp,
                               check_mode=True)
    assert not result.get("failed") and result["probe"] == dict(skipped=True, reason="check mode")


def test_info_describes_every_node(lab):
    result = run_module_direct("cluster_info", dict(nodes=lab.declared()), lab.tmp)
    assert result["changed"] is False
    assert result["cluster"]["state"] == "ok" and result["cluster"]["agreed"] is True
    assert result["cluster"]["slots_assigned"] == 16384 and result["cluster"]["known_nodes"] == 6
    roles = sorted(n["role"] for n in result["nodes"])
    assert roles == ["primary"] * 3 + ["replica"] * 3
    assert len(result["members"]) == 6 and all(m["link_state"] == "connected" for m in result["members"])
    assert set(result) - {"invocation", "rc", "changed"} == set(yaml.safe_load(cluster_info.RETURN))


def test_replica_on_the_host_of_its_primary(lab):
    primaries, replicas = by_role(lab)
    replica = replicas[0]
    primary_id = [line.split()[3] for line in lab.cluster_nodes(replica).splitlines() if "myself" in line][0]
    primary = next(p for p in primaries if p.client().execute_command("CLUSTER", "MYID") == primary_id)
    declared = lab.declared()
    for entry in declared:
        if entry["port"] == replica.port:
            entry["inventory_host"] = lab.hosts[lab.nodes.index(primary)]
    result = run_module_direct("cluster_check", dict(nodes=declared, timeout=0), lab.tmp)
    assert result["failed"] and checks(result) == {"replica_same_host"}
    problem = result["problems"][0]
    assert problem["node"] == replica.address and problem["seen"] == lab.hosts[lab.nodes.index(primary)]


def test_missing_slots(lab):
    owner, _owner_id = owner_of(lab, 42)
    for node in lab.nodes:
        node.client().execute_command("CLUSTER", "DELSLOTS", 42)
    try:
        result = check(lab)
        assert result["failed"] and "slots_unassigned" in checks(result)
        problem = next(p for p in result["problems"] if p["check"] == "slots_unassigned")
        assert problem["seen"] == 16383 and "42" in problem["message"]
        assert "cluster_state" in checks(result)
    finally:
        owner.client().execute_command("CLUSTER", "ADDSLOTS", 42)
    lab.wait_ok()
    assert not check(lab, timeout=10).get("failed")


def test_open_slot(lab):
    owner, _owner_id = owner_of(lab, 7000)
    primaries, _replicas = by_role(lab)
    other = next(p for p in primaries if p is not owner)
    other_id = other.client().execute_command("CLUSTER", "MYID")
    owner.client().execute_command("CLUSTER", "SETSLOT", 7000, "MIGRATING", other_id)
    try:
        result = check(lab)
        assert result["failed"] and checks(result) == {"slot_open"}
        assert result["problems"][0]["node"] == owner.address and "7000" in result["problems"][0]["message"]
    finally:
        owner.client().execute_command("CLUSTER", "SETSLOT", 7000, "STABLE")
    assert not check(lab, timeout=10).get("failed")


def test_node_list_and_slot_map_split(lab):
    primaries, _replicas = by_role(lab)
    watcher, forgotten = primaries[0], primaries[1]
    forgotten_id = forgotten.client().execute_command("CLUSTER", "MYID")
    # FORGET bans the node from the watcher's table for 60 s: its slots and the node vanish from that view only.
    watcher.client().execute_command("CLUSTER", "FORGET", forgotten_id)
    result = check(lab)
    assert result["failed"]
    found = {(p["check"], p["node"]) for p in result["problems"]}
    assert ("node_list_mismatch", watcher.address) in found and ("slot_map_mismatch", watcher.address) in found
    # The repair: the watcher meets the forgotten node again (MEET lifts the ban).
    watcher.client().execute_command("CLUSTER", "MEET", forgotten.host, forgotten.port)
    lab.wait_ok(timeout=30)
    assert not check(lab, timeout=20).get("failed")


def test_node_down(lab):
    _primaries, replicas = by_role(lab)
    victim = replicas[-1]
    victim.stop()
    try:
        result = check(lab, timeout=4, sleep=0.5)
        assert result["failed"] and result["attempts"] > 1
        found = {(p["check"], p["node"]) for p in result["problems"]}
        assert ("node_unreachable", victim.address) in found
        # Seen as failing by the others once cluster-node-timeout has passed.
        assert ("node_flags", victim.address) in found
        assert "expected it to answer" in result["msg"]
    finally:
        victim.start()
    wait_until(lambda: not check(lab).get("failed"), timeout=30, interval=0.5, what="the replica to rejoin")
