# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cluster_failover's pure choices: away hosts, the replica that takes over, refusals, the done condition."""

from __future__ import annotations

import pytest
from ansible_collections.ha.redis.plugins.module_utils._cluster_failover import (
    Step,
    away_addresses,
    choose_replica,
    failover_problems,
    plan_failovers,
    predicted_membership,
    replica_candidates,
    resend_delay,
    should_resend,
)
from ansible_collections.ha.redis.plugins.module_utils._cluster_model import (
    DeclaredNode,
    NodeView,
    parse_cluster_nodes,
    reference_view,
)
from ansible_collections.ha.redis.plugins.module_utils._connection import HaRedisError

# Three primaries (p1 on host a, p2 on b, p3 on c); p1 has two replicas (r1a on b, r1b on c), p2 one on a (r2),
# p3 one on a (r3). Lines: id, address, flags, primary, ..., slots.
LINES = (
    ("p1", "10.0.0.11:6379", "master", "-", "0-5460"),
    ("p2", "10.0.0.12:6379", "master", "-", "5461-10922"),
    ("p3", "10.0.0.13:6379", "master", "-", "10923-16383"),
    ("r1a", "10.0.0.14:6379", "slave", "p1", ""),
    ("r1b", "10.0.0.15:6379", "slave", "p1", ""),
    ("r2", "10.0.0.16:6379", "slave", "p2", ""),
    ("r3", "10.0.0.17:6379", "slave", "p3", ""),
)
HOSTS = {"p1": "a", "p2": "b", "p3": "c", "r1a": "b", "r1b": "c", "r2": "a", "r3": "a"}
DECLARED = [DeclaredNode(address, HOSTS[node_id]) for node_id, address, _f, _p, _s in LINES]


def nodes_text(myself, lines=LINES, flags=None):
    flags = flags or {}
    out = []
    for node_id, address, role, primary, slots in lines:
        mark = ",".join(["myself"] * (node_id == myself) + [role] + flags.get(node_id, []))
        out.append("%s %s@16379 %s %s 0 0 1 connected %s" % (node_id, address, mark, primary, slots))
    return "\n".join(out) + "\n"


def views(offsets=None, links=None, down=(), flags=None, lines=LINES, state="ok"):
    """One NodeView per node; ``offsets``/``links`` per replica id, ``down`` ids that do not answer."""
    offsets, links = offsets or {}, links or {}
    result = []
    for node_id, address, role, _primary, _slots in lines:
        view = NodeView(address=address, inventory_host=HOSTS[node_id])
        if node_id not in down:
            view.reachable = True
            view.info = {"cluster_state": state}
            view.nodes = parse_cluster_nodes(nodes_text(node_id, lines, flags))
            if role == "slave":
                view.replication = {"role": "slave", "master_link_status": links.get(node_id, "up"),
                                    "slave_repl_offset": offsets.get(node_id, 1000)}
            else:
                view.replication = {"role": "master", "master_repl_offset": 1000}
        else:
            view.error = "Connection refused"
        result.append(view)
    return result


def test_away_from_takes_inventory_hosts_and_addresses_and_refuses_unknown_names():
    assert away_addresses(["a"], DECLARED) == {"10.0.0.11:6379", "10.0.0.16:6379", "10.0.0.17:6379"}
    expected = {"10.0.0.12:6379", "10.0.0.13:6379", "10.0.0.15:6379"}
    assert away_addresses(["10.0.0.12:6379", "c"], DECLARED) == expected
    with pytest.raises(HaRedisError, match="Option away_from names redis-9, expected an inventory host"):
        away_addresses(["redis-9"], DECLARED)
    with pytest.raises(HaRedisError, match="empty"):
        away_addresses([], DECLARED)


def candidates_of(found, primary_id, away, mode="default"):
    ref = reference_view(found)
    primary = next(n for n in ref.nodes if n.id == primary_id)
    return replica_candidates(primary, ref, found, away, mode, [n.address for n in DECLARED])


def test_replica_with_the_highest_offset_is_chosen_then_declared_order():
    found = views(offsets={"r1a": 900, "r1b": 1000})
    assert choose_replica(candidates_of(found, "p1", {"10.0.0.11:6379"})).id == "r1b"
    found = views(offsets={"r1a": 1000, "r1b": 1000})
    assert [c.id for c in candidates_of(found, "p1", {"10.0.0.11:6379"})] == ["r1a", "r1b"]


def test_replica_with_its_link_down_or_on_an_away_host_is_not_eligible():
    found = views(offsets={"r1a": 900, "r1b": 1000}, links={"r1b": "down"})
    candidates = candidates_of(found, "p1", {"10.0.0.11:6379"})
    assert [c.id for c in candidates] == ["r1a", "r1b"]
    assert candidates[1].reasons == ("replication link down",)
    # force: the link of a replica whose primary is down is down too; it still counts.
    assert choose_replica(candidates_of(found, "p1", {"10.0.0.11:6379"}, mode="force")).id == "r1b"
    away_b = away_addresses(["a", "b"], DECLARED)
    assert choose_replica(candidates_of(views(), "p1", away_b)).id == "r1b"
    failing = views(flags={"r1b": ["fail?"]}, down=("r1a",))
    reasons = {c.id: c.reasons for c in candidates_of(failing, "p1", {"10.0.0.11:6379"})}
    assert reasons == {"r1a": ("does not answer",), "r1b": ("flagged fail?",)}


