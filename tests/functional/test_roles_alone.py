# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ha.redis.server and ha.redis.sentinel used alone run the checks of ha.redis.preflight, once per play, before any
change, and skip them when ha.redis.preflight ran first (site.yml). Real ansible-playbook on local hosts: a refused
inventory stops before the first remote call; an accepted one is run with a tag that selects only the tasks tagged
``always`` (the checks and the engine selection), so that nothing is installed on this machine."""

from __future__ import annotations

import re
import subprocess

import pytest
import yaml
from cluster import PYTHON, REPO, VENV_BIN

CHECK_TASK = "Preflight | Check the Sentinels, the groups and the ports of every host"


def run_play(tmp_path, plays, sentinels=3, tags=None, **overrides):
    local = {"ansible_connection": "local", "ansible_python_interpreter": str(PYTHON)}
    hosts = {f"h{i}": dict(local) for i in range(1, 4)}
    sentinel_hosts = {f"h{i}": dict(local) for i in range(1, sentinels + 1)}
    variables = dict(redis_password="pw-data", redis_sentinel_password="pw-sentinel",
                     redis_replication_password="pw-repl", redis_sentinel_auth_password="pw-sauth",
                     redis_primary_groups=[dict(name="main", port=6379, initial_primary="h1")])
    variables.update(overrides)
    inventory = {"all": {"vars": variables, "children": {"redis": {"hosts": hosts},
                                                         "redis_sentinel": {"hosts": sentinel_hosts}}}}
    (tmp_path / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (tmp_path / "play.yml").write_text(yaml.safe_dump(plays, sort_keys=False))
    argv = [str(VENV_BIN / "ansible-playbook"), "-i", str(tmp_path / "inventory.yml"),
            str(tmp_path / "play.yml")] + (["--tags", tags] if tags else [])
    proc = subprocess.run(argv, check=False, capture_output=True, text=True, cwd=str(REPO), timeout=180,
                          env={"ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "PATH": "/usr/bin:/bin",
                               "ANSIBLE_NOCOLOR": "1", "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default"})
    return proc, " ".join((proc.stdout + " " + proc.stderr).split())


def play(hosts, *roles):
    return {"name": f"play of {hosts}", "hosts": hosts, "gather_facts": False, "roles": list(roles)}


@pytest.mark.parametrize("role, hosts", [("ha.redis.server", "redis"), ("ha.redis.sentinel", "redis_sentinel")])
@pytest.mark.parametrize("sentinels, overrides, sentence", [
    (4, {}, "Group redis_sentinel has 4 host(s): at least 3 and an odd number are needed"),
    (3, {"redis_password": ""}, "redis_password is empty"),
    (3, {"redis_tls": True, "redis_tls_ca_src": "/nonexistent/ca.crt", "redis_tls_cert_src": "/nonexistent/n.crt",
         "redis_tls_key_src": "/nonexistent/n.key"},
     "/nonexistent/ca.crt (a redis_tls_*_src variable of h1) is not a file"),
    (3, {"redis_primary_groups": [{"name": "main", "port": 6379, "initial_primary": "h1"},
                                  {"name": "cache", "port": 6379, "initial_primary": "h2"}]},
     "Host h1: ports [6379, 6379, 26379] (redis_primary_groups[].port"),
])
def test_a_role_alone_refuses_a_bad_inventory_before_any_change(tmp_path, role, hosts, sentinels, overrides,
                                                                sentence):
    proc, output = run_play(tmp_path, [play(hosts, role)], sentinels=sentinels, **overrides)
    assert proc.returncode != 0, output[-3000:]
    assert sentence in output, output[-3000:]
    # Stopped by the checks: no host reached the first remote call of the role (the install probe).
    assert "Install | Read the release" not in output, output[-3000:]
    assert not re.search(r"changed=[1-9]", output), output[-3000:]


def test_roles_alone_check_once_per_play(tmp_path):
    proc, output = run_play(tmp_path, [play("redis", "ha.redis.server", "ha.redis.sentinel")], tags="only_always")
    assert proc.returncode == 0, output[-3000:]
    assert output.count(f"TASK [ha.redis.preflight : {CHECK_TASK}]") == 1, output[-3000:]


def test_roles_skip_the_checks_after_preflight(tmp_path):
    # As site.yml runs it: its own play, tagged always.
    plays = [dict(play("redis:redis_sentinel", "ha.redis.preflight"), tags=["always"]),
             play("redis", "ha.redis.server"), play("redis_sentinel", "ha.redis.sentinel")]
    proc, output = run_play(tmp_path, plays, tags="only_always")
    assert proc.returncode == 0, output[-3000:]
    assert output.count(f"TASK [ha.redis.preflight : {CHECK_TASK}]") == 1, output[-3000:]
    assert output.index("PLAY [play of redis]") > output.index(f"TASK [ha.redis.preflight : {CHECK_TASK}]")
