# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options against real processes: each module takes only the credentials it uses, and every
misconfiguration gets a message that names the option and the node."""

from __future__ import annotations

import pytest
from cluster import failed_tasks, run_playbook
from conftest import DATA_PASSWORD, SENTINEL_PASSWORD

SENTINEL_MODULES = [
    ("sentinel_monitor", dict(primary_name="mymaster", state="absent")),
    ("sentinel_reset", dict(primary_name="mymaster", expected_sentinels=3, expected_replicas=2, timeout=0.5)),
]


@pytest.mark.parametrize("module, args", SENTINEL_MODULES, ids=[m for m, _a in SENTINEL_MODULES])
def test_one_sentinel_modules_refuse_the_data_node_credentials(shared_secured_cluster, run_module, module, args):
    sentinel = shared_secured_cluster.sentinels[0]
    result = run_module(module, dict(args, login_port=sentinel.port, login_password=SENTINEL_PASSWORD))
    assert result["failed"] is True
    assert "Unsupported parameters" in result["msg"] and "login_password" in result["msg"], result["msg"]
    assert "sentinel_password" in result["msg"], "the message lists the option to use instead"


@pytest.mark.parametrize("module, args", SENTINEL_MODULES, ids=[m for m, _a in SENTINEL_MODULES])
def test_one_sentinel_modules_name_the_sentinel_and_the_option(shared_secured_cluster, run_module, module, args):
    sentinel = shared_secured_cluster.sentinels[0]
    wrong = run_module(module, dict(args, login_port=sentinel.port, sentinel_password="wrong-password"))
    assert wrong["failed"] is True
    assert ("authentication to the Sentinel at %s failed: it refused the password of option sentinel_password"
            % sentinel.address) in wrong["msg"], wrong["msg"]
    assert "wrong-password" not in wrong["msg"]
    missing = run_module(module, dict(args, login_port=sentinel.port))
    assert ("authentication to the Sentinel at %s failed: it requires a password and option sentinel_password is "
            "not set" % sentinel.address) in missing["msg"], missing["msg"]


def test_data_node_modules_refuse_the_sentinel_credentials(shared_cluster, run_module):
    node = shared_cluster.primary
    for module, args in (("redis_config", dict(config={"maxmemory-policy": "noeviction"})),
                         ("redis_replication", dict(role="primary"))):
        result = run_module(module, dict(args, login_port=node.port, sentinel_password=SENTINEL_PASSWORD))
        assert result["failed"] is True and "Unsupported parameters" in result["msg"], result
        assert "sentinel_password" in result["msg"]


def test_password_for_a_node_without_one(shared_cluster, run_module):
    """redis-py before 8 sends AUTH, which such a node refuses; 8 sends HELLO 3 AUTH, which it accepts."""
    node = shared_cluster.primary
    result = run_module("redis_config", dict(login_port=node.port, login_password=DATA_PASSWORD,
                                             config={"maxmemory-policy": "noeviction"}))
    if result.get("failed"):
        assert ("authentication to the data node at %s failed: option login_password is set but the data node has "
                "no password" % node.address) in result["msg"], result["msg"]


def test_wrong_sentinel_password_in_sentinel_info(shared_secured_cluster, run_module):
    sentinel = shared_secured_cluster.sentinels[0]
    result = run_module("sentinel_info", dict(sentinels=[sentinel.address], sentinel_password="wrong-password"))
    assert result["sentinels"][0]["reachable"] is False
    assert ("authentication to the Sentinel at %s failed: it refused the password of option sentinel_password"
            % sentinel.address) in result["sentinels"][0]["error"]


def test_redis_acl_refuses_the_credentials_of_the_other_kind(shared_cluster, run_module, tmp_path):
    acl = tmp_path / "users.acl"
    acl.write_text("user default on nopass ~* &* +@all\n")
    result = run_module("redis_acl", dict(login_port=shared_cluster.primary.port, acl_file=str(acl),
                                          sentinel_password=SENTINEL_PASSWORD))
    assert result["failed"] is True
    assert result["msg"] == ("Option sentinel_password is not used with node_type=redis, which authenticates with "
                             "login_user and login_password; leave it out.")


def test_missing_ca_file_is_named(shared_cluster, run_module, tmp_path):
    node = shared_cluster.primary
    missing = str(tmp_path / "absent-ca.crt")
    result = run_module("redis_config", dict(login_port=node.port, tls=True, ca_certs=missing,
                                             config={"maxmemory-policy": "noeviction"}))
    assert result["failed"] is True
    assert result["msg"] == "The TLS file %s (option ca_certs) does not exist or is not a file." % missing
    # sentinel_info is also the read before the first deploy, when the files are not there yet: every Sentinel is
    # reported unreachable with the missing file as the reason (site.yml's topology step then bootstraps).
    result = run_module("sentinel_info", dict(sentinels=shared_cluster.sentinel_addresses(), tls=True,
                                              ca_certs=missing))
    assert not result.get("failed"), result
    assert [s["reachable"] for s in result["sentinels"]] == [False] * len(shared_cluster.sentinels)
    assert {s["error"] for s in result["sentinels"]} == {
        "The TLS file %s (option ca_certs) does not exist or is not a file." % missing}


def test_tls_files_without_tls_are_refused(shared_cluster, run_module, tmp_path):
    ca = tmp_path / "ca.crt"
    ca.write_text("not used\n")
    result = run_module("sentinel_info", dict(sentinels=shared_cluster.sentinel_addresses(), ca_certs=str(ca)))
    assert result["failed"] is True
    assert "Option ca_certs is set but tls is false" in result["msg"], result["msg"]


@pytest.mark.parametrize("module, args", [
    ("sentinel_info", dict(sentinels=["127.0.0.1:1"])),
    ("sentinel_quorum", dict(sentinels=["127.0.0.1:1"], primary_name=["mymaster"], timeout=0)),
    ("redis_config", dict(login_port=1, config={"maxmemory-policy": "noeviction"})),
    ("sentinel_monitor", dict(login_port=1, primary_name="mymaster", state="absent")),
])
def test_connect_timeout_zero_is_refused(run_module, module, args):
    result = run_module(module, dict(args, connect_timeout=0))
    assert result["failed"] is True
    assert "Option connect_timeout is 0.0, expected a number of seconds above 0." in result["msg"], result["msg"]


def test_timeouts_take_fractions_of_a_second(shared_cluster, run_module):
    sentinel = shared_cluster.sentinels[0]
    result = run_module("sentinel_info", dict(sentinels=[sentinel.address], connect_timeout=0.5,
                                              command_timeout=0.75))
    assert result["sentinels"][0]["reachable"] is True, result


def test_module_defaults_by_action_group(shared_secured_cluster, tmp_path):
    """Each action group of meta/runtime.yml holds only modules that take its options (module_defaults passes all)."""
    c = shared_secured_cluster
    play = dict(name="Groups", hosts="localhost", gather_facts=False, module_defaults={
        "group/ha.redis.redis": dict(connect_timeout=1.5, command_timeout=2.5),
        "group/ha.redis.data_nodes": dict(login_password=DATA_PASSWORD),
        "group/ha.redis.sentinels": dict(sentinel_password=SENTINEL_PASSWORD),
    }, tasks=[
        {"name": "info", "ha.redis.sentinel_info": dict(sentinels=c.sentinel_addresses())},
        {"name": "quorum", "ha.redis.sentinel_quorum": dict(sentinels=c.sentinel_addresses(), primary_name=[c.name],
                                                            timeout=10)},
        {"name": "monitor", "ha.redis.sentinel_monitor": dict(login_port=c.sentinels[0].port, primary_name="old",
                                                              state="absent")},
        {"name": "reset", "ha.redis.sentinel_reset": dict(login_port=c.sentinels[0].port, primary_name=c.name,
                                                          expected_sentinels=3, expected_replicas=2, timeout=10)},
        {"name": "config", "ha.redis.redis_config": dict(login_port=c.primary.port,
                                                         config={"maxmemory-policy": "noeviction"})},
        {"name": "replication", "ha.redis.redis_replication": dict(login_port=c.primary.port, role="primary")},
    ])
    rc, report, stderr = run_playbook([play], tmp_path)
    assert rc == 0 and not failed_tasks(report), (failed_tasks(report), stderr[-2000:])
