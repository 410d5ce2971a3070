# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The list form's shared parts (module_utils/_instances.py): no server."""

from __future__ import annotations

import pytest
from ansible_collections.ha.redis.plugins.module_utils import _instances as inst
from ansible_collections.ha.redis.plugins.module_utils._connection import HaRedisError


def test_summarize_changed_when_any_changed_and_names_every_failure():
    results = {"a": dict(changed=True), "b": dict(changed=False), "c": dict(changed=False, failed=True, msg="Boom.")}
    assert inst.summarize(results) == (True, "1 of 3 instances failed (instance c: Boom).")
    assert inst.summarize({"a": dict(changed=False)}, noun="group") == (False, None)


def test_run_entries_keeps_order_and_turns_an_unexpected_error_into_a_result():
    def work(entry):
        if entry["name"] == "bad":
            raise ValueError("not a number")
        return dict(changed=entry["name"] == "x")
    results = inst.run_entries(work, [dict(name="x"), dict(name="bad"), dict(name="y")])
    assert list(results) == ["x", "bad", "y"]
    assert results["bad"] == dict(changed=False, failed=True, msg="not a number.")
    assert results["x"]["changed"] is True and results["y"]["changed"] is False


def test_guarded_keeps_what_was_done_before_the_error():
    def work(result):
        result["commands"].append("ACL LOAD")
        result["changed"] = True
        raise HaRedisError("Later step failed.", step="peer")
    assert inst.guarded(dict(changed=False, commands=[]), work) == dict(
        changed=True, commands=["ACL LOAD"], failed=True, msg="Later step failed.", step="peer")


def test_duplicate_names_are_refused_and_diffs_are_headed():
    with pytest.raises(HaRedisError, match="^Option groups names primary_name 'a' twice"):
        inst.check_unique([dict(primary_name="a"), dict(primary_name="a")], key="primary_name", option="groups")
    results = {"a": dict(diff=dict(before={}, after={"x": 1})), "b": dict(changed=False)}
    assert inst.diff_list(results) == [dict(before={}, after={"x": 1}, before_header="instance a",
                                            after_header="instance a")]
    assert "diff" not in results["a"]
