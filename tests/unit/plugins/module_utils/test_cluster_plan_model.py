# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redis Cluster pure functions: CLUSTER NODES parsing, placement, replica attachment, rebalance plans."""

from __future__ import annotations

import pytest
from ansible_collections.ha.redis.plugins.module_utils._cluster_converge import steps
from ansible_collections.ha.redis.plugins.module_utils._cluster_model import (
    DeclaredNode,
    declared_nodes,
    parse_cluster_nodes,
    parse_info_text,
    ranges_to_slots,
    slots_to_ranges,
)
from ansible_collections.ha.redis.plugins.module_utils._cluster_plan import (
    attach_replicas,
    even_ranges,
    interleave_by_host,
    placement,
    rebalance_moves,
    shares,
)
from ansible_collections.ha.redis.plugins.module_utils._connection import HaRedisError

NODES_TEXT = (
    "aaa 10.0.0.11:6379@16379,redis-1 myself,master - 0 0 1 connected 0-5460 [5461->-bbb]\n"
    "bbb 10.0.0.12:6379@16379 master - 0 1700000000 2 connected 5461-10922 [93-<-ccc]\n"
    "ccc 10.0.0.13:6379@16379 master,fail? - 1 1700000000 3 disconnected 10923-16383\n"
    "ddd 10.0.0.14:6379@16379 slave aaa 0 1700000000 1 connected\n"
)


def nodes(*hosts):
    return [DeclaredNode("10.0.0.%d:6379" % (11 + i), h) for i, h in enumerate(hosts)]


def test_parse_cluster_nodes_reads_roles_slots_and_open_slots():
    entries = parse_cluster_nodes(NODES_TEXT)
    a, b, c, d = entries
    assert a.myself and a.is_primary and a.slots == ((0, 5460),) and a.migrating == {5461: "bbb"}
    assert a.address == "10.0.0.11:6379" and a.config_epoch == 1
    assert b.importing == {93: "ccc"} and b.slot_count() == 5462
    assert c.flags == ("master", "fail?") and c.link_state == "disconnected"
    assert d.primary_id == "aaa" and not d.is_primary and d.slots == ()


def test_parse_cluster_nodes_fills_in_an_unknown_own_address():
    [me] = parse_cluster_nodes("abc :7000@17000 myself,master - 0 0 0 connected\n", myself_address="127.0.0.1:7000")
    assert me.address == "127.0.0.1:7000"


def test_parse_info_and_ranges():
    assert parse_info_text("cluster_state:ok\r\ncluster_known_nodes:6\r\n")["cluster_known_nodes"] == "6"
    assert slots_to_ranges([5, 1, 2, 3, 9]) == [(1, 3), (5, 5), (9, 9)]
    assert ranges_to_slots([(1, 3), (9, 9)]) == [1, 2, 3, 9]


def test_declared_nodes_formats_and_errors():
    result = declared_nodes(["10.0.0.1:7000", {"host": "10.0.0.2", "inventory_host": "redis-2"}])
    assert result == [DeclaredNode("10.0.0.1:7000", "10.0.0.1"), DeclaredNode("10.0.0.2:6379", "redis-2")]
    with pytest.raises(HaRedisError, match="twice"):
        declared_nodes(["10.0.0.1:7000", {"host": "10.0.0.1", "port": 7000}])
    with pytest.raises(HaRedisError, match="expected only host, port and inventory_host"):
        declared_nodes([{"host": "10.0.0.1", "role": "primary"}])
    with pytest.raises(HaRedisError, match="empty"):
        declared_nodes([])


def test_even_ranges_cover_every_slot_once():
    ranges = even_ranges(3)
    assert ranges == [(0, 5461), (5462, 10922), (10923, 16383)]
    assert ranges_to_slots(even_ranges(7)) == list(range(16384))


def test_placement_spreads_primaries_over_hosts_and_keeps_replicas_off_them():
    plan = placement(nodes("a", "a", "b", "b", "c", "c"), 1)
    host = {n.address: n.inventory_host for n in nodes("a", "a", "b", "b", "c", "c")}
    assert [host[p] for p in plan.primaries] == ["a", "b", "c"]
    assert len(plan.replicas) == 3 and all(host[r] != host[p] for r, p in plan.replicas.items())
    assert sorted(plan.replicas.values()) == sorted(plan.primaries)
    assert placement(nodes("a", "a", "b", "b", "c", "c"), 1) == plan, "deterministic"


