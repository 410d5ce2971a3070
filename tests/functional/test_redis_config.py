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


def test_instances_in_one_run_check_change_repeat_and_a_failing_entry(secured_cluster, run_module, run_ansible):
    first, second = secured_cluster.replicas
    second.client().config_set("maxmemory", "50mb")
    entries = [dict(name="one", login_port=first.port, config={"maxmemory": "50mb", "masterauth": DATA_PASSWORD}),
               dict(name="two", login_port=second.port, config={"maxmemory": "50mb"})]
    args = dict(login_password=DATA_PASSWORD, instances=entries, _ansible_diff=True)

    result = run_module("redis_config", args, check_mode=True)
    assert result["changed"] is True, result
    assert result["instances"]["one"]["changed"] is True and result["instances"]["two"]["changed"] is False
    assert result["instances"]["one"]["changes"] == {"maxmemory": {"before": "0", "after": "52428800"}}
    assert [d["before_header"] for d in result["diff"]] == ["instance one", "instance two"]
    assert _get(first, "maxmemory") == "0"

    result = run_ansible("redis_config", {k: v for k, v in args.items() if k != "_ansible_diff"})
    assert result["changed"] is True, result
    assert set(result) - ANSIBLE_KEYS <= {"changed", "instances", "diff"}
    assert set(result["instances"]["one"]) == {"changed", "changes", "commands", "restart_required"}
    assert result["instances"]["one"]["commands"] == ["CONFIG SET maxmemory 50mb",
                                                      "CONFIG REWRITE"]
    assert result["instances"]["two"] == {"changed": False, "changes": {}, "commands": [], "restart_required": []}
    assert DATA_PASSWORD not in str({k: v for k, v in result.items() if k != "invocation"})
    assert _get(first, "maxmemory") == "52428800"

    again = run_module("redis_config", args)
    assert again["changed"] is False and not any(r["changed"] for r in again["instances"].values()), again

    # One bad entry fails the run and is named; the other is still applied.
    bad = dict(args, instances=[dict(name="one", login_port=first.port, config={"maxmemory": "60mb"}),
                                dict(name="two", login_port=second.port, config={"no-such-setting": 1})])
    result = run_module("redis_config", bad)
    assert result["failed"] is True and result["changed"] is True
    assert result["msg"].startswith("1 of 2 instances failed (instance two: The server does not know"), result["msg"]
    assert result["instances"]["two"]["failed"] is True and result["instances"]["one"]["changed"] is True
    assert _get(first, "maxmemory") == "62914560"


def test_instances_refuse_the_single_form_and_duplicate_names(cluster, run_module):
    node = cluster.primary
    entry = dict(name="one", login_port=node.port, config={"maxmemory": "1mb"})
    result = run_module("redis_config", dict(login_port=node.port, instances=[entry]))
    assert result["failed"] is True and "mutually exclusive" in result["msg"], result
    result = run_module("redis_config", dict(instances=[entry, entry]))
    assert result["failed"] is True and result["msg"] == (
        "Option instances names name 'one' twice: expected one entry per name."), result
    assert _get(node, "maxmemory") == "0"
