# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""redis_cluster against real ``redis-server --cluster-enabled yes`` processes: create, re-run, failover, new
nodes, and bad input rejected before any node changes."""

from __future__ import annotations

import importlib
import sys

import pytest
import yaml
from cluster import COLLECTIONS, run_module_direct, wait_until
from redis_cluster_lab import ClusterLab

sys.path.insert(0, str(COLLECTIONS))
redis_cluster = importlib.import_module("ansible_collections.ha.redis.plugins.modules.redis_cluster")


@pytest.fixture
def lab(tmp_path):
    c = ClusterLab(tmp_path / "lab", count=6, hosts=["a", "a", "b", "b", "c", "c"]).start()
    c.tmp = tmp_path
    try:
        yield c
    finally:
        c.stop()


def run(lab, check_mode=False, nodes=None, **args):
    return run_module_direct("redis_cluster", dict(dict(nodes=nodes or lab.declared(), replicas=1,
                                                        _ansible_diff=True), **args), lab.tmp, check_mode=check_mode)


def known(node):
    return len(node.client().execute_command("CLUSTER", "NODES").splitlines())


def roles(lab):
    """{address: primary address or None} read from the cluster."""
    lines = [line.split() for line in lab.nodes[0].client().execute_command("CLUSTER", "NODES").splitlines()]
    by_id = {p[0]: p[1].split("@")[0] for p in lines}
    return {p[1].split("@")[0]: by_id.get(p[3]) for p in lines}


def test_create_check_mode_then_create_then_no_change_then_failover(lab):
    preview = run(lab, check_mode=True)
    assert preview["changed"] and preview["created"] and not preview.get("failed"), preview
    assert all(known(n) == 1 for n in lab.nodes), "check mode must not touch a node"
    assert preview["diff"]["before"] == {n.address: "not joined" for n in lab.nodes}

    created = run(lab)
    assert created["changed"] and created["created"], created
    assert created["commands"] == preview["commands"][:len(created["commands"])]
    assert sorted(created["primaries"].values()) == [[0, 5461], [5462, 10922], [10923, 16383]]
    assert set(created) - {"invocation", "rc", "changed", "diff"} == set(yaml.safe_load(redis_cluster.RETURN))
    lab.wait_ok()
    hosts = {n.address: lab.hosts[i] for i, n in enumerate(lab.nodes)}
    mapping = roles(lab)
    replicas = {r: p for r, p in mapping.items() if p}
    assert replicas == created["replicas_attached"] and len(replicas) == 3
    assert all(hosts[r] != hosts[p] for r, p in replicas.items()), "anti-affinity"
    check = run_module_direct("cluster_check", dict(nodes=lab.declared(), replicas=1, timeout=15), lab.tmp)
    assert not check.get("failed"), check.get("msg")

    again = run(lab)
    assert again["changed"] is False and again["commands"] == [] and again["rebalance_needed"] is False
    assert again["diff"]["before"] == again["diff"]["after"]

    # A failover swaps roles: the module accepts the new roles and moves nothing back.
    replica = lab.node_at(sorted(replicas)[0])
    replica.client().execute_command("CLUSTER", "FAILOVER")
    wait_until(lambda: roles(lab)[replica.address] is None, timeout=20, what="the failover")
    lab.wait_ok()
    after = run(lab)
    assert after["changed"] is False and after["commands"] == [], after
    assert roles(lab)[replica.address] is None


def test_new_nodes_become_replicas_then_empty_primaries(lab):
    assert run(lab, replicas=0, nodes=lab.declared(lab.nodes[:3]))["created"]
    lab.wait_ok(nodes=lab.nodes[:3])
    # Three new nodes: each primary lacks one replica; the new nodes are placed on another host than their primary.
    preview = run(lab, replicas=1, check_mode=True)
    assert preview["changed"] and sorted(preview["met"]) == sorted(n.address for n in lab.nodes[3:])
    assert len(preview["replicas_attached"]) == 3
    assert all(known(n) == 1 for n in lab.nodes[3:]), "check mode must not meet anyone"
    assert preview["diff"]["after"] != preview["diff"]["before"]
    result = run(lab, replicas=1)
    assert result["replicas_attached"] == preview["replicas_attached"]
    assert result["changed"] and not result.get("failed"), result
    assert sorted(result["met"]) == sorted(n.address for n in lab.nodes[3:])
    assert len(result["replicas_attached"]) == 3 and result["rebalance_needed"] is False
    hosts = {n.address: lab.hosts[i] for i, n in enumerate(lab.nodes)}
    assert all(hosts[r] != hosts[p] for r, p in result["replicas_attached"].items())
    lab.wait_ok()
    assert {r: p for r, p in roles(lab).items() if p} == result["replicas_attached"]
    # One more node: seven nodes give three primary seats, so it becomes a second replica (on another host).
    extra = lab.add_node("d")
    grown = run(lab, replicas=1)
    assert grown["met"] == [extra.address] and list(grown["replicas_attached"]) == [extra.address], grown
    assert grown["replicas_moved"] == {} and grown["rebalance_needed"] is False
    lab.wait_ok()
    # An eighth node: a fourth seat. It becomes an empty primary and the second replica of one primary (not the
    # node on its own host) moves to serve it.
    eighth = lab.add_node("d")
    grown = run(lab, replicas=1)
    assert grown["empty_primaries"] == [eighth.address] and grown["rebalance_needed"] is True, grown
    assert grown["replicas_attached"] == {} and list(grown["replicas_moved"].values()) == [eighth.address]
    assert extra.address not in grown["replicas_moved"]
    lab.wait_ok()
    mapping = roles(lab)
    assert sorted(p for p in mapping.values() if p) == sorted(a for a, p in mapping.items() if p is None)
    assert all(hosts.get(r, "d") != hosts.get(p, "d") for r, p in mapping.items() if p)
    again = run(lab, replicas=1)
    assert again["changed"] is False and again["rebalance_needed"] is True


@pytest.mark.parametrize("case", ["two_primaries", "anti_affinity", "other_cluster"])
def test_bad_input_is_rejected_before_any_change(lab, case):
    if case == "two_primaries":
        nodes, replicas, words = lab.declared(lab.nodes[:4]), 1, "expected at least 3"
    elif case == "anti_affinity":
        lab.hosts = ["a", "a", "a", "a", "a", "b"]
        nodes, replicas, words = lab.declared(), 1, "anti-affinity"
    else:
        assert run(lab, replicas=0, nodes=lab.declared(lab.nodes[:3]))["created"]
        lab.wait_ok(nodes=lab.nodes[:3])
        nodes, replicas, words = lab.declared([lab.nodes[0]] + lab.nodes[3:]), 0, "another cluster"
    before = {n.address: known(n) for n in lab.nodes}
    result = run(lab, nodes=nodes, replicas=replicas)
    assert result.get("failed") and words in result["msg"], result
    assert result.get("commands") is None
    assert {n.address: known(n) for n in lab.nodes} == before


def send_planned(lab, commands, words):
    """Send, as an interrupted create would have, the planned commands that contain ``words``."""
    for line in commands:
        address, command = line.split(": ", 1)
        if words in command:
            lab.node_at(address).client().execute_command(*command.split())


@pytest.mark.parametrize("case", ["slots_assigned", "meet_half_done", "other_layout"])
def test_an_interrupted_create_is_resumed_when_its_slots_match_the_plan(lab, case):
    preview = run(lab, check_mode=True)
    send_planned(lab, preview["commands"], "SET-CONFIG-EPOCH")
    if case == "other_layout":
        # Slots a different plan gave: not this module's create, so not resumed.
        lab.nodes[1].client().execute_command("CLUSTER", "ADDSLOTSRANGE", 0, 100)
    else:
        send_planned(lab, preview["commands"], "ADDSLOTSRANGE")
    if case == "meet_half_done":
        lab.nodes[0].client().execute_command("CLUSTER", "MEET", lab.nodes[1].host, lab.nodes[1].port)
        wait_until(lambda: known(lab.nodes[1]) == 2, timeout=10, what="the first meet")
    before = {n.address: known(n) for n in lab.nodes}
    result = run(lab, timeout=3)
    if case == "other_layout":
        # Refused as before this resume existed: a cluster of one member that never settles.
        assert result.get("failed") and "settled cluster" in result["msg"] and result.get("commands") is None, result
        assert {n.address: known(n) for n in lab.nodes} == before
        return
    assert result["created"] and not result.get("failed"), result
    assert not any("ADDSLOTSRANGE" in c or "SET-CONFIG-EPOCH" in c for c in result["commands"]), "done already"
    assert result["primaries"] == preview["primaries"] and result["replicas_attached"] == preview["replicas_attached"]
    lab.wait_ok()
    check = run_module_direct("cluster_check", dict(nodes=lab.declared(), replicas=1, timeout=15), lab.tmp)
    assert not check.get("failed"), check.get("msg")
    again = run(lab)
    assert again["changed"] is False and again["commands"] == [], again