def test_placement_needs_matching_when_greedy_would_fail():
    # Three primaries on a, b, c; replicas on a, a, b: the b replica must go to a's primary... a matching exists.
    plan = placement(nodes("a", "b", "c", "a", "a", "b"), 1)
    host = {n.address: n.inventory_host for n in nodes("a", "b", "c", "a", "a", "b")}
    assert all(host[r] != host[p] for r, p in plan.replicas.items())


@pytest.mark.parametrize("hosts, replicas, words", [
    (("a", "b", "c", "d"), 1, "expected at least 3"),
    (("a", "b", "c", "d", "e"), 1, "multiple of replicas"),
    (("a", "a", "a", "a", "a", "b"), 1, "anti-affinity"),
    (("a", "b"), 0, "expected at least 3"),
])
def test_placement_rejects_bad_input(hosts, replicas, words):
    with pytest.raises(HaRedisError, match=words):
        placement(nodes(*hosts), replicas)


def test_interleave_by_host_is_round_robin():
    ordered = interleave_by_host(nodes("a", "a", "b", "c", "c"))
    assert [n.inventory_host for n in ordered] == ["a", "b", "c", "a", "c"]


def test_attach_replicas_fills_the_neediest_primary_on_another_host():
    hosts = {"p1": "a", "p2": "b", "p3": "c", "n1": "a", "n2": "b", "n3": "a"}
    result = attach_replicas(["n1", "n2", "n3"], ["p1", "p2", "p3"], {"p1": 0, "p2": 1, "p3": 0}, hosts, 1)
    assert result == {"n1": "p3", "n2": "p1"}  # n3 (host a) fits nowhere: p1 is on a and p2, p3 are full


def test_shares_and_rebalance_moves():
    assert shares(["x", "y", "z"], set()) == {"x": 5462, "y": 5461, "z": 5461}
    assert shares(["x", "y"], {"y"}) == {"x": 16384, "y": 0}
    owned = {"x": list(range(0, 8192)), "y": list(range(8192, 16384)), "z": []}
    moves = rebalance_moves(owned)
    assert len(moves) == 5461 and {t for _s, _src, t in moves} == {"z"}
    assert moves[0] == (8191, "x", "z"), "a source gives its highest slots first"
    assert sum(1 for _s, src, _t in moves if src == "x") == 8192 - 5462
    assert rebalance_moves(owned) == moves, "deterministic"


def test_rebalance_threshold_and_drain():
    owned = {"x": list(range(0, 5470)), "y": list(range(5470, 10925)), "z": list(range(10925, 16384))}
    assert rebalance_moves(owned, threshold=2) == []
    assert len(rebalance_moves(owned, threshold=0)) == 8
    drained = rebalance_moves(owned, drain={"z"}, threshold=50)
    assert {src for _s, src, _t in drained} == {"z"} and len(drained) == 5459
    with pytest.raises(HaRedisError, match="at least one"):
        rebalance_moves({"x": [1]}, drain={"x"})


def test_rebalance_never_takes_slots_from_a_primary_at_or_below_its_share():
    owned = {"x": list(range(0, 6000)), "y": list(range(6000, 11000)), "z": list(range(11000, 16384))}
    moves = rebalance_moves(owned)
    assert {src for _s, src, _t in moves} == {"x"}


def test_weights_shift_the_shares():
    assert shares(["x", "y"], set(), {"x": 3.0}) == {"x": 12288, "y": 4096}


def test_steps_group_slots_and_move_the_first_slot_to_a_new_primary_alone():
    moves = [(s, "x", "z") for s in range(100, 60, -1)] + [(s, "y", "z") for s in range(200, 195, -1)]
    grouped = steps(moves, owning=["x", "y"], size=16)
    assert grouped[0] == ([100], "x", "z"), "z owns nothing yet: its first slot moves alone"
    assert [len(g[0]) for g in grouped] == [1, 16, 16, 7, 5]
    assert [s for g in grouped for s in g[0]] == [m[0] for m in moves]
    assert steps(moves, owning=["x", "y", "z"], size=16)[0][0] == list(range(100, 84, -1))
