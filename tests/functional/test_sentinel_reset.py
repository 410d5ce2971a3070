# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ha.redis.sentinel_reset against real redis-sentinel processes: retired members are forgotten, live ones kept."""

from __future__ import annotations

from cluster import sentinel_state, wait_until
from conftest import SENTINEL_PASSWORD

# keys Ansible itself adds to a result
ANSIBLE_KEYS = {"invocation", "rc", "warnings", "deprecations", "action", "_ansible_no_log", "failed", "msg"}
RETURN_KEYS = {"changed", "reset", "before", "after", "forgotten", "commands", "elapsed", "diff"}


def _counts(sentinel, name):
    state = sentinel_state(sentinel.client(), name)
    return int(state["num-other-sentinels"]), int(state["num-slaves"])


def test_reset_forgets_retired_members_and_waits(secured_cluster, run_module, run_ansible):
    c = secured_cluster
    retired_replica, retired_sentinel = c.replicas[-1], c.sentinels[-1]
    retired_replica.stop()
    retired_sentinel.stop()
    first, second = c.sentinels[0], c.sentinels[1]
    args = dict(login_port=first.port, sentinel_password=SENTINEL_PASSWORD, primary_name=c.name,
                expected_sentinels=2, expected_replicas=1, timeout=20)
    assert _counts(first, c.name) == (2, 2)  # a Sentinel remembers retired members on its own

    result = run_ansible("sentinel_reset", args, check_mode=True)
    assert result["changed"] is True and result["reset"] is True, result
    assert result["commands"] == ["SENTINEL RESET %s" % c.name]
    assert _counts(first, c.name) == (2, 2)

    result = run_ansible("sentinel_reset", args)
    assert result["changed"] is True and result.get("failed") is not True, result
    assert set(result) - ANSIBLE_KEYS <= RETURN_KEYS
    assert result["forgotten"] == {"sentinels": [retired_sentinel.address], "replicas": [retired_replica.address]}
    assert result["after"]["sentinels"] == [second.address]
    assert result["after"]["replicas"] == [c.replicas[0].address]
    assert _counts(first, c.name) == (1, 1)
    # the other Sentinel was not touched: it still lists the retired members
    assert _counts(second, c.name) == (2, 2)

    again = run_module("sentinel_reset", args)
    assert again["changed"] is False and again["reset"] is False and again["commands"] == [], again

    result = run_module("sentinel_reset", dict(args, login_port=second.port, _ansible_diff=True))
    assert result["changed"] is True, result
    assert result["diff"] == {"before": result["before"], "after": result["after"]}
    assert _counts(second, c.name) == (1, 1)


def test_reset_waits_and_reports_expected_vs_seen(secured_cluster, run_module):
    c = secured_cluster
    first = c.sentinels[0]
    wait_until(lambda: _counts(first, c.name) == (2, 2), what="Sentinel sees everyone")
    # nothing to forget, but a member that does not exist is never found: fails after the timeout, expected vs seen
    result = run_module("sentinel_reset", dict(login_port=first.port, sentinel_password=SENTINEL_PASSWORD,
                                               primary_name=c.name, expected_sentinels=3, expected_replicas=3,
                                               timeout=1, sleep=0.2))
    assert result["failed"] is True and result["reset"] is False, result
    assert "lists 2 other Sentinels and 2 replicas" in result["msg"] and "expected 2 and 3" in result["msg"]

    # forced: forgets everyone, then finds the live members again within the hello period
    result = run_module("sentinel_reset", dict(login_port=first.port, sentinel_password=SENTINEL_PASSWORD,
                                               primary_name=c.name, expected_sentinels=3, expected_replicas=2,
                                               force=True, timeout=20))
    assert result["changed"] is True and result["forgotten"] == {"sentinels": [], "replicas": []}, result
    assert _counts(first, c.name) == (2, 2)

    missing = run_module("sentinel_reset", dict(login_port=first.port, sentinel_password=SENTINEL_PASSWORD,
                                                primary_name="nosuchgroup", expected_sentinels=3, expected_replicas=2))
    assert missing["failed"] is True and "does not monitor group nosuchgroup" in missing["msg"], missing
