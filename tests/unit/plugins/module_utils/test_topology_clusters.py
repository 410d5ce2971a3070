# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redis Clusters in the topology model: inventories in, nodes, instances and problems out."""

from __future__ import annotations

import pytest
from ansible_collections.ha.redis.plugins.module_utils import _topology as t

HOSTS = ("r1", "r2", "r3")
MAIN = {"name": "main", "port": 6379, "initial_primary": "r1"}
SHOP = {"name": "shop", "port": 7000, "instances": 2, "replicas": 1}


def inventory(groups=(MAIN,), clusters=(SHOP,), data=HOSTS, sentinels=HOSTS, **kwargs):
    return t.build_topology({"redis": list(data), "redis_sentinel": list(sentinels)},
                            {h: {"ansible_host": "10.0.0.%s" % h[1:]} for h in set(data) | set(sentinels)},
                            list(groups), clusters=clusters if isinstance(clusters, str) else list(clusters), **kwargs)


def test_a_cluster_next_to_a_group():
    topo = inventory(min_replicas_to_write="auto")
    assert topo.problems == ()
    shop = topo.clusters[0]
    assert shop.ports == [7000, 7001] and shop.hosts == HOSTS and shop.primaries == 3
    assert topo.host_ports("r1") == [6379, 7000, 7001, 17000, 17001, 26379]
    instances = topo.host_instances("r2")
    assert [(i["name"], i["port"], i["cluster"]) for i in instances] == [
        ("main", 6379, ""), ("shop-7000", 7000, "shop"), ("shop-7001", 7001, "shop")]
    # One replica per primary: the bound would stop a shard's writes at the first failover, so auto is 0.
    assert instances[1]["min_replicas_to_write"] == 0 and instances[0]["min_replicas_to_write"] == 1
    data = topo.to_dict()
    assert data["cluster_names"] == ["shop"]
    assert data["clusters"][0]["nodes"][:3] == [
        {"host": "10.0.0.1", "port": 7000, "inventory_host": "r1"},
        {"host": "10.0.0.1", "port": 7001, "inventory_host": "r1"},
        {"host": "10.0.0.2", "port": 7000, "inventory_host": "r2"}]
    assert data["clusters"][0]["node_names"]["r3"] == ["shop-7000", "shop-7001"]
    assert t.Topology.from_dict(data) == topo


def test_two_replicas_per_primary_keep_the_bound():
    topo = inventory(clusters=(dict(SHOP, instances=3, replicas=2),), min_replicas_to_write="auto")
    assert topo.problems == ()
    assert topo.host_instances("r1")[1]["min_replicas_to_write"] == 1


def test_a_cluster_without_sentinel_groups_needs_no_sentinel():
    topo = inventory(groups=(), sentinels=())
    assert topo.problems == ()
    assert [i["name"] for i in topo.host_instances("r3")] == ["shop-7000", "shop-7001"]


def test_retiring_a_host_leaves_its_cluster_nodes_out():
    topo = inventory().without(hosts=["r3"])
    assert topo.clusters[0].hosts == ("r1", "r2")


@pytest.mark.parametrize("case, clusters, sentence", [
    ("fewer than 3 primaries", (dict(SHOP, instances=1),),
     "redis_clusters[shop]: 3 nodes (3 host(s) x 1 instance(s)) do not split into primaries with 1 replica(s)"),
    ("2 primaries", (dict(SHOP, instances=2, replicas=2),),
     "redis_clusters[shop]: 6 nodes with 2 replica(s) each make 2 primaries; a Redis Cluster needs at least 3"),
    ("anti-affinity impossible", (dict(SHOP, instances=4, replicas=3, hosts=["r1", "r2", "r3"]),),
     "redis_clusters[shop]: 3 replica(s) per primary need 4 hosts"),
    ("port shared with a group", (dict(SHOP, port=6379, instances=1, replicas=0),),
     "Host r1: ports [6379, 6379, 16379, 26379]"),
    ("bus port clash", (dict(SHOP, port=16379, instances=1, replicas=0),),
     "ports [6379, 16379, 26379, 26379]"),
    ("a cluster named like a group", (dict(SHOP, name="main"),), "names must be unique"),
    ("a host outside group redis", (dict(SHOP, hosts=["r1", "x9"]),), "hosts are ['r1', 'x9']"),
    ("no room for the bus", (dict(SHOP, port=60000),), "port is 60000; expected a number from 1 to 55535"),
    ("instances not a number", (dict(SHOP, instances="two"),), "instances is 'two'"),
    ("not a mapping", ("shop",), "redis_clusters[0] is 'shop'"),
])
def test_clusters_the_preflight_role_rejects(case, clusters, sentence):
    problems = inventory(clusters=clusters).problems
    assert any(sentence in p for p in problems), (case, problems)


def test_redis_clusters_must_be_a_list():
    with pytest.raises(t.TopologyError, match="redis_clusters is"):
        inventory(clusters="shop")
