# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ha.redis.sentinel_quorum against real redis-server / redis-sentinel processes."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import threading

import pytest
import redis
import yaml
from cluster import DATA_PASSWORD, REPO, SENTINEL_PASSWORD, Cluster, sentinel_state, wait_until

sys.path.insert(0, str(REPO / ".collections"))

from ansible_collections.ha.redis.plugins.modules import sentinel_quorum  # noqa: E402

NAME = "mymaster"


def args_for(cluster, **extra):
    args = dict(sentinels=cluster.sentinel_addresses(), primary_name=NAME, expected_replicas=len(cluster.replicas),
                timeout=0)
    if cluster.password:
        args["login_password"] = cluster.password
    if cluster.sentinel_password:
        args["sentinel_password"] = cluster.sentinel_password
    args.update(extra)
    return args


def checks(result):
    return {p["check"] for p in result["problems"]}


def problems_of(result, check):
    return [p for p in result["problems"] if p["check"] == check]


def assert_healthy(result, cluster):
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] is False
    assert result["problems"] == []
    group = result["groups"][NAME]
    assert group["ok"] is True
    assert group["status"] == "agreed"
    assert group["primary"] == cluster.primary.address
    assert group["votes"] == {cluster.primary.address: len(cluster.sentinels)}
    assert group["healthy_replicas"] == len(cluster.replicas)
    assert sorted(r["address"] for r in group["replicas"]) == sorted(r.address for r in cluster.replicas)
    assert [s["address"] for s in result["sentinels"]] == cluster.sentinel_addresses()
    assert result["report"][0].startswith("%s: primary %s (agreed" % (NAME, cluster.primary.address))


def assert_failed_with(result, check, node=None):
    assert result.get("failed") is True, result
    assert result["changed"] is False
    found = problems_of(result, check)
    assert found, "expected a %s problem, got: %s" % (check, result["msg"])
    if node is not None:
        assert node in {p["node"] for p in found}, found
    # The one failure message lists every problem.
    for problem in result["problems"]:
        assert problem["message"] in result["msg"]
    return found


# ---------------------------------------------------------------------------------------------------------------
# Healthy
# ---------------------------------------------------------------------------------------------------------------
def test_healthy_direct(shared_cluster, run_module):
    result = run_module("sentinel_quorum", args_for(shared_cluster))
    assert_healthy(result, shared_cluster)
    assert result["attempts"] == 1
    assert result["probe"] == {}


def test_write_probe_direct(shared_cluster, run_module):
    result = run_module("sentinel_quorum", args_for(shared_cluster, write_probe=True))
    assert_healthy(result, shared_cluster)
    probe = result["probe"][NAME]
    assert (probe["ok"], probe["primary"], probe["replicas_acknowledged"]) == (True, shared_cluster.primary.address, 2)


def test_write_probe_fails_when_the_primary_refuses_writes(cluster, run_module):
    """The primary is out of memory (maxmemory 1, noeviction): every check passes, the write does not."""
    client = cluster.client(cluster.primary)
    client.config_set("maxmemory-policy", "noeviction")
    client.config_set("maxmemory", 1)
    result = run_module("sentinel_quorum", args_for(cluster, write_probe=True, timeout=1, sleep=0.5))
    found = assert_failed_with(result, "write_probe")
    assert "maxmemory" in found[0]["seen"]
    assert [p["check"] for p in result["problems"]] == ["write_probe"]
    assert result["probe"][NAME]["ok"] is False


