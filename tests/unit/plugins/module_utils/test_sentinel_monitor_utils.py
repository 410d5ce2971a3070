# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions of plugins/module_utils/_sentinel_monitor.py, no server."""

from __future__ import annotations

import pytest
from ansible_collections.ha.redis.plugins.module_utils import _sentinel_monitor as sm
from ansible_collections.ha.redis.plugins.module_utils._connection import HaRedisError

CURRENT = dict(host="10.0.0.1", port=6379, quorum=2,
               settings={"down-after-milliseconds": "5000", "parallel-syncs": "1", "auth-pass": "old"})


def test_not_monitored_creates_then_sets():
    plan = sm.plan_monitor(None, "present", "main", "10.0.0.1", 6379, 2, {"parallel-syncs": 1})
    assert plan["commands"] == [("SENTINEL", "MONITOR", "main", "10.0.0.1", "6379", "2"),
                                ("SENTINEL", "SET", "main", "parallel-syncs", "1")]
    with pytest.raises(HaRedisError, match="primary_host"):
        sm.plan_monitor(None, "present", "main", None, 6379, 2, {})


def test_monitored_never_moves_only_sets_differences():
    plan = sm.plan_monitor(CURRENT, "present", "main", "10.0.0.9", 6379, 3,
                           {"down-after-milliseconds": 5000, "parallel-syncs": 2}, compare_unreported=True)
    assert plan["address_differs"] is True
    assert plan["commands"] == [("SENTINEL", "SET", "main", "quorum", "3"),
                                ("SENTINEL", "SET", "main", "parallel-syncs", "2")]
    same = sm.plan_monitor(CURRENT, "present", "main", "10.0.0.1", 6379, 2, {"down-after-milliseconds": 5000})
    assert same["commands"] == [] and same["address_differs"] is False


def test_unreported_secret_policy():
    settings = {"auth-pass": "new"}
    compared = sm.plan_monitor(CURRENT, "present", "main", settings=settings, compare_unreported=True)
    assert compared["commands"] == [("SENTINEL", "SET", "main", "auth-pass", "new")]
    blind = sm.plan_monitor(CURRENT, "present", "main", settings=settings)
    assert blind["commands"] == [] and blind["unverified"] == ["auth-pass"]
    always = sm.plan_monitor(CURRENT, "present", "main", settings=settings, update_secrets="always")
    assert always["commands"] == [("SENTINEL", "SET", "main", "auth-pass", "new")]


def test_absent():
    assert sm.plan_monitor(CURRENT, "absent", "main")["commands"] == [("SENTINEL", "REMOVE", "main")]
    assert sm.plan_monitor(None, "absent", "main")["commands"] == []


def test_command_text_masks_auth_pass():
    assert sm.command_text(("SENTINEL", "SET", "main", "auth-pass", "s3cret")) == "SENTINEL SET main auth-pass ********"
    assert sm.command_text(("SENTINEL", "SET", "main", "auth-user", "bob")) == "SENTINEL SET main auth-user bob"


def test_parse_sentinel_conf():
    text = ('sentinel monitor main 10.0.0.1 6379 2\nsentinel auth-pass main "pa ss\\"x"\n'
            "sentinel auth-user main bob\nsentinel auth-pass other nope\n")
    assert sm.parse_sentinel_conf(text, "main") == {"monitor": "10.0.0.1 6379 2", "auth-pass": 'pa ss"x',
                                                    "auth-user": "bob"}


def test_predict():
    plan = sm.plan_monitor(None, "present", "main", "h", 1, 2, {"parallel-syncs": 1})
    after = sm.predict(None, plan, {})
    assert after == dict(host="h", port=1, quorum=2, settings={"parallel-syncs": "1"})
