# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The decisions of plugins/module_utils/_topology_decisions.py: inventory and Sentinel answers in, verdicts out."""

from __future__ import annotations

import pytest
from ansible_collections.ha.redis.plugins.module_utils import _topology as t
from ansible_collections.ha.redis.plugins.module_utils import _topology_decisions as d

HOSTS = ("r1", "r2", "r3")
MAIN = {"name": "main", "port": 6379, "initial_primary": "r1"}
CACHE = {"name": "cache", "port": 6380, "initial_primary": "r2", "hosts": ["r2", "r3"]}


def inventory(data=HOSTS, sentinels=HOSTS, groups=(MAIN, CACHE), **kwargs):
    hosts = set(data) | set(sentinels)
    return t.build_topology({"redis": list(data), "redis_sentinel": list(sentinels)},
                            {h: {"ansible_host": "10.0.0.%s" % h[1:]} for h in hosts}, list(groups), **kwargs)


def answer(status="agreed", primary="10.0.0.1:6379", votes=None, reachable=3, total=3, replicas=()):
    host, _sep, port = (primary or "").rpartition(":")
    if votes is None:
        votes = {primary: reachable} if primary and status != "unknown" else {}
    agreed = status == "agreed"
    return {"status": status, "votes": votes, "reachable": reachable, "total": total, "majority": total // 2 + 1,
            "primary": primary if agreed else None, "primary_host": host if agreed else None,
            "primary_port": int(port) if agreed else None, "replicas": list(replicas)}


def info(reachable=(True, True, True), **groups):
    return {"groups": groups, "sentinels": [{"reachable": r} for r in reachable]}


AGREED = info(main=answer(), cache=answer(primary="10.0.0.3:6380"))
NEW = info(main=answer("unknown", None), cache=answer("unknown", None))


def test_answers_must_cover_every_group():
    with pytest.raises(t.TopologyError, match="Group cache: ha.redis.sentinel_info gave no answer for it"):
        d.read_answers(inventory(), info(main=answer()))


# --- the primary of each group ---------------------------------------------------------------------------------
def test_primaries_agreed_and_bootstrap():
    topo = inventory()
    got = d.primaries(topo, d.read_answers(topo, info(main=answer(), cache=answer("unknown", None))))
    assert got["main"] == d.Primary(False, "10.0.0.1", 6379, "r1")
    assert got["cache"] == d.Primary(True, "10.0.0.2", 6380, "r2")


def test_an_agreed_primary_outside_the_inventory_has_no_host():
    topo = inventory()
    got = d.primaries(topo, d.read_answers(topo, info(main=answer(primary="10.9.9.9:6379"), cache=answer())))
    assert got["main"] == d.Primary(False, "10.9.9.9", 6379, None)


@pytest.mark.parametrize("main, disagrees", [
    (answer(), False),
    (answer("unknown", None, reachable=1), False),
    (answer("split", None, votes={"10.0.0.1:6379": 1, "10.0.0.2:6379": 1}), True),
    # a bootstrap that stopped half-way: a minority monitors the group, at initial_primary only
    (answer("no_majority", "10.0.0.1:6379", reachable=1), False),
    (answer("no_majority", "10.0.0.2:6379", reachable=1), True),
])
def test_disagreements(main, disagrees):
    topo = inventory()
    found = d.disagreements(topo, d.read_answers(topo, info(main=main, cache=answer("unknown", None))))
    assert bool(found) == disagrees
    if disagrees:
        assert found[0].startswith("Group main: the Sentinels do not agree on a primary (status %s, votes %s, "
                                   % (main["status"], main["votes"]))
        assert found[0].endswith("%d of 3 Sentinels answered). Nothing was changed; repair the Sentinels (or wait "
                                 "for the failover to finish) and run again." % main["reachable"])