def test_write_safety(cluster, run_module):
    """min-replicas-to-write: unbounded is a warning unless declared 0; a primary refusing writes is a problem."""
    primary = cluster.client(cluster.primary)
    primary.config_set("min-replicas-to-write", 0)
    result = run_module("sentinel_quorum", args_for(cluster))
    assert not result.get("failed"), result.get("msg")
    warn = [w for w in result["warnings_found"] if w["check"] == "unbounded_writes"]
    assert [w["node"] for w in warn] == [cluster.primary.address]
    assert "keeps acknowledging writes" in warn[0]["message"]
    assert result["groups"][NAME]["min_replicas_to_write"] == 0
    # Declared 0 by the inventory: accepted, no warning.
    result = run_module("sentinel_quorum", args_for(cluster, min_replicas_to_write={NAME: 0}))
    assert [w for w in result["warnings_found"] if w["check"] == "unbounded_writes"] == []
    # Bounded as declared: no warning; bounded otherwise: a drift warning.
    primary.config_set("min-replicas-to-write", 1)
    primary.config_set("min-replicas-max-lag", 10)
    result = run_module("sentinel_quorum", args_for(cluster, min_replicas_to_write=1))
    assert not result.get("failed"), result.get("msg")
    assert result["warnings_found"] == []
    assert (result["groups"][NAME]["min_replicas_to_write"], result["groups"][NAME]["min_replicas_max_lag"]) == (1, 10)
    result = run_module("sentinel_quorum", args_for(cluster, min_replicas_to_write=2))
    assert [w["check"] for w in result["warnings_found"]] == ["min_replicas_drift"]
    # More than the replicas that acknowledge: the primary refuses writes right now.
    primary.config_set("min-replicas-to-write", 3)
    result = run_module("sentinel_quorum", args_for(cluster, min_replicas_to_write=3))
    found = assert_failed_with(result, "writes_refused", node=cluster.primary.address)
    assert (found[0]["expected"], found[0]["seen"]) == (3, 2)
    with pytest.raises(redis.exceptions.ResponseError, match="NOREPLICAS"):
        primary.set("k", "v")


def test_healthy_through_ansible_in_check_mode(shared_cluster, run_ansible):
    result = run_ansible("sentinel_quorum", args_for(shared_cluster, write_probe=True), check_mode=True)
    assert_healthy(result, shared_cluster)
    assert result["probe"] == {NAME: {"skipped": True, "reason": "check mode"}}


def test_healthy_with_passwords_and_write_probe(shared_secured_cluster, run_ansible):
    result = run_ansible("sentinel_quorum", args_for(shared_secured_cluster, write_probe=True))
    assert_healthy(result, shared_secured_cluster)
    probe = result["probe"][NAME]
    assert probe["ok"] is True, probe
    assert probe["primary"] == shared_secured_cluster.primary.address
    assert probe["replicas_acknowledged"] == 2
    assert probe["read_back"] is True
    # The probe cleans up after itself.
    assert shared_secured_cluster.client(shared_secured_cluster.primary).exists(probe["key"]) == 0
    # Secrets never come back in the result.
    assert DATA_PASSWORD not in str(result) and SENTINEL_PASSWORD not in str(result)


def test_returned_keys_match_return_doc(shared_cluster, run_module):
    doc = yaml.safe_load(sentinel_quorum.RETURN)
    result = run_module("sentinel_quorum", args_for(shared_cluster))
    returned = set(result) - {"changed", "invocation", "rc", "warnings", "failed", "msg"}
    assert returned == set(doc)
    group_doc = set(doc["groups"]["contains"])
    assert set(result["groups"][NAME]) == group_doc
    failed = run_module("sentinel_quorum", args_for(shared_cluster, primary_name="nosuch"))
    assert set(failed["problems"][0]) == set(doc["problems"]["contains"])
    assert set(failed) - {"changed", "invocation", "rc", "warnings", "failed", "msg"} == set(doc)


def test_expected_replica_count_mismatch(shared_cluster, run_module):
    result = run_module("sentinel_quorum", args_for(shared_cluster, expected_replicas={NAME: 3}))
    found = assert_failed_with(result, "replica_count")
    assert {p["node"] for p in found} == set(shared_cluster.sentinel_addresses())
    assert all(p["expected"] == 3 and p["seen"] == 2 for p in found)


def test_unknown_group(shared_cluster, run_module):
    result = run_module("sentinel_quorum", args_for(shared_cluster, primary_name=[NAME, "nosuch"]))
    found = assert_failed_with(result, "group_unknown")
    assert found[0]["group"] == "nosuch"
    assert result["groups"][NAME]["ok"] is True
    assert result["groups"]["nosuch"]["ok"] is False


