# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ha.redis.sentinel_info against real redis-server / redis-sentinel processes."""

from __future__ import annotations

import sys

import yaml
from cluster import REPO, SENTINEL_PASSWORD, free_port

sys.path.insert(0, str(REPO / ".collections"))

from ansible_collections.ha.redis.plugins.modules import sentinel_info  # noqa: E402

NAME = "mymaster"
IGNORED = {"changed", "invocation", "rc", "warnings", "failed", "msg"}


def test_healthy_through_ansible(shared_cluster, run_ansible):
    result = run_ansible("sentinel_info", dict(sentinels=shared_cluster.sentinel_addresses(), primary_name=NAME))
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False
    group = result["groups"][NAME]
    assert group["status"] == "agreed"
    assert group["primary"] == shared_cluster.primary.address
    assert group["primary_host"] == "127.0.0.1" and group["primary_port"] == shared_cluster.primary.port
    assert group["votes"] == {shared_cluster.primary.address: 3}
    assert group["reachable"] == group["monitoring"] == group["total"] == 3
    assert group["majority"] == 2 and group["quorum"] == 2
    assert group["replicas"] == sorted(r.address for r in shared_cluster.replicas)
    assert [s["address"] for s in result["sentinels"]] == shared_cluster.sentinel_addresses()
    for sentinel in result["sentinels"]:
        view = sentinel["groups"][NAME]
        assert view["monitored"] is True and view["primary"] == shared_cluster.primary.address
        assert view["num_other_sentinels"] == 2 and view["num_replicas"] == 2
        assert view["ckquorum_ok"] is True
    ids = {s["myid"] for s in result["sentinels"]}
    assert len(ids) == 3 and None not in ids


def test_all_groups_by_default_and_in_check_mode(shared_cluster, run_module):
    result = run_module("sentinel_info", dict(sentinels=shared_cluster.sentinel_addresses()), check_mode=True)
    assert list(result["groups"]) == [NAME]
    assert all(s["monitored"] == [NAME] for s in result["sentinels"])


def test_returned_keys_match_return_doc(shared_cluster, run_module):
    doc = yaml.safe_load(sentinel_info.RETURN)
    result = run_module("sentinel_info", dict(sentinels=shared_cluster.sentinel_addresses(), primary_name=NAME))
    assert set(result) - IGNORED == set(doc)
    assert set(result["groups"][NAME]) == set(doc["groups"]["contains"])
    assert set(result["sentinels"][0]) == set(doc["sentinels"]["contains"])


def test_unknown_group_is_not_an_error(shared_cluster, run_module):
    result = run_module("sentinel_info", dict(sentinels=shared_cluster.sentinel_addresses(), primary_name="nosuch"))
    assert not result.get("failed"), result.get("msg")
    group = result["groups"]["nosuch"]
    assert group["status"] == "unknown" and group["primary"] is None
    assert group["reachable"] == 3 and group["monitoring"] == 0


def test_unreachable_sentinels_are_reported(shared_cluster, run_module, tmp_path):
    dead = "127.0.0.1:%d" % free_port()
    result = run_module("sentinel_info", dict(sentinels=shared_cluster.sentinel_addresses()[:1] + [dead],
                                              primary_name=NAME))
    assert not result.get("failed"), result.get("msg")
    states = {s["address"]: s for s in result["sentinels"]}
    assert states[dead]["reachable"] is False and "cannot connect" in states[dead]["error"]
    group = result["groups"][NAME]
    # One of two Sentinels is not a majority (2 of 2 needed).
    assert group["status"] == "no_majority" and group["primary"] is None
    assert group["views"][dead] is None


def test_split_view(cluster, run_module):
    odd = cluster.sentinels[2]
    other = cluster.replicas[1]
    client = cluster.client(odd)
    client.execute_command("SENTINEL", "REMOVE", NAME)
    client.execute_command("SENTINEL", "MONITOR", NAME, other.host, other.port, 2)
    result = run_module("sentinel_info", dict(sentinels=cluster.sentinel_addresses(), primary_name=NAME))
    group = result["groups"][NAME]
    # Two of three still agree: the majority's primary stands, the odd view is visible.
    assert group["status"] == "agreed" and group["primary"] == cluster.primary.address
    assert group["views"][odd.address] == other.address
    # Only the odd Sentinel and one other: neither has a majority of the two asked.
    result = run_module("sentinel_info", dict(sentinels=cluster.sentinel_addresses()[1:], primary_name=NAME))
    assert result["groups"][NAME]["status"] == "split"
    assert result["groups"][NAME]["primary"] is None


def test_sentinel_password(shared_secured_cluster, run_module):
    args = dict(sentinels=shared_secured_cluster.sentinel_addresses(), primary_name=NAME)
    result = run_module("sentinel_info", args)
    assert all(not s["reachable"] and "uthentication" in s["error"] for s in result["sentinels"])
    assert result["groups"][NAME]["status"] == "unknown"
    result = run_module("sentinel_info", dict(args, sentinel_password=SENTINEL_PASSWORD))
    assert result["groups"][NAME]["status"] == "agreed"
    assert result["groups"][NAME]["primary"] == shared_secured_cluster.primary.address
    assert SENTINEL_PASSWORD not in str(result)
