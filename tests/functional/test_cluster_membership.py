# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""redis_cluster scale out and scale in against real ``redis-server --cluster-enabled yes`` processes: a fourth
inventory host joins (one new empty primary, a replica moves to serve it, every replica off its primary's host),
slots are spread, the host is drained and forgotten (the nodes it ran do not come back through gossip), a node
that serves slots is refused, a killed node is forgotten, check mode sends nothing."""

from __future__ import annotations

import time

import pytest
from cluster import run_module_direct
from redis_cluster_lab import NODE_TIMEOUT_MS, ClusterLab

HOSTS = ["a", "a", "b", "b", "c", "c"]


@pytest.fixture
def lab(tmp_path):
    c = ClusterLab(tmp_path / "lab", count=6, hosts=HOSTS).start()
    c.tmp = tmp_path
    try:
        created = run_module_direct("redis_cluster", dict(nodes=c.declared(), replicas=1), tmp_path)
        assert created["created"] and not created.get("failed"), created
        c.wait_ok()
        yield c
    finally:
        c.stop()


def run(lab, nodes, check_mode=False, **args):
    return run_module_direct("redis_cluster", dict(dict(nodes=lab.declared(nodes), replicas=1, _ansible_diff=True),
                                                   **args), lab.tmp, check_mode=check_mode)


def lines(node):
    return [line.split() for line in node.client().execute_command("CLUSTER", "NODES").splitlines()]


def layout(lab, node):
    """({primary address: slot count}, {replica address: primary address}) as ``node`` sees the cluster."""
    parts = lines(node)
    by_id = {p[0]: p[1].split("@")[0] for p in parts}
    primaries = {p[1].split("@")[0]: sum(int(r.partition("-")[2] or r) - int(r.partition("-")[0]) + 1
                                         for r in p[8:] if not r.startswith("["))
                 for p in parts if "master" in p[2]}
    replicas = {p[1].split("@")[0]: by_id[p[3]] for p in parts if "slave" in p[2]}
    return primaries, replicas


def assert_placed(lab, staying, primaries_expected):
    hosts = {n.address: lab.hosts[i] for i, n in enumerate(lab.nodes)}
    primaries, replicas = layout(lab, staying[0])
    assert len(primaries) == primaries_expected, primaries
    for primary in primaries:
        mine = [r for r, p in replicas.items() if p == primary]
        assert len(mine) == 1, "primary %s has replicas %s, expected 1" % (primary, mine)
        assert hosts[mine[0]] != hosts[primary], "replica %s on the host of its primary %s" % (mine[0], primary)
    return primaries, replicas


def check(lab, nodes, primaries):
    result = run_module_direct("cluster_check", dict(nodes=lab.declared(nodes), replicas=1, primaries=primaries,
                                                     timeout=20), lab.tmp)
    assert not result.get("failed"), (result.get("msg"), result.get("problems"))


def listed(lab, nodes, addresses):
    """The (node, address) pairs where a node of ``nodes`` lists one of ``addresses``."""
    return [(n.address, p[1].split("@")[0]) for n in nodes for p in lines(n)
            if p[1].split("@")[0] in addresses and "myself" not in p[2]]


def test_a_fourth_host_joins_then_is_drained_and_forgotten(lab):
    old = list(lab.nodes)
    d1, d2 = lab.add_node("d"), lab.add_node("d")
    before = {n.address: len(lines(n)) for n in lab.nodes}
    preview = run(lab, lab.nodes, check_mode=True)
    assert preview["changed"] and sorted(preview["met"]) == sorted([d1.address, d2.address]), preview
    assert {n.address: len(lines(n)) for n in lab.nodes} == before, "check mode must not send anything"

    grown = run(lab, lab.nodes)
    assert grown["changed"] and not grown.get("failed"), grown
    assert (grown["replicas_attached"], grown["replicas_moved"]) == (preview["replicas_attached"],
                                                                     preview["replicas_moved"])
    assert grown["empty_primaries"] == [d1.address] and grown["rebalance_needed"] is True
    assert list(grown["replicas_attached"]) == [d2.address] and len(grown["replicas_moved"]) == 1
    assert list(grown["replicas_moved"].values()) == [d1.address]
    assert grown["forgotten"] == []
    lab.wait_ok()
    primaries, _replicas = assert_placed(lab, lab.nodes, 4)
    assert primaries[d1.address] == 0
    assert grown["diff"]["after"][d1.address] == "primary (0 slots)"
    again = run(lab, lab.nodes)
    assert again["changed"] is False and again["commands"] == [] and again["rebalance_needed"] is True, again

    spread = run_module_direct("cluster_rebalance", dict(nodes=lab.declared()), lab.tmp)
    assert spread["changed"] and not spread.get("failed"), spread.get("msg")
    lab.wait_ok()
    check(lab, lab.nodes, 4)
    assert min(layout(lab, old[0])[0].values()) >= 4096
    settled = run(lab, lab.nodes)
    assert settled["changed"] is False and settled["rebalance_needed"] is False, settled

    # Scale in: drain the fourth host, then forget its nodes.
    drained = run_module_direct("cluster_rebalance", dict(nodes=lab.declared(), drain=[d1.address, d2.address]),
                                lab.tmp)
    assert drained["changed"] and not drained.get("failed"), drained.get("msg")
    lab.wait_ok()
    leaving = [d1.address, d2.address]
    before = {n.address: len(lines(n)) for n in lab.nodes}
    preview = run(lab, old, check_mode=True, forget=leaving)
    assert preview["changed"] and sorted(preview["forgotten"]) == sorted(leaving), preview
    assert any("CLUSTER FORGET" in c for c in preview["commands"])
    assert preview["diff"]["after"][d1.address] == "not a member"
    assert {n.address: len(lines(n)) for n in lab.nodes} == before, "check mode must not send anything"

    shrunk = run(lab, old, forget=leaving)
    assert shrunk["changed"] and not shrunk.get("failed"), shrunk
    assert sorted(shrunk["forgotten"]) == sorted(leaving) and shrunk["commands"] == preview["commands"]
    assert listed(lab, old, leaving) == []
    assert [len(lines(d)) for d in (d1, d2)] == [1, 1], "a forgotten node that still runs knows nobody"
    lab.wait_ok(nodes=old)
    assert_placed(lab, old, 3)
    check(lab, old, 3)
    again = run(lab, old, forget=leaving)
    assert again["changed"] is False and again["forgotten"] == [] and again["commands"] == [], again
    # The forgotten nodes still run; after several gossip periods (and CLUSTER FORGET's ban) nobody lists them.
    time.sleep(4 * NODE_TIMEOUT_MS / 1000.0)
    assert listed(lab, old, leaving) == [] and [len(lines(d)) for d in (d1, d2)] == [1, 1]
    check(lab, old, 3)


def test_forget_of_a_node_serving_slots_is_refused_before_any_change(lab):
    primaries, _replicas = layout(lab, lab.nodes[0])
    serving = next(n for n in lab.nodes if n.address in primaries)
    staying = [n for n in lab.nodes if n is not serving]
    before = {n.address: len(lines(n)) for n in lab.nodes}
    result = run(lab, staying, forget=[serving.address])
    assert result.get("failed") and result.get("commands") is None, result
    msg = result["msg"]
    assert serving.address in msg and "%d slots" % primaries[serving.address] in msg and "drain" in msg, msg
    assert {n.address: len(lines(n)) for n in lab.nodes} == before
    both = run(lab, lab.nodes, forget=[serving.address])
    assert both.get("failed") and "in option nodes and in option forget" in both["msg"], both


def test_a_killed_node_is_forgotten(lab):
    old = list(lab.nodes)
    extra = lab.add_node("d")
    joined = run(lab, lab.nodes)
    assert joined["met"] == [extra.address] and list(joined["replicas_attached"]) == [extra.address], joined
    assert joined["empty_primaries"] == [], "seven nodes give three primary seats: the seventh is a replica"
    lab.wait_ok()
    extra.kill()
    result = run(lab, old, forget=[extra.address])
    assert result["changed"] and result["forgotten"] == [extra.address] and not result.get("failed"), result
    assert all(extra.address not in c.split(": ", 1)[0] for c in result["commands"]), "the dead node is not asked"
    assert listed(lab, old, [extra.address]) == []
    lab.wait_ok(nodes=old)
    assert_placed(lab, old, 3)
    check(lab, old, 3)
    again = run(lab, old, forget=[extra.address])
    assert again["changed"] is False and again["forgotten"] == [], again


def test_a_host_that_joined_and_got_no_slots_leaves_again(lab):
    # The EXAMPLES flow: grow by a fourth host, drain it (its empty primary gets no slots: nothing moves), forget.
    old = list(lab.nodes)
    d1, d2 = lab.add_node("d"), lab.add_node("d")
    grown = run(lab, lab.nodes)
    assert grown["empty_primaries"] == [d1.address], grown
    lab.wait_ok()
    drained = run_module_direct("cluster_rebalance", dict(nodes=lab.declared(), drain=[d1.address, d2.address]),
                                lab.tmp)
    assert drained["changed"] is False and drained["slots_moved"] == 0, drained
    shrunk = run(lab, old, forget=[d1.address, d2.address])
    assert sorted(shrunk["forgotten"]) == sorted([d1.address, d2.address]) and not shrunk.get("failed"), shrunk
    # The replica that had moved to d1 comes back to a staying primary.
    assert list(shrunk["replicas_moved"]) == list(grown["replicas_moved"])
    lab.wait_ok(nodes=old)
    assert_placed(lab, old, 3)
    check(lab, old, 3)


def test_forgotten_nodes_stay_out_after_the_forget_ban_expires(lab):
    # CLUSTER FORGET bans an id for 60 s only: after that, any node still knowing the id could gossip it back.
    # Three nodes leave: two that answer (reset, they know nobody) and a killed one that comes back afterwards
    # with its old nodes.conf (it still believes it is a member). None is listed again after the ban.
    old = list(lab.nodes)
    d1, d2, e1 = lab.add_node("d"), lab.add_node("d"), lab.add_node("e")
    grown = run(lab, lab.nodes)
    assert grown["empty_primaries"] == [d1.address] and not grown.get("failed"), grown
    lab.wait_ok()
    e1.kill()
    leaving = [d1.address, d2.address, e1.address]
    shrunk = run(lab, old, forget=leaving)
    assert sorted(shrunk["forgotten"]) == sorted(leaving) and not shrunk.get("failed"), shrunk
    e1.start()
    assert len(lines(e1)) == 9, "the restarted node kept its old view"
    deadline = time.monotonic() + 62
    while time.monotonic() < deadline:
        assert listed(lab, old, leaving) == [], "a forgotten node is listed again"
        time.sleep(2)
    assert listed(lab, old, leaving) == [] and [len(lines(d)) for d in (d1, d2)] == [1, 1]
    check(lab, old, 3)


def test_retiring_a_host_whose_primaries_failed_over_empties_a_surplus_primary(lab):
    """After a rolling upgrade every primary may sit on the staying hosts: 4 primaries for 6 staying nodes (3
    seats). cluster_rebalance with primaries=3 empties one (on the host holding two), then forget leaves 3
    primaries with a replica each, off their hosts."""
    d1, d2 = lab.add_node("d"), lab.add_node("d")
    assert not run(lab, lab.nodes).get("failed")
    lab.wait_ok()
    assert not run_module_direct("cluster_rebalance", dict(nodes=lab.declared()), lab.tmp).get("failed")
    lab.wait_ok()
    moved = run_module_direct("cluster_failover", dict(nodes=lab.declared(), away_from=["d"]), lab.tmp)
    assert not moved.get("failed"), moved.get("msg")
    lab.wait_ok()
    staying = [n for n in lab.nodes if n not in (d1, d2)]
    primaries, _replicas = layout(lab, staying[0])
    assert len(primaries) == 4 and d1.address not in primaries and d2.address not in primaries, primaries

    emptied = run_module_direct("cluster_rebalance", dict(nodes=lab.declared(), drain=[d1.address, d2.address],
                                                          primaries=3), lab.tmp)
    assert emptied["changed"] and not emptied.get("failed"), emptied.get("msg")
    hosts = {n.address: lab.hosts[i] for i, n in enumerate(lab.nodes)}
    assert len(emptied["surplus"]) == 1
    assert [hosts[a] for a in primaries].count(hosts[emptied["surplus"][0]]) == 2, (emptied["surplus"], primaries)
    lab.wait_ok()
    again = run_module_direct("cluster_rebalance", dict(nodes=lab.declared(), drain=[d1.address, d2.address],
                                                        primaries=3), lab.tmp)
    assert again["changed"] is False and again["surplus"] == [], again

    gone = run(lab, staying, forget=[d1.address, d2.address])
    assert gone["changed"] and not gone.get("failed"), gone.get("msg")
    lab.wait_ok(nodes=staying)
    assert_placed(lab, staying, 3)
    check(lab, staying, 3)