def test_wrong_sentinel_password(shared_secured_cluster, run_module):
    result = run_module("sentinel_quorum", args_for(shared_secured_cluster, sentinel_password="wrong"))
    found = assert_failed_with(result, "sentinel_unreachable")
    assert {p["node"] for p in found} == set(shared_secured_cluster.sentinel_addresses())
    assert all("authentication to the Sentinel at %s failed: it refused the password of option sentinel_password"
               % p["node"] in p["seen"] for p in found), found


def test_wrong_data_password(shared_secured_cluster, run_ansible):
    result = run_ansible("sentinel_quorum", args_for(shared_secured_cluster, login_password="wrong"))
    found = assert_failed_with(result, "primary_unreachable", node=shared_secured_cluster.primary.address)
    assert ("authentication to the data node at %s failed: it refused the password of option login_password"
            % shared_secured_cluster.primary.address) in found[0]["seen"], found
    assert "wrong" not in result["msg"]


def test_invalid_options(shared_cluster, run_module):
    result = run_module("sentinel_quorum", args_for(shared_cluster, expected_replicas={"other": 1}))
    assert result["failed"] is True
    assert "expected only groups of primary_name" in result["msg"]
    result = run_module("sentinel_quorum", args_for(shared_cluster, sentinels=["127.0.0.1:notaport"]))
    assert result["failed"] is True and "not a number" in result["msg"]


def test_module_time_for_healthy_check(shared_cluster, run_module):
    """The module's own time for 3 Sentinels + 3 data nodes; printed for the report, bounded loosely."""
    times = [run_module("sentinel_quorum", args_for(shared_cluster))["elapsed"] for _run in range(5)]
    median = statistics.median(times)
    print("sentinel_quorum healthy check, module elapsed: median %.3f s of %s" % (median, times))
    assert median < 0.5


# ---------------------------------------------------------------------------------------------------------------
# Failures
# ---------------------------------------------------------------------------------------------------------------
def test_one_sentinel_stopped(cluster, run_module):
    stopped = cluster.sentinels[2]
    stopped.stop()
    result = run_module("sentinel_quorum", args_for(cluster, timeout=1.5, sleep=0.5))
    found = assert_failed_with(result, "sentinel_unreachable", node=stopped.address)
    assert "cannot connect" in found[0]["seen"]
    assert result["attempts"] >= 2
    # The group itself still has a majority; the report shows the missing Sentinel.
    assert result["groups"][NAME]["status"] == "agreed"
    assert any(stopped.address in line and "unreachable" in line for line in result["report"])


def test_two_of_three_sentinels_stopped(cluster, run_module):
    for sentinel in cluster.sentinels[1:]:
        sentinel.stop()
    # Wait until the survivor sees both as down, so CKQUORUM reflects the loss.
    survivor = cluster.client(cluster.sentinels[0])
    wait_until(lambda: str(_ckquorum(survivor)).startswith("NOQUORUM"), timeout=10, what="CKQUORUM to fail")
    result = run_module("sentinel_quorum", args_for(cluster))
    assert_failed_with(result, "no_primary_majority")
    found = assert_failed_with(result, "ckquorum", node=cluster.sentinels[0].address)
    assert "NOQUORUM" in found[0]["seen"]
    assert result["groups"][NAME]["status"] == "no_majority"


def _ckquorum(client):
    try:
        return client.execute_command("SENTINEL", "CKQUORUM", NAME)
    except Exception as exc:  # noqa: BLE001 - the error reply is what we look for
        return str(exc)


def test_split_view(cluster, run_module):
    """One Sentinel monitors a replica under the same name: it names a different primary."""
    odd = cluster.sentinels[2]
    other = cluster.replicas[0]
    client = cluster.client(odd)
    client.execute_command("SENTINEL", "REMOVE", NAME)
    client.execute_command("SENTINEL", "MONITOR", NAME, other.host, other.port, 2)
    result = run_module("sentinel_quorum", args_for(cluster))
    found = assert_failed_with(result, "primary_mismatch", node=odd.address)
    assert found[0]["expected"] == cluster.primary.address
    assert found[0]["seen"] == other.address
    assert result["groups"][NAME]["votes"] == {cluster.primary.address: 2, other.address: 1}


