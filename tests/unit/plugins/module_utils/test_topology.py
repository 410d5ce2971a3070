# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The topology model of plugins/module_utils/_topology.py: inventories in, model and problems out."""

from __future__ import annotations

import pytest
from ansible_collections.ha.redis.plugins.module_utils import _topology as t

HOSTS = ("r1", "r2", "r3")
MAIN = {"name": "main", "port": 6379, "initial_primary": "r1"}
CACHE = {"name": "cache", "port": 6380, "initial_primary": "r2", "hosts": ["r2", "r3"]}


def inventory(data=HOSTS, sentinels=HOSTS, groups=(MAIN,), hostvars=None, **kwargs):
    return t.build_topology({"redis": list(data), "redis_sentinel": list(sentinels)},
                            hostvars or {h: {"ansible_host": "10.0.0.%s" % h[1:]} for h in set(data) | set(sentinels)},
                            list(groups), **kwargs)


@pytest.mark.parametrize("value, names", [
    ("a,b", ["a", "b"]),
    (" a , ,b ,", ["a", "b"]),
    ("", []),
    (None, []),
    (["a", " b ", ""], ["a", "b"]),
    (("a",), ["a"]),
    (7, ["7"]),
])
def test_parse_names(value, names):
    assert t.parse_names(value) == names


@pytest.mark.parametrize("hostvars, expected", [
    ({"redis_announce_ip": "192.0.2.1", "redis_address": "10.0.0.1", "ansible_host": "h"}, "192.0.2.1"),
    ({"redis_announce_ip": "", "redis_address": "10.0.0.1", "ansible_host": "h"}, "10.0.0.1"),
    ({"redis_address": "", "ansible_host": "10.9.9.9"}, "10.9.9.9"),
    ({}, "r1"),
])
def test_public_address_order(hostvars, expected):
    assert t.public_address("r1", hostvars) == expected


def test_model_of_two_groups():
    topo = inventory(groups=(MAIN, CACHE), sentinels=["r1", "r2", "s4"],
                     hostvars={"r1": {"ansible_host": "10.0.0.1"}, "r2": {"redis_address": "10.0.0.2"},
                               "r3": {"redis_announce_ip": "192.0.2.3", "ansible_host": "10.0.0.3"},
                               "s4": {"redis_sentinel_port": "26380"}})
    assert topo.problems == ()
    assert topo.group_names == ["main", "cache"]
    assert topo.group("cache").hosts == ("r2", "r3") and topo.group("cache").explicit_hosts
    assert topo.group("main").hosts == ("r1", "r2", "r3") and not topo.group("main").explicit_hosts
    assert topo.addresses == {"r1": "10.0.0.1", "r2": "10.0.0.2", "r3": "192.0.2.3", "s4": "s4"}
    assert topo.address_to_host == {"10.0.0.1": "r1", "10.0.0.2": "r2", "192.0.2.3": "r3"}
    assert [g.name for g in topo.host_groups("r3")] == ["main", "cache"]
    assert topo.host_groups("s4") == []
    assert topo.host_ports("r2") == [6379, 6380, 26379]
    assert topo.host_ports("s4") == [26380]
    assert topo.sentinel_endpoints == [{"host": "10.0.0.1", "port": 26379}, {"host": "10.0.0.2", "port": 26379},
                                       {"host": "s4", "port": 26380}]
    assert topo.expected_replicas == {"main": 2, "cache": 1}
    assert topo.quorum == 2
    assert topo.endpoint(topo.group("cache"), "r3") == "192.0.2.3:6380"


def test_ipv6_endpoints_are_bracketed_like_sentinel_answers():
    topo = inventory(hostvars={"r1": {"redis_address": "fd00::1"}})
    assert topo.endpoint(topo.group("main"), "r1") == "[fd00::1]:6379"


@pytest.mark.parametrize("setting, sentinels, quorum", [
    ("", 3, 2), ("", 5, 3), ("", 4, 3), (None, 3, 2), ("3", 3, 3), (2, 5, 2), ("x", 3, 0),
])
def test_quorum(setting, sentinels, quorum):
    assert t.quorum_for(setting, sentinels) == quorum


@pytest.mark.parametrize("n, m", [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (9, 5)])
def test_majority(n, m):
    assert t.majority(n) == m


def test_without_hosts_and_groups():
    topo = inventory(data=HOSTS + ("r4",), sentinels=HOSTS + ("r4", "r5"), groups=(MAIN, CACHE))
    rest = topo.without(["r3", "r5"], ["cache"])
    assert rest.group_names == ["main"]
    assert rest.group("main").hosts == ("r1", "r2", "r4")
    assert rest.sentinel_hosts == ("r1", "r2", "r4")
    assert rest.expected_replicas == {"main": 2}
    assert [e["host"] for e in rest.sentinel_endpoints] == ["10.0.0.1", "10.0.0.2", "10.0.0.4"]
    assert "10.0.0.3" not in rest.address_to_host


