# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ha.redis.redis_replication against real redis-server processes."""

from __future__ import annotations

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

# keys Ansible itself adds to a result
ANSIBLE_KEYS = {"invocation", "rc", "warnings", "deprecations", "action", "_ansible_no_log", "failed", "msg"}
RETURN_KEYS = {"changed", "before", "after", "commands", "diff", "clients_disconnected"}


def _client_ids(node, kind):
    return {c["id"] for c in node.client().client_list(_type=kind)}


def _repl(node):
    return node.client().info("replication")


def test_promote_then_repoint_with_check_and_repeat(cluster, run_module, run_ansible):
    primary, replica = cluster.primary, cluster.replicas[0]
    promote = dict(login_port=replica.port, role="primary")

    result = run_module("redis_replication", promote, check_mode=True)
    assert result["changed"] is True and result["after"] == {"role": "primary", "primary": None}
    assert _repl(replica)["role"] == "slave"

    result = run_ansible("redis_replication", promote)
    assert result["changed"] is True, result
    assert set(result) - ANSIBLE_KEYS <= RETURN_KEYS
    assert result["commands"] == ["REPLICAOF NO ONE", "CONFIG REWRITE"]
    assert _repl(replica)["role"] == "master"
    assert run_module("redis_replication", promote)["changed"] is False

    follow = dict(login_port=replica.port, primary_host=primary.host, primary_port=primary.port, _ansible_diff=True)
    result = run_module("redis_replication", follow, check_mode=True)
    assert result["changed"] is True and _repl(replica)["role"] == "master"
    # the demoted primary closes its clients' connections in the same transaction (Sentinel's client contract)
    bystander = replica.client(single_connection_client=True, retry=Retry(NoBackoff(), 0))
    subscriber = replica.client().pubsub()
    subscriber.subscribe("news")
    assert bystander.ping() is True and subscriber.get_message(timeout=1)["type"] == "subscribe"
    subscribers = _client_ids(replica, "pubsub")
    assert subscribers  # ours, and each Sentinel's hello channel
    result = run_module("redis_replication", follow)
    assert result["changed"] is True
    assert result["commands"] == ["MULTI", "REPLICAOF %s %d" % (primary.host, primary.port), "CONFIG REWRITE",
                                  "CLIENT KILL TYPE normal", "CLIENT KILL TYPE pubsub", "EXEC"]
    assert result["clients_disconnected"] >= 2, result
    with pytest.raises(redis.ConnectionError):
        bystander.ping()
    assert not subscribers & _client_ids(replica, "pubsub")
    assert result["diff"]["after"] == {"role": "replica", "primary": primary.address}
    info = _repl(replica)
    assert (info["role"], info["master_host"], int(info["master_port"])) == ("slave", primary.host, primary.port)
    assert "replicaof %s %d" % (primary.host, primary.port) in replica.config_path.read_text()
    assert run_module("redis_replication", follow)["changed"] is False


def test_refuses_unasked_demotion_and_self_replication(cluster, run_module):
    primary, replica = cluster.primary, cluster.replicas[0]
    result = run_module("redis_replication", dict(login_port=primary.port, primary_host=replica.host,
                                                  primary_port=replica.port))
    assert result["failed"] is True and "connected replica" in result["msg"]
    assert _repl(primary)["role"] == "master"
    result = run_module("redis_replication", dict(login_port=replica.port, primary_host="127.0.0.1",
                                                  primary_port=replica.port))
    assert result["failed"] is True and "itself" in result["msg"]
    result = run_module("redis_replication", dict(login_port=replica.port, role="primary", primary_host="x"))
    assert result["failed"] is True
    assert _repl(replica)["role"] == "slave"


def test_instances_in_one_run_check_change_repeat_and_a_refused_entry(cluster, run_module, run_ansible):
    primary, first, second = cluster.primary, cluster.replicas[0], cluster.replicas[1]
    entries = [dict(name="first", login_port=first.port, role="primary"),
               dict(name="second", login_port=second.port, primary_host=primary.host, primary_port=primary.port)]
    args = dict(instances=entries, _ansible_diff=True)

    result = run_module("redis_replication", args, check_mode=True)
    assert result["changed"] is True, result
    assert result["instances"]["first"]["after"] == {"role": "primary", "primary": None}
    assert result["instances"]["first"]["changed"] is True and result["instances"]["second"]["changed"] is False
    assert [d["after_header"] for d in result["diff"]] == ["instance first", "instance second"]
    assert _repl(first)["role"] == "slave"

    result = run_ansible("redis_replication", dict(instances=entries))
    assert result["changed"] is True, result
    assert set(result) - ANSIBLE_KEYS <= {"changed", "instances", "diff"}
    assert result["instances"]["first"]["commands"] == ["REPLICAOF NO ONE", "CONFIG REWRITE"]
    assert result["instances"]["second"]["commands"] == []
    assert _repl(first)["role"] == "master" and _repl(second)["role"] == "slave"
    assert run_module("redis_replication", args)["changed"] is False

    # A refused entry (a replica of itself) is named; the other entry is still done.
    bad = [dict(name="first", login_port=first.port, primary_host=primary.host, primary_port=primary.port),
           dict(name="second", login_port=second.port, primary_host="127.0.0.1", primary_port=second.port)]
    result = run_module("redis_replication", dict(instances=bad))
    assert result["failed"] is True and result["changed"] is True, result
    assert result["msg"] == ("1 of 2 instances failed (instance second: Refusing to make 127.0.0.1:%d a replica of "
                             "itself)." % second.port), result["msg"]
    assert _repl(first)["role"] == "slave" and _repl(second)["master_port"] == primary.port


def test_instances_check_each_entry_role_and_primary(cluster, run_module):
    node = cluster.replicas[0]
    result = run_module("redis_replication", dict(instances=[dict(name="x", login_port=node.port)]))
    assert result["failed"] is True and result["msg"] == (
        "Instance x: primary_host is required with role=replica: the address of the primary to follow."), result
    result = run_module("redis_replication", dict(role="primary", instances=[dict(name="x", login_port=node.port)]))
    assert result["failed"] is True and "mutually exclusive" in result["msg"], result
    assert _repl(node)["role"] == "slave"
