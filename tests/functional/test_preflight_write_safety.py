# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ha.redis.preflight's write-safety rule (min-replicas-to-write), through real ansible-playbook on localhost."""

from __future__ import annotations

import subprocess

import pytest
import yaml
from cluster import REPO


def run_preflight(tmp_path, group, extra_args=(), host_vars=None, data_group="redis", **group_vars):
    hosts = {h: dict({"ansible_connection": "local", "ansible_python_interpreter": str(REPO / ".venv/bin/python")},
                     **(host_vars or {}).get(h, {}))
             for h in ("h1", "h2", "h3")}
    variables = dict(redis_password="pw-data", redis_sentinel_password="pw-sentinel",
                     redis_replication_password="pw-repl", redis_sentinel_auth_password="pw-sauth",
                     redis_primary_groups=[dict(name="main", port=6379, initial_primary="h1", **group)])
    variables.update(group_vars)
    inventory = {"all": {"vars": variables, "children": {data_group: {"hosts": hosts},
                                                         "redis_sentinel": {"hosts": dict.fromkeys(hosts)}}}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "play.yml").write_text(yaml.safe_dump([{"hosts": "redis:redis_sentinel", "gather_facts": False,
                                                        "roles": ["ha.redis.preflight"]}]))
    return subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"),
                           str(tmp_path / "play.yml"), *extra_args], check=False, capture_output=True, text=True,
                          cwd=str(REPO), timeout=120,
                          env={"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "PATH": "/usr/bin:/bin"})


@pytest.mark.parametrize("group, group_vars", [
    ({}, {}),
    ({"min_replicas_to_write": 2}, {}),
    ({"min_replicas_to_write": 0}, {}),
    ({}, {"redis_min_replicas_to_write": 1, "redis_min_replicas_max_lag": 5}),
])
def test_accepted(tmp_path, group, group_vars):
    proc = run_preflight(tmp_path, group, **group_vars)
    assert proc.returncode == 0, proc.stdout[-3000:]


RULE = "a number from 0 to the group's 2 replica(s)"


@pytest.mark.parametrize("group, group_vars, seen", [
    ({"min_replicas_to_write": 3}, {}, ["min_replicas_to_write is '3'", RULE]),
    ({}, {"redis_min_replicas_to_write": 5}, ["min_replicas_to_write is '5'", RULE]),
    ({"min_replicas_to_write": "one"}, {}, ["min_replicas_to_write is 'one'", RULE]),
    ({"min_replicas_max_lag": "soon"}, {}, ["min_replicas_max_lag 'soon'", "and a number of seconds"]),
])
def test_refused_before_any_host_changes(tmp_path, group, group_vars, seen):
    proc = run_preflight(tmp_path, group, **group_vars)
    output = " ".join(proc.stdout.split())
    assert proc.returncode != 0, output[-3000:]
    for text in seen:
        assert text in output, output[-3000:]