def test_round_trip_through_plain_data():
    topo = inventory(groups=(MAIN, dict(CACHE, config={"maxmemory": "1gb"}, min_replicas_to_write="auto")),
                     quorum="2", allow_even=True, min_replicas_max_lag=5)
    data = topo.to_dict()
    assert t.Topology.from_dict(data) == topo
    cache = data["groups"][1]
    assert cache["min_replicas_to_write"] == 1 and cache["min_replicas_max_lag"] == 5
    assert cache["endpoints"] == {"r2": "10.0.0.2:6380", "r3": "10.0.0.3:6380"}
    assert data["host_groups"]["r1"] == ["main"] and data["quorum"] == 2 and data["majority"] == 2


def test_from_dict_rejects_something_else():
    with pytest.raises(t.TopologyError, match="expected the output of ha.redis.topology"):
        t.Topology.from_dict({"groups": []})


def test_unknown_group_and_host_are_named():
    topo = inventory()
    with pytest.raises(t.TopologyError, match="Group nope is not in redis_primary_groups; expected one of main"):
        topo.group("nope")
    with pytest.raises(t.TopologyError, match="Host x9 is not in the inventory"):
        topo.address_of("x9")


@pytest.mark.parametrize("raw", ["main", {"port": 6379}, None])
def test_unreadable_group_entry_raises(raw):
    with pytest.raises(t.TopologyError, match=r"redis_primary_groups\[0\] is .*expected a mapping"):
        inventory(groups=[raw])


def test_primary_groups_must_be_a_list():
    with pytest.raises(t.TopologyError, match="expected a list of groups"):
        t.build_topology({"redis": list(HOSTS)}, {}, "main")


# Every inventory the preflight role rejects (roles/preflight/tasks/main.yml), with its sentence.
BAD = [
    ("two Sentinels", dict(sentinels=["r1", "r2"]),
     "Group redis_sentinel has 2 host(s): at least 3 and an odd number are needed (set redis_sentinel_allow_even: "
     "true to accept an even count)."),
    ("four Sentinels", dict(sentinels=["r1", "r2", "r3", "r4"], data=HOSTS + ("r4",)),
     "Group redis_sentinel has 4 host(s)"),
    ("quorum not a number", dict(quorum="two"),
     "redis_sentinel_quorum=two must be a number between 1 and the 3 Sentinels of group redis_sentinel."),
    ("quorum above the Sentinels", dict(quorum=4), "redis_sentinel_quorum=4 must be a number between 1 and the 3"),
    ("quorum zero", dict(quorum="0"), "redis_sentinel_quorum=0 must be"),
    ("no groups", dict(groups=()),
     "redis_primary_groups and redis_clusters: names must be unique (a cluster's nodes are named <cluster>-<port>) "
     "and match [A-Za-z0-9._-]+; got []."),
    ("a name twice", dict(groups=(MAIN, dict(MAIN, port=6380))),
     "and match [A-Za-z0-9._-]+; got ['main', 'main']."),
    ("a bad name", dict(groups=(dict(MAIN, name="my group"),)), "got ['my group']."),
    ("port not a number", dict(groups=(dict(MAIN, port="63x9"),)),
     "redis_primary_groups[main].port is 63x9; expected a port number 1-65535."),
    ("port too high", dict(groups=(dict(MAIN, port=70000),)), "redis_primary_groups[main].port is 70000"),
    ("port missing", dict(groups=({"name": "main", "initial_primary": "r1"},)), "redis_primary_groups[main].port is ;"),
    ("initial primary not a host", dict(groups=(dict(MAIN, initial_primary="r9"),)),
     "redis_primary_groups[main]: initial_primary is 'r9' and hosts are ['r1', 'r2', 'r3']; expected hosts of group "
     "redis and an initial_primary that is one of them."),
    ("initial primary missing", dict(groups=({"name": "main", "port": 6379},)), "initial_primary is ''"),
    ("a host outside group redis", dict(groups=(dict(CACHE, hosts=["r2", "x9"]),)),
     "redis_primary_groups[cache]: initial_primary is 'r2' and hosts are ['r2', 'x9']"),
    ("no hosts", dict(groups=(dict(CACHE, hosts=[]),)), "hosts are []"),
    ("two groups on one port", dict(groups=(MAIN, dict(CACHE, port=6379))),
     "Host r2: ports [6379, 6379, 26379] (redis_primary_groups[].port, redis_clusters[] ports with their bus ports "
     "+ 10000, redis_sentinel_port) must be unique on the host and between 1 and 65535."),
    ("a group on the Sentinel port", dict(groups=(dict(MAIN, port=26379),)), "Host r1: ports [26379, 26379]"),
    ("Sentinel port out of range", dict(hostvars={"r1": {"redis_sentinel_port": 0}}), "Host r1: ports [6379, 0]"),
    ("min_replicas_to_write above the replicas", dict(groups=(MAIN, dict(CACHE, min_replicas_to_write=2))),
     "redis_primary_groups[cache]: min_replicas_to_write is '2' and min_replicas_max_lag '10' (or "
     "redis_min_replicas_to_write / redis_min_replicas_max_lag); expected 'auto' or a number from 0 to the group's 1 "
     "replica(s) (a primary would refuse every write otherwise), and a number of seconds."),
    ("global min_replicas_to_write above the replicas", dict(min_replicas_to_write=3),
     "redis_primary_groups[main]: min_replicas_to_write is '3' and"),
    ("min_replicas_to_write not a number", dict(min_replicas_to_write="many"),
     "redis_primary_groups[main]: min_replicas_to_write is 'many' and"),
    ("min_replicas_to_write auto is spelt in lower case", dict(min_replicas_to_write="AUTO"),
     "redis_primary_groups[main]: min_replicas_to_write is 'AUTO' and"),
    ("min_replicas_max_lag not a number", dict(groups=(dict(MAIN, min_replicas_max_lag="soon"),)),
     "redis_primary_groups[main]: min_replicas_to_write is '0' and min_replicas_max_lag 'soon'"),
]


