# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory typos (plugins/plugin_utils/_variables.py, the ha.redis.unknown_variables filter): the known names
come from the roles' argument specs and the playbooks' list, and a misspelt name gets the closest known one."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.ha.redis.plugins.filter.variables import unknown_variables as unknown_filter
from ansible_collections.ha.redis.plugins.plugin_utils import _variables as v

ROOT = Path(__file__).resolve().parents[4]
# redis_* words in the playbooks that are not variables: tags, the Sentinel group, an INFO field.
NOT_VARIABLES = {"redis_install", "redis_configure", "redis_sentinel", "redis_verify", "redis_exporter",
                 "redis_cluster", "redis_version", "redis_backup", "redis_proxy"}
KNOWN = v.known_variables(str(ROOT))


def test_known_names_cover_every_role_option_and_playbook_variable():
    assert "redis_sentinel_quorum" in KNOWN and "redis_exporter_enabled" in KNOWN  # role options
    assert "redis_unknown_variables" in KNOWN  # the switch itself
    assert "redis_verify_timeout" in KNOWN and "redis_decommission_hosts" in KNOWN  # playbook variables
    assert KNOWN == sorted(set(KNOWN)) and all(name.startswith("redis_") for name in KNOWN)


def test_playbook_variables_list_matches_the_playbooks():
    """Every redis_* name the playbooks read is a role option or in playbooks/vars/playbook_variables.yml, and
    that list names nothing the playbooks do not read."""
    listed = set(yaml.safe_load((ROOT / v.PLAYBOOK_VARIABLES).read_text())["playbook_variables"])
    text = "\n".join(p.read_text() for p in (ROOT / "playbooks").glob("*.yml"))
    used = set(re.findall(r"(?<![_\w.])redis_[a-z0-9_]*[a-z0-9]", text)) - NOT_VARIABLES
    role_options = set(v.known_variables(str(ROOT))) - listed
    assert sorted(used - role_options - listed) == []
    assert sorted(listed - used) == []


@pytest.mark.parametrize("typo, suggestion", [
    ("redis_sentinel_quorom", "redis_sentinel_quorum"),
    ("redis_insecure_no_pasword", "redis_insecure_no_password"),
    ("redis_pasword", "redis_password"),
    ("redis_primary_group", "redis_primary_groups"),
    ("redis_verify_timout", "redis_verify_timeout"),
])
def test_a_typo_gets_the_closest_known_name(typo, suggestion):
    [found] = v.unknown_variables({"r1": {typo: 5, "redis_password": "x"}}, KNOWN)
    assert found["name"] == typo and found["did_you_mean"] == suggestion and found["hosts"] == ["r1"]
    assert found["message"] == ("%s (set for r1) is not a variable of ha.redis: did you mean %s? Rename it, or "
                                "remove it." % (typo, suggestion))


def test_no_close_name_still_names_the_variable():
    [found] = v.unknown_variables(["redis_completely_different_thing"], KNOWN)
    assert found["did_you_mean"] is None and found["hosts"] == []
    assert found["message"] == ("redis_completely_different_thing is not a variable of ha.redis: rename it to one "
                                "the README's variable table lists, or remove it.")


def test_known_and_foreign_names_pass():
    sources = {"r1": {"redis_password": "x", "ansible_host": "a", "__redis_model": {}, "my_redis_port": 1},
               "r2": {"redis_sentinel_quorum": 2, "redis_verify_report_path": "/tmp/r.json"}}
    assert v.unknown_variables(sources, KNOWN) == []


def test_hosts_are_gathered_per_name_and_shortened():
    sources = {"r%d" % i: {"redis_pasword": "x"} for i in range(1, 6)}
    [found] = v.unknown_variables(sources, KNOWN)
    assert found["hosts"] == ["r1", "r2", "r3", "r4", "r5"]
    assert found["message"].startswith("redis_pasword (set for r1, r2, r3 and 2 more) is not a variable")


def test_filter_reads_the_hosts_given():
    hostvars = {"r1": {"redis_pasword": "x"}, "r9": {"redis_tls_cert": "y"}}
    assert [f["name"] for f in unknown_filter(hostvars, KNOWN, hosts=["r1", "absent"])] == ["redis_pasword"]
    assert [f["name"] for f in unknown_filter(hostvars, KNOWN)] == ["redis_pasword", "redis_tls_cert"]
    with pytest.raises(AnsibleFilterError, match="expects hostvars"):
        unknown_filter(["r1"], KNOWN)
