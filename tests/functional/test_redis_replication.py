# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ha.redis.redis_replication against real redis-server processes."""

from __future__ import annotations

# keys Ansible itself adds to a result
ANSIBLE_KEYS = {"invocation", "rc", "warnings", "deprecations", "action", "_ansible_no_log", "failed", "msg"}
RETURN_KEYS = {"changed", "before", "after", "commands", "diff"}


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
    result = run_module("redis_replication", follow)
    assert result["changed"] is True
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
