# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Redis Cluster judge on views built from CLUSTER NODES texts (what real nodes print). No server."""

from __future__ import annotations

from ansible_collections.ha.redis.plugins.module_utils._cluster_judge import ClusterExpectations, evaluate
from ansible_collections.ha.redis.plugins.module_utils._cluster_model import (
    NodeView,
    parse_cluster_nodes,
    reference_view,
)
from ansible_collections.ha.redis.plugins.module_utils._cluster_ops import open_slot_moves

LINES = {
    "p1": "p1 10.0.0.11:6379@16379 master - 0 0 1 connected 0-5461",
    "p2": "p2 10.0.0.12:6379@16379 master - 0 0 2 connected 5462-10922",
    "p3": "p3 10.0.0.13:6379@16379 master - 0 0 3 connected 10923-16383",
    "r1": "r1 10.0.0.14:6379@16379 slave p2 0 0 2 connected",
    "r2": "r2 10.0.0.15:6379@16379 slave p3 0 0 3 connected",
    "r3": "r3 10.0.0.16:6379@16379 slave p1 0 0 1 connected",
}
HOSTS = {"p1": "a", "p2": "b", "p3": "c", "r1": "a", "r2": "b", "r3": "c"}


def text(me, lines=None):
    lines = dict(lines or LINES)
    out = []
    for name, line in lines.items():
        parts = line.split(" ")
        if name == me:
            parts[2] = "myself," + parts[2]
        out.append(" ".join(parts))
    return "\n".join(out) + "\n"


def view(name, lines=None, state="ok", offset=100, replica_offset=100, link="up", host=None):
    line = (lines or LINES)[name]
    address = line.split()[1].split("@")[0]
    primary = "slave" not in line
    replication = ({"role": "master", "master_repl_offset": offset} if primary else
                   {"role": "slave", "master_link_status": link, "slave_repl_offset": replica_offset})
    return NodeView(address=address, inventory_host=host or HOSTS.get(name, "d"), reachable=True,
                    info={"cluster_state": state, "cluster_known_nodes": str(len(lines or LINES))},
                    nodes=parse_cluster_nodes(text(name, lines)), replication=replication)


def healthy(**overrides):
    return [overrides.get(n) or view(n) for n in LINES]


def checks(views, **expect):
    return sorted({(p.check, p.node) for p in evaluate(views, ClusterExpectations(**expect))["problems"]})


def test_a_healthy_cluster_has_no_problem_and_three_shards():
    outcome = evaluate(healthy(), ClusterExpectations(replicas=1, primaries=3))
    assert outcome["problems"] == []
    assert [(s["primary"], s["replicas"]) for s in outcome["shards"]] == [
        ("10.0.0.11:6379", ["10.0.0.16:6379"]), ("10.0.0.12:6379", ["10.0.0.14:6379"]),
        ("10.0.0.13:6379", ["10.0.0.15:6379"])]


def test_unreachable_node_and_state():
    views = healthy(p3=NodeView(address="10.0.0.13:6379", error="cannot connect"))
    views[0].info["cluster_state"] = "fail"
    found = checks(views)
    assert ("node_unreachable", "10.0.0.13:6379") in found and ("cluster_state", "10.0.0.11:6379") in found
    assert ("slots_not_served", "10.0.0.13:6379") in found


def test_open_slot_and_its_repair_plan():
    lines = dict(LINES, p1=LINES["p1"] + " [77->-p2]", p2=LINES["p2"] + " [77-<-p1]")
    views = [view(n, lines) for n in LINES]
    assert ("slot_open", "10.0.0.11:6379") in checks(views) and ("slot_open", "10.0.0.12:6379") in checks(views)
    assert open_slot_moves(views) == [(77, "p1", "p2")]
    only_importing = [view(n, dict(LINES, p2=LINES["p2"] + " [77-<-p1]")) for n in LINES]
    assert open_slot_moves(only_importing) == [(77, "p1", "p2")]


def test_missing_slots_and_split_slot_map():
    lines = dict(LINES, p1="p1 10.0.0.11:6379@16379 master - 0 0 1 connected 1-5461")
    views = [view(n, lines) for n in LINES]
    problems = evaluate(views, ClusterExpectations())["problems"]
    missing = [p for p in problems if p.check == "slots_unassigned"]
    assert missing and missing[0].seen == 16383 and "(0)" in missing[0].message
    split = healthy(r1=view("r1", lines))
    found = checks(split)
    assert ("slot_map_mismatch", "10.0.0.14:6379") in found
    assert reference_view(split).address == "10.0.0.11:6379"


def test_node_list_mismatch_and_undeclared_member():
    lines = dict(LINES, x="x 10.0.0.99:6379@16379 master - 0 0 9 connected")
    views = healthy(p1=view("p1", lines))
    assert ("node_list_mismatch", "10.0.0.11:6379") in checks(views)
    everyone = [view(n, lines) for n in LINES]
    assert ("node_not_declared", "10.0.0.99:6379") in checks(everyone)


def test_flags_epochs_and_primary_count():
    lines = dict(LINES, p3="p3 10.0.0.13:6379@16379 master,fail? - 0 0 2 connected 10923-16383")
    found = checks([view(n, lines) for n in LINES])
    assert ("node_flags", "10.0.0.13:6379") in found
    assert ("config_epoch_duplicate", "10.0.0.12:6379, 10.0.0.13:6379") in found
    assert ("primary_count", None) in checks(healthy(), primaries=4)


def test_a_new_primary_waiting_for_slots_is_a_note_not_a_fault():
    lines = dict(LINES, p4="p4 10.0.0.17:6379@16379 master - 0 0 4 connected")
    views = [view(n, lines) for n in lines]
    outcome = evaluate(views, ClusterExpectations(replicas=1, primaries=4))
    assert outcome["problems"] == []
    assert outcome["notes"] == ["Primaries 10.0.0.17:6379 hold no slots yet (3 of 4 primaries serve slots): move slots "
                                "to them with ha.redis.cluster_rebalance (site.yml -e redis_cluster_rebalance=true)."]
    assert outcome["report"][-1] == "NOTE: " + outcome["notes"][0]
    assert ("primary_count", None) in checks(views, primaries=5)
    assert evaluate(views, ClusterExpectations(primaries=3))["notes"] == []
    failing = dict(lines, p4="p4 10.0.0.17:6379@16379 master,fail - 0 0 4 connected")
    assert ("primary_count", None) in checks([view(n, failing) for n in failing], primaries=4)


def test_replica_count_same_host_link_and_lag():
    assert ("replica_count", "10.0.0.11:6379") in checks(healthy(), replicas=2)
    same_host = healthy(r3=view("r3", host="a"))
    assert checks(same_host) == [("replica_same_host", "10.0.0.16:6379")]
    assert checks(healthy(r1=view("r1", link="down"))) == [("replica_link_down", "10.0.0.14:6379")]
    lagging = healthy(r1=view("r1", replica_offset=0), p2=view("p2", offset=5000))
    assert checks(lagging, max_lag_bytes=1000) == [("replica_lag_bytes", "10.0.0.14:6379")]