# --- the bootstrap guard ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("main, down, stops", [
    (answer("unknown", None), ["r1"], ["Group main: no Sentinel knows it yet, so it would be created with r1 as "
                                       "primary, but that host did not answer. Nothing was changed; bring the host "
                                       "back or choose another initial_primary."]),
    (answer("unknown", None), ["r3"], []),
    (answer(), ["r1"], []),  # deployed: the Sentinels decide, not initial_primary
    (answer("unknown", None), [], []),
])
def test_a_group_to_create_needs_its_initial_primary(main, down, stops):
    topo = inventory()
    answers = d.read_answers(topo, info(main=main, cache=answer(primary="10.0.0.2:6380")))
    assert d.initial_primaries_down(topo, answers, down) == stops


@pytest.mark.parametrize("main, doubtful", [
    (answer(), False),
    (answer("unknown", None, reachable=3), False),  # a majority answered: a new group
    (answer("unknown", None, reachable=1), True),
    (answer("no_majority", "10.0.0.1:6379", reachable=1), True),
    (answer("split", None, votes={"a:1": 1, "b:1": 1}, reachable=2), False),  # stopped by disagreements instead
])
def test_unvouched(main, doubtful):
    topo = inventory()
    got = d.unvouched(topo, d.read_answers(topo, info(main=main, cache=answer(primary="10.0.0.2:6380"))))
    assert got == (["main"] if doubtful else [])


def test_guard_probes():
    topo = inventory(sentinels=["r1", "r2", "s4"])
    assert d.guard_probes(topo, ["cache"]) == {"r1": ["s:cache"], "r2": ["d:cache", "s:cache"], "r3": ["d:cache"],
                                               "s4": ["s:cache"]}
    assert d.guard_probes(topo, ["main", "cache"])["r3"] == ["d:main", "d:cache"]


def test_silent_sentinels_follow_the_endpoint_order():
    topo = inventory()
    assert d.silent_sentinels(topo, info((True, False, False))) == ["r2", "r3"]


FRESH = {"r1": [], "r2": [], "r3": []}


@pytest.mark.parametrize("case, silent, lines, problems", [
    ("a fresh group", ["r2", "r3"], FRESH, []),
    ("deployed, running, replicating as the bootstrap would", [], {
        "r1": ["seeded main", "running main"],
        "r2": ["seeded main", "replicaof main 10.0.0.1 6379", "running main"],
        "r3": ["seeded main", "running main"]}, []),
    ("a host not in this run", [], {"r1": [], "r2": []}, ["hosts r3 could not be checked in this run"]),
    ("a silent Sentinel not in this run", ["s4"], FRESH, ["hosts s4 could not be checked in this run"]),
    ("a silent Sentinel that monitors the group", ["r3"], dict(FRESH, r3=["monitors main"]),
     ["the Sentinel on r3 does not answer but monitors the group (its configuration file says so)"]),
    ("a deployed node that is down", [], dict(FRESH, r2=["seeded main"]),
     ["the data node on r2 is deployed but not running (it may be a primary that missed a failover)"]),
    ("the initial primary replicates", [], dict(FRESH, r1=["seeded main", "replicaof main 10.0.0.2 6379",
                                                           "running main"]),
     ["the data node on r1 replicates from 10.0.0.2:6379, not as the bootstrap would have it"]),
    ("a replica of another node", [], dict(FRESH, r3=["seeded main", "replicaof main 10.0.0.2 6379", "running main"]),
     ["the data node on r3 replicates from 10.0.0.2:6379, not as the bootstrap would have it"]),
    ("a replica of the right node on another port", [], dict(FRESH, r3=["replicaof main 10.0.0.1 6380"]),
     ["the data node on r3 replicates from 10.0.0.1:6380, not as the bootstrap would have it"]),
    ("another group's lines do not count", [], dict(FRESH, r3=["seeded cache", "replicaof cache 10.9.9.9 1"]), []),
])
def test_guard_problems(case, silent, lines, problems):
    topo = inventory(sentinels=["r1", "r2", "r3", "s4", "s5"])
    assert d.guard_problems(topo, "main", silent, lines) == problems


