# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module's action_group attribute (what ansible-doc shows) names exactly the action groups meta/runtime.yml
puts it in; a module in no group documents none."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[4]
MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
RUNTIME = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())


@pytest.mark.parametrize("name", MODULES)
def test_action_group_membership_matches_runtime(name):
    module = importlib.import_module("ansible_collections.ha.redis.plugins.modules.%s" % name)
    attributes = yaml.safe_load(module.DOCUMENTATION).get("attributes") or {}
    expected = ["ha.redis.%s" % group for group, members in RUNTIME["action_groups"].items() if name in members]
    if not expected:
        assert "action_group" not in attributes
        return
    documented = attributes["action_group"]
    assert documented["membership"] == expected
    assert documented["support"] == "full"
    for group in expected:
        assert "group/%s" % group in " ".join(documented["description"])
