# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions of plugins/module_utils/_redis_config.py: value normalisation and plans, no server."""

from __future__ import annotations

import pytest
from ansible_collections.ha.redis.plugins.module_utils import _redis_config as rc
from ansible_collections.ha.redis.plugins.module_utils._connection import HaRedisError


@pytest.mark.parametrize("name,desired,reported", [
    ("maxmemory", "100mb", "104857600"),
    ("maxmemory", "1g", "1000000000"),
    ("maxmemory", "1GB", "1073741824"),
    ("maxmemory", "10k", "10000"),
    ("maxmemory", 0, "0"),
    ("appendonly", True, "yes"),
    ("appendonly", False, "no"),
    ("appendonly", "YES", "yes"),
    ("save", ["3600 1", "300 100"], "3600 1 300 100"),
    ("save", [[3600, 1], [300, 100]], "3600 1 300 100"),
    ("save", "", ""),
    ("client-output-buffer-limit", "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60",
     "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"),
    ("notify-keyspace-events", "KEA", "AKE"),
    ("notify-keyspace-events", "Ex", "xE"),
    ("maxmemory-policy", "ALLKEYS-LRU", "allkeys-lru"),
    ("hz", 10.0, "10"),
])
def test_values_equal(name, desired, reported):
    assert rc.values_equal(name, desired, reported)


@pytest.mark.parametrize("name,desired,reported", [
    ("maxmemory", "100mb", "100000000"),
    ("appendonly", True, "no"),
    ("save", ["3600 1"], "3600 1 300 100"),
    ("requirepass", "Secret", "secret"),
    ("notify-keyspace-events", "KE", "KEx"),
    ("dir", "/Data", "/data"),
])
def test_values_differ(name, desired, reported):
    assert not rc.values_equal(name, desired, reported)


def test_plan_config_splits_runtime_and_restart():
    current = {"maxmemory": "0", "databases": "16", "appendonly": "yes", "dir": "/var/lib/redis"}
    to_set, restart = rc.plan_config({"maxmemory": "1mb", "databases": 32, "appendonly": True,
                                      "dir": "/var/lib/redis"}, current)
    assert to_set == [("maxmemory", "1mb")]
    assert restart == ["databases"]


def test_plan_config_refuses_unknown_and_replication():
    with pytest.raises(HaRedisError, match="no-such"):
        rc.plan_config({"no-such": 1}, {"maxmemory": "0"})
    with pytest.raises(HaRedisError, match="redis_replication"):
        rc.plan_config({"replicaof": "h 1"}, {"replicaof": ""})


def test_secrets_masked_in_commands_and_display():
    assert rc.config_command("requirepass", "hunter2") == "CONFIG SET requirepass ********"
    assert rc.config_command("masterauth", "") == 'CONFIG SET masterauth ""'
    assert rc.config_command("save", "3600 1") == 'CONFIG SET save "3600 1"'
    assert rc.display("requirepass", "x") == "********"
    assert rc.display("maxmemory", "1") == "1"


def _state(info):
    return rc.replication_state(info)


def test_replication_plan():
    primary = _state({"role": "master", "connected_slaves": 0})
    loaded_primary = _state({"role": "master", "connected_slaves": 2})
    replica = _state({"role": "slave", "master_host": "10.0.0.1", "master_port": 6379, "master_link_status": "up"})
    assert rc.plan_replication(primary, "primary") is None
    assert rc.plan_replication(replica, "primary") == ("NO", "ONE")
    assert rc.plan_replication(replica, "replica", "10.0.0.1", 6379) is None
    assert rc.plan_replication(replica, "replica", "10.0.0.2", 6379) == ("10.0.0.2", "6379")
    assert rc.plan_replication(primary, "replica", "10.0.0.2", 6379) == ("10.0.0.2", "6379")
    with pytest.raises(HaRedisError, match="connected replica"):
        rc.plan_replication(loaded_primary, "replica", "10.0.0.2", 6379)
    assert rc.plan_replication(loaded_primary, "replica", "10.0.0.2", 6379, force=True) == ("10.0.0.2", "6379")
    with pytest.raises(HaRedisError, match="itself"):
        rc.plan_replication(primary, "replica", "10.0.0.1", 6379, self_endpoint=("10.0.0.1", 6379))


def test_demotion_commands_are_sentinels_own_in_order():
    assert rc.demotion_commands("10.0.0.2", 6380) == [
        ("REPLICAOF", "10.0.0.2", "6380"), ("CONFIG", "REWRITE"),
        ("CLIENT", "KILL", "TYPE", "normal"), ("CLIENT", "KILL", "TYPE", "pubsub")]
    assert ("CONFIG", "REWRITE") not in rc.demotion_commands("10.0.0.2", "6380", rewrite=False)
    assert rc.command_text(("CLIENT", "KILL", "TYPE", "normal")) == "CLIENT KILL TYPE normal"


def test_stray_clients_spares_the_caller_and_sentinels_links():
    clients = [dict(id="5", age="0", name=""), dict(id="6", age="1", name="sentinel-1a2b3c4d-cmd"),
               dict(id="7", age="12", name=""), dict(id="8", age="2", name="app"), dict(id="9", name="")]
    assert rc.stray_clients(clients, 2.4, own_id=5) == ["8"]
    assert rc.stray_clients(clients, 20, own_id="99") == ["5", "7", "8"]
