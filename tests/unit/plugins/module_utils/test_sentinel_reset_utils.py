# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions of plugins/module_utils/_sentinel_reset.py, no server."""

from __future__ import annotations

from ansible_collections.ha.redis.plugins.module_utils import _sentinel_reset as sr
from ansible_collections.ha.redis.plugins.module_utils._sentinel import GroupView, InstanceView


def view(sentinels, replicas, flags=("master",)):
    return GroupView(name="main", monitored=True, primary="10.0.0.1:6379", flags=list(flags),
                     sentinels=[InstanceView(address=a) for a in sentinels],
                     replicas=[InstanceView(address=a) for a in replicas])


def test_glob_escape_matches_only_the_name():
    assert sr.glob_escape("main") == "main"
    assert sr.glob_escape("a*b?[c]\\") == "a\\*b\\?\\[c\\]\\\\"


def test_reset_needed_only_when_more_members_than_expected():
    v = view(["10.0.0.2:26379", "10.0.0.3:26379"], ["10.0.0.2:6379", "10.0.0.3:6379"])
    assert sr.reset_needed(v, 3, 2) is False
    assert sr.reset_needed(v, 2, 2) is True   # a retired Sentinel is still listed
    assert sr.reset_needed(v, 3, 1) is True   # a retired replica is still listed
    assert sr.reset_needed(v, 5, 4) is False  # fewer than expected: a reset cannot help, only waiting


def test_settled_needs_exact_counts_and_the_primary_up():
    v = view(["10.0.0.2:26379"], ["10.0.0.2:6379"])
    assert sr.settled(v, 2, 1) is True
    assert sr.settled(v, 3, 1) is False
    assert sr.settled(v, 2, 2) is False
    assert sr.settled(view(["10.0.0.2:26379"], ["10.0.0.2:6379"], flags=("master", "s_down")), 2, 1) is False
    assert sr.settled(None, 2, 1) is False


def test_members_and_forgotten():
    before = sr.members(view(["10.0.0.3:26379", "10.0.0.2:26379"], ["10.0.0.2:6379", "10.0.0.3:6379"]))
    after = sr.members(view(["10.0.0.3:26379"], ["10.0.0.3:6379"]))
    assert before["sentinels"] == ["10.0.0.2:26379", "10.0.0.3:26379"]
    assert sr.forgotten(before, after) == {"sentinels": ["10.0.0.2:26379"], "replicas": ["10.0.0.2:6379"]}
    assert sr.forgotten(before, None) == {"sentinels": [], "replicas": []}
    assert sr.members(GroupView(name="main", monitored=False)) is None