def test_guard_message():
    topo = inventory()
    a = d.read_answers(topo, info(main=answer("unknown", None, reachable=1), cache=answer()))["main"]
    assert d.guard_message(topo, a, ["p1", "p2"]) == (
        "Group main: only 1 of 3 Sentinels answered (a majority is 2) and none vouches for a primary (status "
        "unknown), so it is not safe to bootstrap it from initial_primary r1: p1; p2. Nothing was changed. Start the "
        "Sentinels (or repair them) so that a majority answers, then run again.")


# --- decommission ------------------------------------------------------------------------------------------------
FIVE = ["r1", "r2", "r3", "r4", "r5"]


def five(**kwargs):
    return inventory(data=FIVE, sentinels=FIVE, groups=(MAIN, dict(CACHE, hosts=["r2", "r3", "r4"])), **kwargs)


def test_decommission_two_hosts():
    plan = d.plan_decommission(five(), "r4, r5", "")
    assert plan.hosts == ["r4", "r5"] and plan.groups == []
    assert plan.sentinels_left == ["r1", "r2", "r3"] and plan.runner == "r1"
    assert plan.group_hosts_left == {"main": ["r1", "r2", "r3"], "cache": ["r2", "r3"]}
    assert plan.quorum_left == 2
    assert plan.request_error == "" and plan.refusals == []
    assert plan.stop == {"r1": [], "r2": [], "r3": [], "r4": ["main", "cache"], "r5": ["main"]}
    assert plan.stop_sentinel == ["r4", "r5"]


def test_decommission_a_group_stops_it_everywhere():
    plan = d.plan_decommission(five(), [], ["cache"])
    assert plan.kept_groups == ["main"]
    assert plan.stop["r3"] == ["cache"] and plan.stop["r1"] == []
    assert plan.stop_sentinel == [] and plan.refusals == []


@pytest.mark.parametrize("hosts, groups, error", [
    ("", "", "Nothing was changed. Set redis_decommission_hosts and/or redis_decommission_groups (got hosts [], "
             "groups [])."),
    ("r9", "", "(got hosts ['r9'], groups []). Unknown hosts: r9."),
    ("", "nope", "Unknown groups: nope (known: main, cache)."),
    ("r2,r3,r4", "", "Group(s) cache would keep no data node: remove a group with redis_decommission_groups instead."),
    (FIVE, "main", "No Sentinel would remain."),
])
def test_decommission_request_errors(hosts, groups, error):
    plan = d.plan_decommission(five(), hosts, groups)
    assert error in plan.request_error and plan.request_error.startswith("Nothing was changed.")


@pytest.mark.parametrize("hosts, kwargs, refusal", [
    ("r4,r5,r3", {}, "Only 2 Sentinel(s) would remain (r1, r2): at least 3 are needed so that losing one still leaves "
                     "a majority that can authorise a failover."),
    ("r3,r4,r5", {}, "2 of the 5 Sentinels would remain, fewer than a majority (3) of the Sentinels they know until "
                     "they are reset: no failover could be authorised in between. Retire fewer Sentinels per run."),
    ("r5", {}, "An even number of Sentinels (4) would remain: a partition into two halves could elect no leader "
               "(redis_sentinel_allow_even=true accepts it)."),
    ("r4,r5", {"quorum": 4}, "redis_sentinel_quorum is 4, more than the 3 Sentinels that would remain."),
    ("r3,r4", {}, "Group cache would keep no replica (only r2): losing that node would lose the data and no failover "
                  "would be possible."),
])
def test_decommission_guard_rails(hosts, kwargs, refusal):
    assert refusal in d.plan_decommission(five(**kwargs), hosts, "").refusals