@pytest.mark.parametrize("case, kwargs, sentence", BAD, ids=[b[0] for b in BAD])
def test_inventories_the_preflight_role_rejects(case, kwargs, sentence):
    problems = inventory(**kwargs).problems
    assert any(sentence in p for p in problems), problems


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(sentinels=["r1", "r2", "r3", "r4"], data=HOSTS + ("r4",), allow_even=True),
    dict(quorum="3"),
    dict(groups=(MAIN, CACHE), min_replicas_to_write="auto"),
    dict(groups=(MAIN, dict(CACHE, min_replicas_to_write=1)), min_replicas_to_write=2),
])
def test_good_inventories_have_no_problem(kwargs):
    assert inventory(**kwargs).problems == ()


@pytest.mark.parametrize("group, default, value", [
    (dict(MAIN), 0, 0),
    (dict(MAIN), "auto", 1),
    (dict(MAIN, hosts=["r1"]), "auto", 0),
    (dict(MAIN, min_replicas_to_write=2), "auto", 2),
    (dict(MAIN, min_replicas_to_write="auto"), 2, 1),
    (dict(MAIN, min_replicas_to_write="1"), 0, 1),
])
def test_min_replicas_to_write(group, default, value):
    g = inventory(groups=(group,)).group("main")
    assert t.min_replicas_to_write(g, default) == (value, None)


def test_min_replicas_to_write_problem_keeps_the_value():
    g = inventory(groups=(dict(MAIN, hosts=["r1"]),)).group("main")
    value, problem = t.min_replicas_to_write(g, 1)
    assert value == 1
    assert problem == ("Group main: min_replicas_to_write is 1, more than its 0 replica(s); expected at most 0, or "
                       "the primary refuses every write.")
    assert t.min_replicas_to_write(g, True)[1].startswith("Group main: min_replicas_to_write is True;")


@pytest.mark.parametrize("group, default, value", [
    (dict(MAIN), 10, 10), (dict(MAIN), 3, 3), (dict(MAIN, min_replicas_max_lag=5), 3, 5),
    (dict(MAIN, min_replicas_max_lag="7"), 10, 7),
])
def test_min_replicas_max_lag(group, default, value):
    g = inventory(groups=(group,)).group("main")
    assert t.min_replicas_max_lag(g, default) == (value, None)


def test_a_missing_data_group_is_one_sentence():
    topo = t.build_topology({"redis_servers": list(HOSTS), "redis_sentinel": list(HOSTS)},
                            {h: {} for h in HOSTS}, [MAIN])
    assert list(topo.problems) == ["The inventory has no host in group redis: put the data nodes in a group named "
                                   "redis, the name the roles and playbooks read."]


def test_a_missing_sentinel_group_is_one_sentence():
    topo = t.build_topology({"redis": list(HOSTS)}, {h: {} for h in HOSTS}, [MAIN])
    assert list(topo.problems) == ["The inventory has no host in group redis_sentinel: put the Sentinels (at least "
                                   "3, an odd number) in a group named redis_sentinel, the name the roles and "
                                   "playbooks read."]
