# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ha.redis.redis_config against a real redis-server."""

from __future__ import annotations

from conftest import DATA_PASSWORD

# keys Ansible itself adds to a result
ANSIBLE_KEYS = {"invocation", "rc", "warnings", "deprecations", "action", "_ansible_no_log", "failed", "msg"}
RETURN_KEYS = {"changed", "changes", "commands", "restart_required", "diff"}
WANTED = {"maxmemory": "100mb", "appendonly": True, "save": ["3600 1", "300 100"], "databases": 20,
          "notify-keyspace-events": "KEA", "maxmemory-policy": "ALLKEYS-LRU"}


def _get(node, name):
    return node.client().config_get(name)[name]


def test_check_apply_repeat_through_ansible(secured_cluster, run_module, run_ansible):
    node = secured_cluster.primary
    args = dict(login_port=node.port, login_password=DATA_PASSWORD, config=WANTED)

    result = run_ansible("redis_config", args, check_mode=True)
    assert result["changed"] is True, result
    assert set(result["changes"]) == {"maxmemory", "appendonly", "save", "notify-keyspace-events", "maxmemory-policy"}
    assert result["restart_required"] == ["databases"]
    assert _get(node, "maxmemory") == "0" and _get(node, "appendonly") == "no"

    result = run_ansible("redis_config", args)
    assert result["changed"] is True, result
    assert set(result) - ANSIBLE_KEYS <= RETURN_KEYS
    assert result["changes"]["maxmemory"] == {"before": "0", "after": "104857600"}
    assert "CONFIG REWRITE" in result["commands"]
    assert _get(node, "maxmemory") == "104857600"
    assert _get(node, "appendonly") == "yes"
    assert _get(node, "save") == "3600 1 300 100"
    assert _get(node, "maxmemory-policy") == "allkeys-lru"
    assert _get(node, "databases") == "16"
    # CONFIG REWRITE persisted it
    assert "maxmemory 100mb" in node.config_path.read_text()

    again = run_module("redis_config", args)
    assert again["changed"] is False, again
    assert again["commands"] == [] and again["restart_required"] == ["databases"]


def test_secret_is_compared_never_returned(secured_cluster, run_module):
    node = secured_cluster.replicas[0]
    new_secret = "rotated-Pa55"
    args = dict(login_port=node.port, login_password=DATA_PASSWORD, config={"requirepass": new_secret},
                _ansible_diff=True, rewrite=False)
    result = run_module("redis_config", args)
    assert result["changed"] is True
    assert new_secret not in str({k: v for k, v in result.items() if k != "invocation"})
    assert result["commands"] == ["CONFIG SET requirepass ********"]
    assert result["diff"]["after"]["requirepass"] == "********"
    assert node.client(password=new_secret).ping()
    again = run_module("redis_config", dict(args, login_password=new_secret))
    assert again["changed"] is False, again
    assert new_secret not in str(again)


def test_unknown_and_replication_settings_fail(cluster, run_module):
    node = cluster.primary
    result = run_module("redis_config", dict(login_port=node.port, config={"no-such-setting": 1}))
    assert result["failed"] is True and "no-such-setting" in result["msg"]
    result = run_module("redis_config", dict(login_port=node.port, config={"replicaof": "127.0.0.1 1"}))
    assert result["failed"] is True and "redis_replication" in result["msg"]
    assert node.client().info("replication")["role"] == "master"