# --- decommission of Redis Cluster nodes ---------------------------------------------------------------------
SHOP = {"name": "shop", "port": 7000, "instances": 2, "replicas": 1}
FOUR = ("r1", "r2", "r3", "r4")


def shop_only(data=FOUR):
    return inventory(data=data, sentinels=(), groups=(), clusters=[SHOP])


def test_decommission_a_cluster_host_drains_and_forgets_its_nodes():
    plan = d.plan_decommission(shop_only(), "r4", "")
    assert plan.request_error == "" and plan.refusals == []
    assert plan.stop["r4"] == ["shop-7000", "shop-7001"] and plan.stop["r1"] == []
    assert plan.stop_sentinel == [] and plan.notes == []
    (shop,) = plan.clusters
    assert (shop.name, shop.replicas, shop.primaries_left, shop.runner) == ("shop", 1, 3, "r1")
    assert shop.drain == shop.forget == ["10.0.0.4:7000", "10.0.0.4:7001"]
    assert [n["inventory_host"] for n in shop.nodes] == ["r1", "r1", "r2", "r2", "r3", "r3"]
    assert shop.drain_nodes == shop.nodes + [{"host": "10.0.0.4", "port": p, "inventory_host": "r4"}
                                             for p in (7000, 7001)]


def test_a_cluster_host_that_is_down_is_forgotten_not_drained():
    (shop,) = d.plan_decommission(shop_only(), "r4", "", down=["r4"]).clusters
    assert shop.drain == [] and shop.forget == ["10.0.0.4:7000", "10.0.0.4:7001"] and shop.drain_nodes == shop.nodes


@pytest.mark.parametrize("data, hosts, error", [
    (HOSTS, "r3", "Cluster shop would keep 4 node(s) on r1, r2, 2 primaries with 1 replica(s) each; expected at "
                  "least 3 primaries: retire fewer hosts, or add hosts first."),
])
def test_a_cluster_keeps_three_primaries(data, hosts, error):
    assert error in d.plan_decommission(shop_only(data), hosts, "").request_error


def test_a_cluster_keeps_hosts_for_its_replicas():
    topo = inventory(data=HOSTS, sentinels=(), groups=(), clusters=[dict(SHOP, instances=4, replicas=1)])
    plan = d.plan_decommission(topo, "r3", "")
    assert plan.request_error == ""  # 8 nodes on r1, r2: 4 primaries, replicas on the other host
    topo = inventory(data=HOSTS, sentinels=(), groups=(), clusters=[dict(SHOP, instances=6, replicas=2)])
    assert ("Cluster shop would keep 2 host(s) (r1, r2); expected at least 3, so that each primary's 2 replica(s) "
            "run on other hosts." in d.plan_decommission(topo, "r3", "").request_error)


def test_even_sentinels_allowed():
    assert d.plan_decommission(five(allow_even=True), "r5", "").refusals == []


# Hosts that did not answer: a retiring host may be down; the count rails refuse only what weakens the live estate.
@pytest.mark.parametrize("inv, hosts, down, error", [
    (five, "r4", "r5", "Hosts r5 did not answer and are not being retired: every host that stays must answer "
                       "(retire them too, or bring them back)."),
    (five, "r4", "r2,r5", "Hosts r2, r5 did not answer and are not being retired"),
])
def test_decommission_hosts_down_that_stay(inv, hosts, down, error):
    plan = d.plan_decommission(inv(), hosts, "", down)
    assert plan.request_error.startswith("Nothing was changed.") and error in plan.request_error


