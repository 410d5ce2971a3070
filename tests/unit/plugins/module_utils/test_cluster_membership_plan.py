# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""membership_plan: primary seats, new replicas and replica moves of a running cluster that grows or shrinks;
interrupted_create: which half-made clusters a run resumes."""

from __future__ import annotations

from ansible_collections.ha.redis.plugins.module_utils._cluster_converge import interrupted_create
from ansible_collections.ha.redis.plugins.module_utils._cluster_model import DeclaredNode, NodeView, parse_cluster_nodes
from ansible_collections.ha.redis.plugins.module_utils._cluster_plan import membership_plan, surplus_primaries

# Three hosts with two nodes each: primaries a1, b1, c1, replicas as a new cluster places them.
HOSTS = {"a1": "a", "a2": "a", "b1": "b", "b2": "b", "c1": "c", "c2": "c", "d1": "d", "d2": "d", "e1": "e"}
SERVING = ("a1", "b1", "c1")
REPLICAS = {"a2": "b1", "b2": "c1", "c2": "a1"}


def plan(node_count, serving=SERVING, empty=(), replica_of=None, new=(), replicas=1):
    return membership_plan(node_count, list(serving), list(empty), dict(REPLICAS if replica_of is None else replica_of),
                           list(new), HOSTS, replicas)


def layout(result, replica_of=None):
    """{replica: primary} after the plan."""
    after = dict(REPLICAS if replica_of is None else replica_of)
    after.update(result.moved)
    after.update(result.attached)
    return after


def assert_balanced(result, after, replicas=1):
    for primary in result.primaries:
        mine = [r for r, p in after.items() if p == primary]
        assert len(mine) == replicas, (primary, mine)
        assert all(HOSTS[r] != HOSTS[primary] for r in mine), (primary, mine)


def test_a_balanced_cluster_gives_no_change():
    result = plan(6)
    assert (result.attached, result.moved, result.empty_primaries) == ({}, {}, [])
    assert result.primaries == list(SERVING)


def test_a_cluster_after_failover_gives_no_change():
    # c2 took over from a1, a1 came back as its replica: still balanced, nothing moves back.
    replica_of = {"a2": "b1", "b2": "c1", "a1": "c2"}
    result = plan(6, serving=["c2", "b1", "c1"], replica_of=replica_of)
    assert (result.attached, result.moved) == ({}, {})


def test_a_fourth_host_with_two_nodes_gets_a_primary_seat_and_one_replica_moves():
    result = plan(8, new=["d1", "d2"])
    assert result.primaries == list(SERVING) + ["d1"] and result.empty_primaries == ["d1"]
    after = layout(result)
    assert_balanced(result, after)
    assert len(result.moved) == 1, "one existing replica serves the new primary, no more moves"
    assert result.attached == {"d2": "a1"} and result.moved == {"c2": "d1"}
    assert plan(8, new=["d1", "d2"]) == result, "deterministic"


def test_the_grown_cluster_is_stable_on_the_next_run():
    replica_of = {"a2": "b1", "b2": "c1", "c2": "d1", "d2": "a1"}
    result = plan(8, empty=["d1"], replica_of=replica_of)
    assert (result.attached, result.moved, result.empty_primaries) == ({}, {}, ["d1"])
    # And once slots moved to d1.
    result = plan(8, serving=list(SERVING) + ["d1"], replica_of=replica_of)
    assert (result.attached, result.moved, result.empty_primaries) == ({}, {}, [])


def test_serving_primaries_lacking_replicas_come_before_new_seats():
    # b1 has no replica: the first new node serves it; the second becomes an empty primary seat only if seats lack.
    replica_of = {"a2": "c1", "c2": "a1"}
    result = plan(7, replica_of=replica_of, new=["d1", "e1"])
    assert result.attached["d1"] == "b1"
    assert result.primaries == list(SERVING), "7 nodes give 3 seats"
    assert result.attached["e1"] in SERVING and result.moved == {}


def test_new_nodes_on_two_new_hosts_need_no_move():
    result = plan(8, new=["d1", "e1"])
    assert result.primaries == list(SERVING) + ["d1"]
    assert result.attached == {"e1": "d1"} and result.moved == {}


def test_one_node_more_than_the_seats_becomes_a_second_replica():
    result = plan(7, new=["d1"])
    assert result.primaries == list(SERVING) and result.attached == {"d1": "a1"} and result.empty_primaries == []


def test_a_node_that_fits_nowhere_stays_an_empty_primary():
    hosts_one = {"a1": "a", "a2": "a", "a3": "a"}
    result = membership_plan(3, ["a1"], [], {"a2": "a1"}, ["a3"], hosts_one, 1)
    assert result.attached == {} and result.empty_primaries == ["a3"]


def test_scale_in_rehomes_the_replica_of_a_leaving_node_and_fills_the_primary_that_lost_one():
    # d1 (drained, leaving) still has c2 as its replica; d2 (leaving) was a1's replica.
    replica_of = {"a2": "b1", "b2": "c1", "c2": "d1"}
    result = plan(6, replica_of=replica_of)
    assert result.moved == {"c2": "a1"} and result.attached == {} and result.stranded == []
    assert_balanced(result, layout(result, replica_of))


def test_scale_in_after_redis_moved_the_drained_nodes_replica_to_its_own_host():
    # Redis made c2 follow the node that took d1's last slot, c1 (same host): that one moves, not b2.
    replica_of = {"a2": "b1", "b2": "c1", "c2": "c1"}
    result = plan(6, replica_of=replica_of)
    assert result.moved == {"c2": "a1"}


def test_two_moves_when_no_surplus_replica_may_serve_the_needy_primary_directly():
    # d1 (empty seat) lacks a replica; b1 has two, both on d1's host: a1's replica moves to d1, and one of b1's
    # takes its place (anti-affinity kept at both ends).
    hosts = dict(HOSTS, d3="d")
    replica_of = {"c2": "a1", "a2": "c1", "d2": "b1", "d3": "b1"}
    result = membership_plan(8, list(SERVING), ["d1"], replica_of, [], hosts, 1)
    assert result.moved == {"c2": "d1", "d2": "a1"} and result.attached == {}
    after = dict(replica_of, **result.moved)
    for primary in list(SERVING) + ["d1"]:
        mine = [r for r, p in after.items() if p == primary]
        assert len(mine) == 1 and all(hosts[r] != hosts[primary] for r in mine), (primary, mine)


def test_stranded_orphan_is_reported():
    hosts_one = {"a1": "a", "a2": "a", "x": "b"}
    result = membership_plan(2, ["a1"], [], {"a2": "x"}, [], hosts_one, 1)
    assert result.stranded == ["a2"] and result.moved == {}


def test_replicas_zero_every_node_is_a_seat():
    result = membership_plan(4, ["a1", "b1", "c1"], [], {}, ["d1"], HOSTS, 0)
    assert result.primaries == ["a1", "b1", "c1", "d1"] and result.empty_primaries == ["d1"]


def views_after_addslots(ranges):
    """Six declared nodes on hosts a, a, b, b, c, c, each knowing only itself, with the given own slot ranges."""
    declared = [DeclaredNode("10.0.0.%d:6379" % (11 + i), h) for i, h in enumerate("aabbcc")]
    views = []
    for i, node in enumerate(declared):
        text = "n%d %s@16379 myself,master - 0 0 %d connected %s\n" % (i, node.address, i + 1, ranges.get(i, ""))
        views.append(NodeView(address=node.address, inventory_host=node.inventory_host, reachable=True,
                              nodes=parse_cluster_nodes(text)))
    return declared, views


def test_interrupted_create_is_recognised_only_with_the_planned_slots():
    # The placement puts primaries on 10.0.0.11 (a), .13 (b), .15 (c).
    declared, views = views_after_addslots({0: "0-5461", 2: "5462-10922", 4: "10923-16383"})
    assert interrupted_create(declared, views, 1)
    assert interrupted_create(declared, views_after_addslots({0: "0-5461"})[1], 1), "ADDSLOTS half done"
    assert not interrupted_create(declared, views_after_addslots({})[1], 1), "nothing assigned: a plain create"
    assert not interrupted_create(declared, views_after_addslots({1: "0-5461"})[1], 1), "not a planned primary"
    assert not interrupted_create(declared, views_after_addslots({0: "0-100"})[1], 1), "another range"
    assert not interrupted_create(declared, views, 2), "two replicas each: no plan for six nodes"


def test_a_replica_on_its_primarys_host_is_placed_again_with_the_fewest_moves():
    # c2 followed c1 (same host c), a1 has two: c2 cannot stay, c1 needs one: two moves, no more.
    replica_of = {"a2": "b1", "b2": "a1", "c2": "c1"}
    result = plan(6, replica_of=replica_of)
    assert result.moved == {"c2": "a1", "b2": "c1"}
    assert_balanced(result, layout(result, replica_of))


def test_after_a_drain_the_replicas_that_followed_onto_one_host_are_spread():
    # a1 was drained: Redis made it and its replica d2 replicas of d1, which took a1's last slot.
    replica_of = {"a2": "b1", "b2": "c1", "a1": "d1", "d2": "d1"}
    result = plan(8, serving=["b1", "c1", "d1"], replica_of=replica_of)
    assert result.moved == {"d2": "b1"} and result.attached == {}
    after = layout(result, replica_of)
    assert all(HOSTS[r] != HOSTS[p] for r, p in after.items())


def test_a_misplaced_replica_that_fits_nowhere_else_stays():
    hosts_two = {"a1": "a", "a2": "a", "b1": "b"}
    result = membership_plan(3, ["a1"], [], {"a2": "a1", "b1": "a1"}, [], hosts_two, 2)
    assert (result.moved, result.stranded) == ({}, [])


def test_surplus_primaries_empty_first_then_crowded_host_then_fewest_slots():
    candidates = [("a1", "h1", 4096, 0), ("b", "h2", 4096, 1), ("c", "h3", 4096, 2), ("a2", "h1", 4000, 3)]
    assert surplus_primaries(candidates, 4) == []
    assert surplus_primaries(candidates, 3) == ["a2"]  # h1 holds two: its primary with fewer slots
    assert surplus_primaries(candidates + [("e", "h4", 0, 4)], 4) == ["e"]  # an empty one loses nothing
    assert surplus_primaries(candidates, 2) == ["a2", "c"]  # then one host each, same slots: the last declared
    assert surplus_primaries([("x", "h1", 10, 0), ("y", "h2", 10, 1)], 1) == ["y"]
