# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ha.redis.preflight on inventory mistakes, through real ansible-playbook on localhost: misspelt redis_* variables
(host, group and extra variables) named with the closest known name, as a warning or an error, and a data or
Sentinel group under another name said in one sentence."""

from __future__ import annotations

from test_preflight_write_safety import run_preflight


def _flat(proc):
    return " ".join(proc.stdout.split())


def test_typos_are_named_and_the_play_goes_on(tmp_path):
    proc = run_preflight(tmp_path, {}, redis_sentinel_quorom=2)
    output = _flat(proc)
    assert proc.returncode == 0, output[-3000:]
    assert ("redis_sentinel_quorom (set for h1, h2, h3) is not a variable of ha.redis: did you mean "
            "redis_sentinel_quorum? Rename it, or remove it.") in output, output[-3000:]


def test_error_mode_stops_on_a_host_variable_and_an_extra_variable(tmp_path):
    proc = run_preflight(tmp_path, {}, redis_unknown_variables="error",
                         extra_args=["-e", "redis_verify_timout=5"],
                         host_vars={"h2": {"redis_insecure_no_pasword": True}})
    output = _flat(proc)
    assert proc.returncode != 0, output[-3000:]
    assert "redis_insecure_no_pasword (set for h2) is not a variable of ha.redis: did you mean " \
           "redis_insecure_no_password?" in output, output[-3000:]
    assert "did you mean redis_verify_timeout?" in output, output[-3000:]
    # Stopped at the check: the deployment model was never built.
    assert "Build the deployment model" not in output


def test_ignore_mode_says_nothing(tmp_path):
    proc = run_preflight(tmp_path, {}, redis_unknown_variables="ignore", redis_sentinel_quorom=2)
    assert proc.returncode == 0 and "redis_sentinel_quorom" not in proc.stdout, proc.stdout[-3000:]


def test_a_data_group_under_another_name_is_one_sentence(tmp_path):
    proc = run_preflight(tmp_path, {}, data_group="redis_servers")
    output = _flat(proc)
    assert proc.returncode != 0
    assert ("The inventory has no host in group redis: put the data nodes in a group named redis, the name the "
            "roles and playbooks read.") in output, output[-3000:]
    assert "has no attribute" not in output