def test_plan_moves_every_primary_on_the_host_in_declared_order():
    away = away_addresses(["a", "b"], DECLARED)
    found = views()
    with pytest.raises(HaRedisError) as caught:
        plan_failovers(found, DECLARED, away)
    # p2 (host b) has its only replica on host a: refused, naming it, before anything is planned to run.
    assert str(caught.value).startswith("Primary 10.0.0.12:6379 on host b (5462 slots) has no replica that can take "
                                        "over (replicas: 10.0.0.16:6379: on a host named in away_from)")
    assert [r["primary"] for r in caught.value.details["refused"]] == ["10.0.0.12:6379"]
    steps = plan_failovers(found, DECLARED, away_addresses(["a"], DECLARED))
    assert [(s.primary, s.replica, s.slots, s.siblings) for s in steps] == [
        ("10.0.0.11:6379", "10.0.0.14:6379", 5461, ("10.0.0.15:6379",))]
    assert plan_failovers(found, DECLARED, away_addresses(["10.0.0.16:6379"], DECLARED)) == []


def test_default_mode_refuses_a_primary_that_is_down_force_moves_it():
    away = away_addresses(["a"], DECLARED)
    found = views(down=("p1",), links={"r1a": "down", "r1b": "down"}, flags={"p1": ["fail"]})
    with pytest.raises(HaRedisError, match="Primary 10.0.0.11:6379 on host a .* does not answer, expected it up for a "
                                           "coordinated failover"):
        plan_failovers(found, DECLARED, away)
    [step] = plan_failovers(found, DECLARED, away, mode="force")
    assert step.replica == "10.0.0.14:6379"


def swapped(lines, primary, replica):
    """The CLUSTER NODES lines after ``replica`` took over ``primary`` (siblings follow it)."""
    slots = next(s for i, _a, _r, _p, s in lines if i == primary)
    result = []
    for node_id, address, role, of, node_slots in lines:
        if node_id == replica:
            result.append((node_id, address, "master", "-", slots))
        elif primary in (node_id, of):
            result.append((node_id, address, "slave", replica, ""))
        else:
            result.append((node_id, address, role, of, node_slots))
    return result


STEP = Step(primary="10.0.0.11:6379", primary_id="p1", replica="10.0.0.14:6379", replica_id="r1a",
            replica_seen_as="10.0.0.14:6379", ranges=((0, 5460),), siblings=("10.0.0.15:6379",))


def test_a_failover_is_done_when_every_node_agrees():
    assert failover_problems(views(), STEP)[0] == "10.0.0.11:6379 does not see 10.0.0.14:6379 as the primary of " \
                                                  "the 5461 slots"
    after = swapped(LINES, "p1", "r1a")
    assert failover_problems(views(lines=after), STEP) == []
    assert failover_problems(views(lines=after, state="fail"), STEP)[0] == "10.0.0.11:6379 says cluster_state fail"
    # One node still has the old map: not done.
    mixed = views(lines=after)
    mixed[2] = views()[2]
    assert len(failover_problems(mixed, STEP)) == 2
    # force with the old primary down: it only has to serve no slot.
    dead = [(i, a, "master", "-", "") if i == "p1" else (i, a, r, p, s) for i, a, r, p, s in after]
    assert failover_problems(views(lines=dead, down=("p1",)), STEP, mode="force") == []
    assert failover_problems(views(lines=dead, down=("p1",)), STEP)[0].endswith("as a replica of 10.0.0.14:6379")


def test_predicted_membership_swaps_the_roles():
    before = {"10.0.0.11:6379": "primary (5461 slots)", "10.0.0.14:6379": "replica of 10.0.0.11:6379",
              "10.0.0.15:6379": "replica of 10.0.0.11:6379", "10.0.0.12:6379": "primary (5462 slots)"}
    assert predicted_membership(before, [STEP]) == {
        "10.0.0.11:6379": "replica of 10.0.0.14:6379", "10.0.0.14:6379": "primary (5461 slots)",
        "10.0.0.15:6379": "replica of 10.0.0.14:6379", "10.0.0.12:6379": "primary (5462 slots)"}


def test_a_failover_that_did_not_happen_is_asked_again_when_the_replica_can_hold_an_election():
    # Redis' auth retry time: 2 x max(2 x cluster-node-timeout, 2 s), plus a margin; never before 6 s.
    assert resend_delay(1500) == 6.5
    assert resend_delay(15000) == 60.5
    assert resend_delay(None) == 60.5
    assert resend_delay(100) == 6.0
    # Asked again only while the replica answers and still replicates the old primary.
    assert should_resend(views(), STEP)
    assert not should_resend(views(lines=swapped(LINES, "p1", "r1a")), STEP)
    assert not should_resend(views(down=("r1a",)), STEP)
