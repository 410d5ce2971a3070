# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ha.redis.sentinel_monitor against a real redis-sentinel."""

from __future__ import annotations

from conftest import DATA_PASSWORD, SENTINEL_PASSWORD

# keys Ansible itself adds to a result
ANSIBLE_KEYS = {"invocation", "rc", "warnings", "deprecations", "action", "_ansible_no_log", "failed", "msg"}
RETURN_KEYS = {"changed", "before", "after", "commands", "address_differs", "unverified", "diff"}


def _master(sentinel, name):
    reply = sentinel.client().execute_command("SENTINEL", "MASTER", name)
    if isinstance(reply, dict):
        return {str(k): v for k, v in reply.items()}
    return dict(zip(reply[0::2], reply[1::2]))


def _monitored(sentinel):
    return [m["name"] if isinstance(m, dict) else dict(zip(m[0::2], m[1::2]))["name"]
            for m in sentinel.client().execute_command("SENTINEL", "MASTERS")]


def test_monitor_set_remove_rhythm(secured_cluster, run_module, run_ansible):
    sentinel = secured_cluster.sentinels[0]
    replica = secured_cluster.replicas[0]
    base = dict(login_port=sentinel.port, sentinel_password=SENTINEL_PASSWORD, primary_name="extra",
                config_file=str(sentinel.config_path))
    present = dict(base, primary_host=replica.host, primary_port=replica.port, quorum=2,
                   settings={"down-after-milliseconds": 3000, "auth-pass": DATA_PASSWORD})

    result = run_ansible("sentinel_monitor", present, check_mode=True)
    assert result["changed"] is True, result
    assert result["commands"][0] == "SENTINEL MONITOR extra %s %d 2" % (replica.host, replica.port)
    assert "SENTINEL SET extra auth-pass ********" in result["commands"]
    assert "extra" not in _monitored(sentinel)

    result = run_ansible("sentinel_monitor", present)
    assert result["changed"] is True, result
    assert set(result) - ANSIBLE_KEYS <= RETURN_KEYS
    assert DATA_PASSWORD not in str({k: v for k, v in result.items() if k != "invocation"})
    state = _master(sentinel, "extra")
    assert (state["port"], state["quorum"], state["down-after-milliseconds"]) == (str(replica.port), "2", "3000")
    assert "sentinel auth-pass extra %s" % DATA_PASSWORD in sentinel.config_path.read_text()

    again = run_module("sentinel_monitor", present)
    assert again["changed"] is False and again["unverified"] == [], again

    # a different address is never acted on: reported, nothing moved; quorum/settings still applied
    moved = dict(present, primary_port=secured_cluster.primary.port, quorum=1,
                 settings={"down-after-milliseconds": 3000, "auth-pass": "new-pass"}, _ansible_diff=True)
    result = run_module("sentinel_monitor", moved, check_mode=True)
    assert result["address_differs"] is True and result["changed"] is True
    assert "SENTINEL SET extra quorum 1" in result["commands"]
    assert "SENTINEL SET extra auth-pass ********" in result["commands"]
    assert _master(sentinel, "extra")["quorum"] == "2"
    result = run_module("sentinel_monitor", moved)
    assert result["changed"] is True and result["address_differs"] is True
    assert "new-pass" not in str({k: v for k, v in result.items() if k != "invocation"})
    state = _master(sentinel, "extra")
    assert (state["port"], state["quorum"]) == (str(replica.port), "1")
    assert run_module("sentinel_monitor", moved)["changed"] is False

    # without config_file the unreported secret cannot be compared: left alone and reported
    blind = dict(moved)
    blind.pop("config_file")
    result = run_module("sentinel_monitor", blind)
    assert result["changed"] is False and result["unverified"] == ["auth-pass"]

    absent = dict(base, state="absent")
    result = run_module("sentinel_monitor", absent, check_mode=True)
    assert result["changed"] is True and "extra" in _monitored(sentinel)
    result = run_module("sentinel_monitor", absent)
    assert result["changed"] is True and result["commands"] == ["SENTINEL REMOVE extra", "SENTINEL FLUSHCONFIG"]
    assert "extra" not in _monitored(sentinel)
    assert run_module("sentinel_monitor", absent)["changed"] is False


def test_present_without_address_fails_when_not_monitored(cluster, run_module):
    sentinel = cluster.sentinels[0]
    result = run_module("sentinel_monitor", dict(login_port=sentinel.port, primary_name="nothere", quorum=2))
    assert result["failed"] is True and "primary_host" in result["msg"]