def test_replica_link_down(secured_cluster, run_module):
    """A replica that can no longer authenticate to its primary: its link stays down."""
    replica = secured_cluster.replicas[0]
    client = secured_cluster.client(replica)
    client.config_set("masterauth", "no-longer-valid")
    client.execute_command("CLIENT", "KILL", "TYPE", "master")
    wait_until(lambda: client.info("replication")["master_link_status"] == "down", timeout=5,
               what="the replica link to go down")
    result = run_module("sentinel_quorum", args_for(secured_cluster))
    found = assert_failed_with(result, "replica_link_down", node=replica.address)
    assert found[0]["expected"] == "up" and found[0]["seen"] == "down"
    assert result["groups"][NAME]["healthy_replicas"] == 1


def test_primary_killed(cluster, run_module):
    old = cluster.primary
    old.kill()
    result = run_module("sentinel_quorum", args_for(cluster, timeout=1))
    assert result["failed"] is True
    # Right after the kill the Sentinels still name the old primary (s_down, then o_down, then a failover);
    # whichever moment the check hits, a problem names the dead primary or the failover.
    named = [p for p in result["problems"] if p["node"] == old.address or old.address in p["message"]]
    assert named or "failover_in_progress" in checks(result), result["msg"]
    assert checks(result) & {"primary_unreachable", "primary_s_down", "primary_o_down", "failover_in_progress",
                             "replica_unreachable", "replica_down", "primary_mismatch"}


def test_primary_killed_is_reported_down_by_sentinels(cluster, run_module):
    old = cluster.primary
    old.kill()
    # down-after-milliseconds is 1 s in the test cluster: wait until a Sentinel flags it (or already fails over).
    client = cluster.client(cluster.sentinels[0])
    wait_until(lambda: any(f in sentinel_state(client, NAME)["flags"] for f in ("s_down", "failover")) or
               sentinel_state(client, NAME)["port"] != str(old.port), timeout=10, what="the Sentinel to react")
    result = run_module("sentinel_quorum", args_for(cluster))
    assert result["failed"] is True
    assert checks(result) & {"primary_s_down", "primary_o_down", "failover_in_progress", "primary_mismatch",
                             "replica_down", "replica_unreachable"}, result["msg"]


def test_quorum_rules(cluster, run_module):
    client = cluster.client(cluster.sentinels[0])
    client.execute_command("SENTINEL", "SET", NAME, "quorum", 1)
    result = run_module("sentinel_quorum", args_for(cluster))
    assert not result.get("failed"), result.get("msg")
    warn = [w for w in result["warnings_found"] if w["check"] == "quorum_below_majority"]
    assert [w["node"] for w in warn] == [cluster.sentinels[0].address]
    assert "below a majority" in str(result.get("warnings"))  # also an Ansible warning (its form varies)
    client.execute_command("SENTINEL", "SET", NAME, "quorum", 4)
    result = run_module("sentinel_quorum", args_for(cluster))
    found = assert_failed_with(result, "quorum_too_high", node=cluster.sentinels[0].address)
    assert found[0]["seen"] == 4


# ---------------------------------------------------------------------------------------------------------------
# Waiting
# ---------------------------------------------------------------------------------------------------------------
def test_becomes_healthy_within_timeout(tmp_path, run_module):
    """Sentinels started right before the check are still discovering each other; the gate waits for them."""
    c = Cluster(tmp_path / "fresh")
    try:
        c.start(wait=False)
        result = run_module("sentinel_quorum", args_for(c, timeout=30, sleep=0.3))
        assert_healthy(result, c)
        assert result["attempts"] > 1, "the first attempt should have seen Sentinels still discovering each other"
    finally:
        c.stop()


def test_heals_while_waiting(cluster, run_module):
    """A Sentinel that is down when the check starts and comes back during it: the check passes."""
    sentinel = cluster.sentinels[1]
    sentinel.stop()
    timer = threading.Timer(1.0, sentinel.start)
    timer.start()
    try:
        result = run_module("sentinel_quorum", args_for(cluster, timeout=20, sleep=0.3))
    finally:
        timer.join()
    assert_healthy(result, cluster)
    assert result["attempts"] > 1


@pytest.mark.parametrize("module_name", ["sentinel_quorum", "sentinel_info"])
def test_ansible_doc_renders(module_name):
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "ansible-doc"), "ha.redis.%s" % module_name],
                          check=False, capture_output=True, text=True, cwd=str(REPO), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "sentinels" in proc.stdout and "primary_name" in proc.stdout
    assert "ERROR" not in proc.stderr.upper(), proc.stderr


