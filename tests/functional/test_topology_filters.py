# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ha.redis topology filters through real ``ansible-playbook`` and ``ansible`` runs from the checkout.

Three local hosts, two groups; the Sentinels' answer is a fixed ``sentinel_info`` result, so no server is needed.
"""

from __future__ import annotations

import json
import os
import subprocess

import yaml
from cluster import PYTHON, REPO, VENV_BIN

INVENTORY = {
    "all": {
        "vars": {
            "ansible_connection": "local",
            "ansible_python_interpreter": str(PYTHON),
            "redis_primary_groups": [
                {"name": "main", "port": 6379, "initial_primary": "r1"},
                {"name": "cache", "port": 6380, "initial_primary": "r2", "hosts": ["r2", "r3"]},
            ],
        },
        "children": {
            "redis": {"hosts": {
                "r1": {"ansible_host": "10.0.0.1"},
                "r2": {"ansible_host": "10.0.0.2", "redis_address": "{{ ansible_host }}"},
                "r3": {"ansible_host": "10.0.0.3", "redis_announce_ip": "192.0.2.3"},
            }},
            "redis_sentinel": {"hosts": {"r1": None, "r2": None, "r3": {"redis_sentinel_port": 26380}}},
        },
    },
}

# main: agreed on r3; cache: only one Sentinel answered and it does not know the group (unvouched).
SENTINEL_INFO = {
    "sentinels": [{"reachable": True}, {"reachable": False}, {"reachable": False}],
    "groups": {
        "main": {"status": "agreed", "primary": "192.0.2.3:6379", "primary_host": "192.0.2.3", "primary_port": 6379,
                 "votes": {"192.0.2.3:6379": 2}, "reachable": 1, "total": 3, "majority": 2,
                 "replicas": ["10.0.0.1:6379", "10.0.0.2:6379"]},
        "cache": {"status": "unknown", "primary": None, "primary_host": None, "primary_port": None, "votes": {},
                  "reachable": 1, "total": 3, "majority": 2, "replicas": []},
    },
}

PLAYBOOK = """
- name: Topology filters
  hosts: redis:redis_sentinel
  gather_facts: false
  vars:
    model: "{{ groups | ha.redis.topology(hostvars, redis_primary_groups, quorum='') }}"
    info: %(info)s
    verdict: "{{ model | ha.redis.topology_verdict(info) }}"
  tasks:
    - name: Register what the bootstrap guard's probe would print (r3 was deployed and is down)
      ansible.builtin.set_fact:
        __redis_guard_probe:
          stdout_lines: "{{ ['seeded cache'] if inventory_hostname == 'r3' else [] }}"
      when: inventory_hostname != 'r2'

    - name: Write every decision
      ansible.builtin.copy:
        dest: "%(out)s"
        content: >-
          {{ {'model': model, 'verdict': verdict,
              'guard': model | ha.redis.topology_guard(info, hostvars, ansible_play_hosts_all),
              'decommission': model | ha.redis.decommission_plan('r3', '', info),
              'order': model | ha.redis.upgrade_order(verdict.primaries),
              'restart': model.host_groups['r2'] | ha.redis.restart_groups(['/etc/redis/redis-cache.d/ansible.conf'],
                                                                           '/etc/redis/redis-', '/dropin'),
              'verify': (groups | ha.redis.topology(hostvars, redis_primary_groups, exclude_hosts='r3',
                                                    exclude_groups=['cache'])).expected_replicas} | to_json }}
        mode: "0600"
      delegate_to: localhost
      run_once: true
"""


def _env():
    return dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")


def test_filters_through_a_playbook(tmp_path):
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(INVENTORY))
    out = tmp_path / "decisions.json"
    (tmp_path / "play.yml").write_text(PLAYBOOK % {"info": json.dumps(SENTINEL_INFO), "out": out})
    proc = subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", str(tmp_path / "hosts.yml"),
                           str(tmp_path / "play.yml")], cwd=str(REPO), env=_env(), capture_output=True, text=True,
                          timeout=120, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    got = json.loads(out.read_text())

    model = got["model"]
    assert model["problems"] == []
    assert model["addresses"] == {"r1": "10.0.0.1", "r2": "10.0.0.2", "r3": "192.0.2.3"}
    assert model["sentinel_endpoints"] == [{"host": "10.0.0.1", "port": 26379}, {"host": "10.0.0.2", "port": 26379},
                                           {"host": "192.0.2.3", "port": 26380}]
    assert model["host_groups"] == {"r1": ["main"], "r2": ["main", "cache"], "r3": ["main", "cache"]}
    assert model["expected_replicas"] == {"main": 2, "cache": 1}

    verdict = got["verdict"]
    assert verdict["primaries"] == {
        "main": {"bootstrap": False, "primary_address": "192.0.2.3", "primary_port": 6379, "primary_host": "r3"},
        "cache": {"bootstrap": True, "primary_address": "10.0.0.2", "primary_port": 6380, "primary_host": "r2"}}
    assert verdict["disagreements"] == [] and verdict["unvouched"] == ["cache"]
    assert verdict["probes"] == {"r1": ["s:cache"], "r2": ["d:cache", "s:cache"], "r3": ["d:cache", "s:cache"]}

    # r2 registered no probe (silent Sentinel and data host); r3 is deployed and not running.
    assert got["guard"] == [
        "Group cache: only 1 of 3 Sentinels answered (a majority is 2) and none vouches for a primary (status "
        "unknown), so it is not safe to bootstrap it from initial_primary r2: hosts r2 could not be checked in this "
        "run; the data node on r3 is deployed but not running (it may be a primary that missed a failover). Nothing "
        "was changed. Start the Sentinels (or repair them) so that a majority answers, then run again."]

    plan = got["decommission"]
    assert plan["request_error"] == ""
    assert "Only 2 Sentinel(s) would remain (r1, r2)" in plan["refusals"][0]
    assert plan["moves"] == [{"group": "main", "avoid": "192.0.2.3:6379", "target": None}]
    assert plan["answers_error"] == ("Nothing was changed. The Sentinels do not agree on the primary of cache: repair "
                                     "them (or wait for the failover to finish) first. The Sentinels on r2 do not "
                                     "answer; they must, to rebuild their view after the change.")
    assert plan["stop"] == {"r1": [], "r2": [], "r3": ["main", "cache"]} and plan["stop_sentinel"] == ["r3"]

    assert got["order"] == ["r1", "r2", "r3"]  # r2 (cache, bootstrap) and r3 (main) hold one primary each
    assert got["restart"] == ["cache"]
    assert got["verify"] == {"main": 1}


def test_filter_in_an_adhoc_command():
    proc = subprocess.run([str(VENV_BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-m", "debug",
                           "-a", "msg={{ ' a, b ,,c' | ha.redis.parse_names | to_json }}"],
                          cwd=str(REPO), env=_env(), capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert '["a", "b", "c"]' in proc.stdout


def test_a_domain_error_names_the_filter_and_the_group():
    proc = subprocess.run([str(VENV_BIN / "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-m", "debug",
                           "-a", "msg={{ {'redis': ['r1']} | ha.redis.topology({}, ['main']) }}"],
                          cwd=str(REPO), env=_env(), capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode != 0
    # The message as printed by the YAML result format of any ansible-core (2.17 folds and doubles the quotes).
    output = " ".join((proc.stdout + proc.stderr).split()).replace("''", "'")
    assert "ha.redis.topology: redis_primary_groups[0] is 'main'; expected a mapping with name, port" in output
