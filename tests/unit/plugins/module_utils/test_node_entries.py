# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The entries of the node modules' list forms (module_utils/_node_entries.py and their filters). Pure."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.ha.redis.plugins.filter.server import FilterModule
from ansible_collections.ha.redis.plugins.module_utils import _node_entries as entries
from ansible_collections.ha.redis.plugins.module_utils._common import HaRedisError

GROUPS = [dict(name="cache", port=6379, config={"maxmemory": "1gb"}, min_replicas_to_write=1,
               min_replicas_max_lag=10, cluster=""),
          dict(name="queue", port=6380, config={}, min_replicas_to_write=0, min_replicas_max_lag=10, cluster="")]
TOPOLOGY = {
    "cache": dict(primary_host="redis-1", primary_address="10.0.0.11", primary_port=6379, bootstrap=False),
    "queue": dict(primary_host="redis-2", primary_address="10.0.0.12", primary_port=6380, bootstrap=True),
}


def test_node_entries_leave_out_the_excluded():
    assert entries.node_entries(GROUPS, ["queue"]) == [dict(name="cache", login_port=6379)]
    assert [e["name"] for e in entries.node_entries(GROUPS)] == ["cache", "queue"]


@pytest.mark.parametrize("host, expected", [
    # a replica of both: follows each primary
    ("redis-3", [dict(name="cache", login_port=6379, role="replica", primary_host="10.0.0.11", primary_port=6379),
                 dict(name="queue", login_port=6380, role="replica", primary_host="10.0.0.12", primary_port=6380)]),
    # primary of a running group: left to Sentinel
    ("redis-1", [dict(name="queue", login_port=6380, role="replica", primary_host="10.0.0.12", primary_port=6380)]),
    # primary of a group at bootstrap: made a primary
    ("redis-2", [dict(name="cache", login_port=6379, role="replica", primary_host="10.0.0.11", primary_port=6379),
                 dict(name="queue", login_port=6380, role="primary", primary_port=6380)]),
])
def test_replication_entries_follow_the_loop_conditions(host, expected):
    assert entries.replication_entries(GROUPS, TOPOLOGY, host) == expected


def test_runtime_config_entries_layer_the_settings_later_wins():
    managed = {"bind": "0.0.0.0", "maxmemory": "1mb"}
    found = entries.runtime_config_entries(GROUPS, managed, {"maxmemory": "2mb", "min-replicas-max-lag": 5})
    assert found[0] == dict(name="cache", login_port=6379, config={
        "bind": "0.0.0.0", "maxmemory": "1gb", "min-replicas-to-write": 1, "min-replicas-max-lag": 5})
    assert found[1]["config"]["maxmemory"] == "2mb" and found[1]["config"]["min-replicas-to-write"] == 0


def test_monitor_entries_and_an_unknown_group():
    assert entries.monitor_entries([{"name": "queue"}], TOPOLOGY) == [
        dict(primary_name="queue", primary_host="10.0.0.12", primary_port=6380)]
    with pytest.raises(HaRedisError, match="Group other is not in the topology read from the Sentinels"):
        entries.monitor_entries([{"name": "other"}], TOPOLOGY)


def test_filters_name_themselves_in_errors():
    filters = FilterModule().filters()
    with pytest.raises(AnsibleFilterError, match="^ha.redis.replication_entries: Group cache is not in the topology"):
        filters["replication_entries"](GROUPS, {}, "redis-1")
    with pytest.raises(AnsibleFilterError, match="^ha.redis.node_entries: expected the instances of the model"):
        filters["node_entries"]([{"name": "x"}])
