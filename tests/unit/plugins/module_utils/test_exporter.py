# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exporters, scrape targets and alert rules of plugins/module_utils/_exporter.py."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from ansible_collections.ha.redis.plugins.module_utils import _exporter as e
from ansible_collections.ha.redis.plugins.module_utils import _topology as t

ROOT = Path(__file__).resolve().parents[4]
MAIN = {"name": "main", "port": 6379, "initial_primary": "r1"}
CACHE = {"name": "cache", "port": 6380, "initial_primary": "r2", "hosts": ["r2", "r3"]}


def model(groups=(MAIN, CACHE), sentinels=("r1", "r2", "r3"), hostvars=None):
    hosts = ("r1", "r2", "r3", "s4")
    return t.build_topology({"redis": ["r1", "r2", "r3"], "redis_sentinel": list(sentinels)},
                            hostvars or {h: {"ansible_host": "10.0.0.%d" % (i + 1)} for i, h in enumerate(hosts)},
                            list(groups))


def test_host_exporters_one_per_group_and_one_for_the_sentinel():
    found = e.host_exporters(model(), "r2")
    assert [(x.name, x.role, x.group, x.port, x.listen_port, x.target) for x in found] == [
        ("main", "data", "main", 6379, 9379, "10.0.0.2:9379"),
        ("cache", "data", "cache", 6380, 9380, "10.0.0.2:9380"),
        ("sentinel-ha", "sentinel", "main,cache", 26379, 29379, "10.0.0.2:29379"),
    ]


def test_host_exporters_of_redis_cluster_nodes():
    topo = t.build_topology({"redis": ["r1", "r2", "r3"], "redis_sentinel": ["r1", "r2", "r3"]},
                            {h: {"ansible_host": "10.0.0.%s" % h[1:]} for h in ("r1", "r2", "r3")}, [MAIN],
                            clusters=[{"name": "shop", "port": 7000, "instances": 2, "replicas": 1}])
    found = e.host_exporters(topo, "r3")
    assert [(x.name, x.group, x.port, x.listen_port) for x in found] == [
        ("main", "main", 6379, 9379), ("shop-7000", "shop", 7000, 10000), ("shop-7001", "shop", 7001, 10001),
        ("sentinel-ha", "main", 26379, 29379)]


def test_host_exporters_of_a_sentinel_only_host_and_a_data_only_host():
    topo = model(groups=(MAIN,), sentinels=("r1", "r2", "s4"))
    assert [x.name for x in e.host_exporters(topo, "s4", sentinel_instance="x")] == ["sentinel-x"]
    assert [x.name for x in e.host_exporters(topo, "r3")] == ["main"]


def test_listen_address_and_offset():
    found = e.host_exporters(model(groups=(MAIN,)), "r1", offset=100, listen_address="192.0.2.1")
    assert [x.target for x in found] == ["192.0.2.1:6479", "192.0.2.1:26479"]


@pytest.mark.parametrize("offset, message", [
    (1, "would listen on port 6380, already a Redis or Sentinel port"),  # main's exporter on cache's port
    (0, "already a Redis or Sentinel port"),
    (60000, "expected a port up to 65535"),
    ("x", "must be a port number offset"),
])
def test_port_collisions_and_bad_offsets_fail_naming_the_exporter(offset, message):
    with pytest.raises(e.ExporterError) as err:
        e.host_exporters(model(), "r2", offset=offset)
    assert message in str(err.value)


def test_scrape_targets_label_every_exporter():
    targets = e.scrape_targets(model(groups=(MAIN,)))
    assert targets[0] == {"targets": ["10.0.0.1:9379"],
                          "labels": {"ha_redis_group": "main", "ha_redis_role": "data", "ha_redis_host": "r1"}}
    assert len(targets) == 6
    assert {x["labels"]["ha_redis_role"] for x in targets} == {"data", "sentinel"}


def test_alert_settings_are_checked():
    assert e.AlertSettings.from_mapping({"pending": "5s", "max_lag_bytes": "10"}).max_lag_bytes == 10
    for bad, text in [({"pending": "5 s"}, "Prometheus duration"), ({"nope": 1}, "Unknown alert setting"),
                      ({"memory_ratio": 2}, "0 < memory_ratio <= 1"), ({"max_lag_bytes": "x"}, "must be numbers")]:
        with pytest.raises(e.ExporterError, match=text):
            e.AlertSettings.from_mapping(bad)


def test_every_alert_has_a_summary_naming_group_and_instance_and_a_runbook():
    for rule in e.alert_rules()["groups"][0]["rules"]:
        summary = rule["annotations"]["summary"]
        assert "group" in summary.lower()
        # Sentinels that disagree are counted across Sentinels, backups across the group's nodes: those name the
        # group only.
        group_level = ("RedisSentinelsDisagree", "RedisBackupTooOld", "RedisBackupFailed")
        assert rule["alert"] in group_level or "{{ $labels.instance }}" in summary \
            or "{{ $labels.master_address }}" in summary
        assert "{{ $labels.master_name }}" in summary or "{{ $labels.ha_redis_group }}" in summary
        assert rule["annotations"]["runbook"] == "docs/operations.md#" + rule["alert"].lower()
    text = (ROOT / "docs" / "operations.md").read_text()
    for name in e.alert_names():
        assert "\n#### %s\n" % name in text, "docs/operations.md has no section for %s" % name


def test_the_inventory_copy_is_limited_to_its_groups_and_checks_its_quorum():
    rules = e.alert_rules({"pending": "5s"}, model())["groups"][0]
    by_name = {r["alert"]: r for r in rules["rules"]}
    assert rules["name"] == "ha-redis-inventory"
    assert 'ha_redis_group=~"main|cache"' in by_name["RedisFailover"]["expr"]
    assert 'master_name=~"main|cache"' in by_name["RedisGroupWithoutPrimary"]["expr"]
    assert "redis_sentinel_master_ok_sentinels" in by_name["RedisSentinelQuorumLost"]["expr"]
    assert by_name["RedisSentinelQuorumLost"]["expr"].endswith("< 2")
    assert by_name["RedisGroupWithoutPrimary"]["for"] == "5s"
    assert "redis_sentinel_master_ok_sentinels" not in str(e.alert_rules())


def test_the_shipped_rules_file_is_up_to_date():
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "alert_rules.py"), "--check"],
                         capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