@pytest.mark.parametrize("inv, hosts, down, refusals", [
    # 3 Sentinels, one dead: retiring it leaves 2 live ones, as many as answer now; group cache (r2, r3) keeps no
    # replica, but it had no live one either.
    (inventory, "r3", "r3", []),
    # the same host alive: 2 would remain out of 3 live ones.
    (inventory, "r3", "", ["Only 2 Sentinel(s) would remain (r1, r2): at least 3 are needed so that losing one still "
                           "leaves a majority that can authorise a failover.",
                           "An even number of Sentinels (2) would remain: a partition into two halves could elect no "
                           "leader (redis_sentinel_allow_even=true accepts it).",
                           "Group cache would keep no replica (only r2): losing that node would lose the data and no "
                           "failover would be possible."]),
    # 5 Sentinels, one dead: retiring it leaves 4 live ones, as many as answer now.
    (five, "r5", "r5", []),
    # 5 Sentinels, one dead, retire it and a live one: 3 remain (odd, at least 3).
    (five, "r5,r1", "r5", []),
    # 5 Sentinels, two dead, retire one of them and a live one: 3 remain of 3 live ones; r4 must retire as well.
    (five, "r4,r5", "r5", []),
])
def test_decommission_rails_with_hosts_down(inv, hosts, down, refusals):
    plan = d.plan_decommission(inv(), hosts, "", down)
    assert plan.request_error == ""
    assert plan.refusals == refusals


def test_decommission_rails_still_refuse_weakening_the_live_estate():
    # 5 Sentinels, r5 dead; retiring r5 and r4 (alive) leaves 3 of 4 live: fine. Retiring r5, r4, r3 leaves 2.
    plan = d.plan_decommission(five(), "r3,r4,r5", "", "r5")
    assert plan.refusals[0].startswith("Only 2 Sentinel(s) would remain (r1, r2)")
    assert "2 of the 5 Sentinels would remain, fewer than a majority (3)" in plan.refusals[1]


@pytest.mark.parametrize("hosts, down, notes", [
    ("r4", "", []),
    ("r5", "r5", ["Hosts that did not answer, retired from the memory of the Sentinels only: r5."]),
    ("r3", "r3", ["Hosts that did not answer, retired from the memory of the Sentinels only: r3.",
                  "Only 2 Sentinels remain: a failover now needs all of them. Add a replacement host (same name or "
                  "another) with site.yml as soon as you can."]),
])
def test_decommission_notes(hosts, down, notes):
    inv = inventory if hosts == "r3" else five
    plan = d.plan_decommission(inv(), hosts, "", down)
    assert plan.notes == notes and plan.down == d.parse_names(down)


def answers_of(topo, **groups):
    return d.read_answers(topo, info((True,) * 5, **groups))


def test_a_move_avoids_the_primary_when_one_host_of_the_group_retires():
    topo = five()
    plan = d.plan_decommission(topo, "r1", "")
    answers = answers_of(topo, main=answer(total=5), cache=answer(primary="10.0.0.4:6380", total=5))
    assert d.plan_moves(topo, plan, answers, []) == ([d.Move("main", avoid="10.0.0.1:6379")], "")


def test_a_move_targets_a_remaining_replica_when_several_hosts_of_the_group_retire():
    topo = five()
    plan = d.plan_decommission(topo, "r4,r3", "")
    answers = answers_of(topo, main=answer(total=5),
                         cache=answer(primary="10.0.0.4:6380", total=5, replicas=["10.0.0.3:6380", "10.0.0.2:6380"]))
    assert d.plan_moves(topo, plan, answers, []) == ([d.Move("cache", target="10.0.0.2:6380")], "")


def test_no_move_for_a_primary_that_stays_or_a_removed_group():
    topo = five()
    plan = d.plan_decommission(topo, "r5", "cache")
    answers = answers_of(topo, main=answer(total=5), cache=answer(primary="10.0.0.5:6380", total=5))
    assert d.plan_moves(topo, plan, answers, [])[0] == []


def test_no_remaining_replica_listed_gives_no_target():
    topo = five()
    plan = d.plan_decommission(topo, "r3,r4", "")
    answers = answers_of(topo, main=answer(total=5), cache=answer(primary="10.0.0.3:6380", total=5, replicas=[]))
    assert d.plan_moves(topo, plan, answers, [])[0] == [d.Move("cache")]