# ---------------------------------------------------------------------------------------------------------------
# playbooks/verify.yml
# ---------------------------------------------------------------------------------------------------------------
def run_verify_playbook(cluster, tmp_path, dead=(), **extra_vars):
    """Run playbooks/verify.yml with an inventory whose hosts are the cluster's Sentinels (connection local).

    Hosts whose index is in ``dead`` are reached over SSH at a closed port instead: Ansible cannot reach them.
    """
    python = str(REPO / ".venv" / "bin" / "python")
    hosts = {
        "node-%d" % i: dict(ansible_connection="local", ansible_python_interpreter=python,
                            redis_address=sentinel.host, redis_sentinel_port=sentinel.port)
        for i, sentinel in enumerate(cluster.sentinels)
    }
    for i in dead:
        hosts["node-%d" % i].update(ansible_connection="ssh", ansible_host="127.0.0.1", ansible_port=1)
    group_vars = dict(redis_primary_groups=[{"name": NAME, "hosts": list(hosts)}], redis_verify_timeout=0)
    if cluster.password:
        group_vars["redis_password"] = cluster.password
    if cluster.sentinel_password:
        group_vars["redis_sentinel_password"] = cluster.sentinel_password
    group_vars.update(extra_vars)
    inventory = {"all": {"vars": group_vars, "children": {"redis": {"hosts": hosts},
                                                          "redis_sentinel": {"hosts": dict.fromkeys(hosts)}}}}
    path = tmp_path / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    return subprocess.run([str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", str(path), "playbooks/verify.yml"],
                          check=False, capture_output=True, text=True, cwd=str(REPO), timeout=120)


def test_verify_playbook_passes_and_prints_the_report(shared_secured_cluster, tmp_path):
    proc = run_verify_playbook(shared_secured_cluster, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "%s: primary %s (agreed, named by 3/3 Sentinels)" % (NAME, shared_secured_cluster.primary.address) \
        in proc.stdout
    # Reach every host, name the hosts down (none), the gate, the report.
    assert "ok=4" in proc.stdout and "failed=0" in proc.stdout
    assert DATA_PASSWORD not in proc.stdout + proc.stderr
    assert SENTINEL_PASSWORD not in proc.stdout + proc.stderr


def test_verify_playbook_fails_with_the_problems_and_hides_secrets(shared_secured_cluster, tmp_path):
    proc = run_verify_playbook(shared_secured_cluster, tmp_path, redis_sentinel_password="wrong-" + SENTINEL_PASSWORD)
    assert proc.returncode != 0
    output = proc.stdout + proc.stderr
    assert "Sentinel quorum check failed" in output
    for address in shared_secured_cluster.sentinel_addresses():
        assert ("Sentinel %s: authentication to the Sentinel at %s failed: it refused the password of option "
                "sentinel_password" % (address, address)) in output
    assert SENTINEL_PASSWORD not in output and DATA_PASSWORD not in output


def test_verify_playbook_with_the_first_host_down(cluster, tmp_path):
    """The first Sentinel host does not answer Ansible and its Sentinel is down: the gate runs from the next host and
    fails naming exactly that Sentinel, after the short wait for hosts down, not the whole timeout."""
    cluster.sentinels[0].stop()
    proc = run_verify_playbook(cluster, tmp_path, dead=(0,), redis_verify_timeout=120,
                               redis_verify_timeout_hosts_down=2)
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert "Not reached: node-0." in output
    assert "Sentinel quorum check failed" in output
    dead = cluster.sentinels[0].address
    assert "Sentinel %s: cannot connect" % dead in output
    # Every problem names the dead Sentinel, and nothing else is wrong.
    problems = re.search(r"with (\d+) problems: (.*?)'?\n", output).group(2).split("; (")
    assert problems and all(dead in p for p in problems), problems
    # Left out of the play, not an error: the recap counts it as ignored.
    assert re.search(r"node-0 +: ok=[0-9]+ +changed=0 +unreachable=0 +failed=0 .*ignored=1", output), output
