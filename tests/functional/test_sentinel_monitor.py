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


def test_groups_in_one_run_check_change_repeat_and_a_failing_group(secured_cluster, run_module, run_ansible):
    sentinel = secured_cluster.sentinels[0]
    first, second = secured_cluster.replicas
    groups = [dict(primary_name="extra-a", primary_host=first.host, primary_port=first.port),
              dict(primary_name="extra-b", primary_host=second.host, primary_port=second.port, quorum=1,
                   settings={"down-after-milliseconds": 4000})]
    args = dict(login_port=sentinel.port, sentinel_password=SENTINEL_PASSWORD, config_file=str(sentinel.config_path),
                quorum=2, settings={"down-after-milliseconds": 3000, "auth-pass": DATA_PASSWORD}, groups=groups)

    result = run_module("sentinel_monitor", dict(args, _ansible_diff=True), check_mode=True)
    assert result["changed"] is True, result
    assert result["groups"]["extra-a"]["commands"][0] == "SENTINEL MONITOR extra-a %s %d 2" % (first.host, first.port)
    assert result["groups"]["extra-b"]["commands"][0] == "SENTINEL MONITOR extra-b %s %d 1" % (second.host, second.port)
    assert [d["before_header"] for d in result["diff"]] == ["group extra-a", "group extra-b"]
    assert "extra-a" not in _monitored(sentinel) and "extra-b" not in _monitored(sentinel)

    result = run_ansible("sentinel_monitor", args)
    assert result["changed"] is True, result
    assert set(result) - ANSIBLE_KEYS <= {"changed", "groups", "diff"}
    assert set(result["groups"]["extra-a"]) == RETURN_KEYS - {"diff"}
    assert DATA_PASSWORD not in str({k: v for k, v in result.items() if k != "invocation"})
    a, b = _master(sentinel, "extra-a"), _master(sentinel, "extra-b")
    assert (a["quorum"], a["down-after-milliseconds"]) == ("2", "3000")
    assert (b["quorum"], b["down-after-milliseconds"]) == ("1", "4000")  # the entry's own quorum and settings
    assert "sentinel auth-pass extra-a %s" % DATA_PASSWORD in sentinel.config_path.read_text()

    # Only the group that drifted changes.
    sentinel.client().execute_command("SENTINEL", "SET", "extra-a", "down-after-milliseconds", "9000")
    result = run_module("sentinel_monitor", args)
    assert result["changed"] is True
    assert result["groups"]["extra-a"]["commands"] == ["SENTINEL SET extra-a down-after-milliseconds 3000",
                                                       "SENTINEL FLUSHCONFIG"]
    assert result["groups"]["extra-b"]["changed"] is False and result["groups"]["extra-b"]["commands"] == []
    assert run_module("sentinel_monitor", args)["changed"] is False

    # A group that cannot be created is named; the others are still converged.
    sentinel.client().execute_command("SENTINEL", "SET", "extra-b", "quorum", "2")
    result = run_module("sentinel_monitor", dict(args, groups=groups + [dict(primary_name="extra-c")]))
    assert result["failed"] is True and result["changed"] is True, result
    assert result["msg"] == ("1 of 3 groups failed (group extra-c: Sentinel does not monitor extra-c yet: "
                             "primary_host, primary_port and quorum are needed to start monitoring it)."), result
    assert _master(sentinel, "extra-b")["quorum"] == "1"
    assert "extra-c" not in _monitored(sentinel)