def test_moves_need_agreement_and_every_remaining_sentinel():
    topo = five()
    plan = d.plan_decommission(topo, "r5", "")
    answers = answers_of(topo, main=answer("split", None, votes={"a:1": 2, "b:1": 2}, total=5),
                         cache=answer(primary="10.0.0.2:6380", total=5))
    _moves, error = d.plan_moves(topo, plan, answers, ["r2", "r5"])
    assert error == ("Nothing was changed. The Sentinels do not agree on the primary of main: repair them (or wait for "
                     "the failover to finish) first. The Sentinels on r2 do not answer; they must, to rebuild their "
                     "view after the change.")


@pytest.mark.parametrize("down, primary, error", [
    ("r5", "10.0.0.5:6379", "Nothing was changed. The Sentinels still name a primary on a host that did not answer "
                            "for main: they fail it over by themselves once it is down for down-after-milliseconds "
                            "and a quorum agrees; check with verify.yml and run again when they name another "
                            "primary."),
    ("r5", "10.0.0.1:6379", ""),  # failed over already: the dead host holds no primary
    ("", "10.0.0.5:6379", ""),  # alive: moved away instead
])
def test_a_primary_on_a_host_that_is_down_stops_the_run(down, primary, error):
    topo = five()
    plan = d.plan_decommission(topo, "r5", "", down)
    answers = answers_of(topo, main=answer(primary=primary, total=5), cache=answer(primary="10.0.0.2:6380", total=5))
    moves, got = d.plan_moves(topo, plan, answers, ["r5"] if down else [])
    assert got == error
    assert moves == ([d.Move("main", avoid=primary)] if primary.startswith("10.0.0.5") else [])


# --- rolling upgrade and restarts --------------------------------------------------------------------------------
@pytest.mark.parametrize("primary_hosts, order", [
    ({"main": "r1", "cache": "r2"}, ["r3", "r1", "r2"]),
    ({"main": "r2", "cache": "r2"}, ["r1", "r3", "r2"]),
    ({"main": None, "cache": "r3"}, ["r1", "r2", "r3"]),
    ({}, list(HOSTS)),
])
def test_upgrade_order(primary_hosts, order):
    assert d.upgrade_order(inventory(), primary_hosts) == order


@pytest.mark.parametrize("changed, restart", [
    ([], []),
    (["/etc/redis/redis-cache.d/ansible.conf"], ["cache"]),
    (["/etc/redis/redis-cache.conf"], []),  # the seed is Redis's file: never a restart
    (["/etc/systemd/system/redis-server@.service.d/ha-redis.conf"], ["main", "cache"]),
])
def test_groups_to_restart(changed, restart):
    assert d.groups_to_restart(["main", "cache"], changed, "/etc/redis/redis-",
                               "/etc/systemd/system/redis-server@.service.d/ha-redis.conf") == restart


# --- no Sentinel asked (a first deploy in check mode, before python3-redis is installed) -----------------------
def test_a_skipped_question_reads_as_no_sentinel_answering():
    topo = inventory()
    skipped = {"skipped": True, "changed": False, "skip_reason": "Conditional result was False"}
    answers = d.read_answers(topo, skipped)
    assert {name: a.status for name, a in answers.items()} == {"main": "unknown", "cache": "unknown"}
    assert d.primaries(topo, answers)["main"] == d.Primary(True, "10.0.0.1", 6379, "r1")
    assert d.unvouched(topo, answers) == ["main", "cache"]
    assert d.silent_sentinels(topo, skipped) == ["r1", "r2", "r3"]
    # On fresh hosts the bootstrap guard finds nothing against the bootstrap.
    assert d.guard_problems(topo, "main", d.silent_sentinels(topo, skipped), FRESH) == []
    assert d.read_answers(topo, skipped) == d.read_answers(topo, d.unanswered(topo))
