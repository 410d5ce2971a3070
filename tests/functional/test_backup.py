# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ha.redis.redis_backup and redis_restore (check) against real redis-server processes and a real restic
repository in a temporary folder; the timer's standalone copy of the code run as the role installs it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from cluster import PYTHON, REPO, wait_until

pytestmark = pytest.mark.skipif(shutil.which("restic") is None, reason="restic is not installed (scripts/host-deps.sh)")

ANSIBLE_KEYS = {"invocation", "rc", "warnings", "deprecations", "action", "_ansible_no_log", "failed", "msg"}
BACKUP_KEYS = {"changed", "group", "source", "source_role", "reason", "is_source", "skipped_reason", "commands",
               "snapshot", "forgotten", "repository_created", "elapsed", "warnings_found"}
PASSWORD = "restic-test-secret"


@pytest.fixture
def repo(tmp_path):
    env_file = tmp_path / "restic.env"
    env_file.write_text('RESTIC_REPOSITORY="%s"\nRESTIC_PASSWORD="%s"\n' % (tmp_path / "repo", PASSWORD))
    env_file.chmod(0o600)
    return env_file


def restic(env_file, *args):
    env = dict(os.environ, RESTIC_REPOSITORY=str(env_file.parent / "repo"), RESTIC_PASSWORD=PASSWORD)
    done = subprocess.run(["restic", *args], env=env, capture_output=True, check=True)
    return done.stdout


def snapshots(env_file):
    return json.loads(restic(env_file, "snapshots", "--json") or b"[]")


def backup_args(node, env_file, **extra):
    return dict(dict(login_port=node.port, group="main", self_address=node.address, env_file=str(env_file),
                     init_repository=True), **extra)


def write_dataset(client):
    client.set("s", "v")
    client.hset("h", mapping={"a": "1", "b": "2"})
    client.rpush("l", "1", "2", "3")
    client.set("big", os.urandom(150000).hex())
    client.set("ttl", "t", ex=600)


def test_only_the_replica_in_sync_takes_the_snapshot(cluster, repo, run_module):
    write_dataset(cluster.client(cluster.primary))
    cluster.wait_replication()
    nodes = cluster.data_nodes
    # Check mode: the choice, nothing in the repository.
    checked = [run_module("redis_backup", backup_args(node, repo), check_mode=True) for node in nodes]
    assert [r["is_source"] for r in checked].count(True) == 1, checked
    assert not (repo.parent / "repo").exists()

    results = [run_module("redis_backup", backup_args(node, repo, keep={"last": 1})) for node in nodes]
    assert not any(r.get("failed") for r in results), results
    sources = [r for r in results if r["is_source"]]
    assert len(sources) == 1 and sources[0]["source_role"] == "replica"
    assert sources[0]["source"] in [replica.address for replica in cluster.replicas]
    assert all(r["source"] == sources[0]["source"] for r in results)
    assert all(set(r) - ANSIBLE_KEYS <= BACKUP_KEYS for r in results)
    taken = sources[0]["snapshot"]
    assert taken["rdb"] == 10 and taken["engine"] == "redis" and taken["size_bytes"] > 200000
    [entry] = snapshots(repo)
    assert entry["hostname"] == "ha-redis-main"
    assert {"group=main", "rdb=10", "engine=redis", "source=%s" % sources[0]["source"]} <= set(entry["tags"])
    dumped = restic(repo, "dump", entry["id"], "/main.rdb")
    assert dumped.startswith(b"REDIS0010")
    assert PASSWORD not in json.dumps(results)

    # A second snapshot with keep last 1: the first one is forgotten and pruned.
    source = [node for node in nodes if node.address == sources[0]["source"]][0]
    again = run_module("redis_backup", backup_args(source, repo, keep={"last": 1}))
    assert again.get("forgotten") == 1 and len(snapshots(repo)) == 1, again


def test_without_a_replica_in_sync_the_primary_only_when_allowed(cluster, repo, run_module):
    for replica in cluster.replicas:
        replica.stop()
    wait_until(lambda: int(cluster.client(cluster.primary).info("replication")["connected_slaves"]) == 0,
               what="the replicas to disconnect")
    refused = run_module("redis_backup", backup_args(cluster.primary, repo))
    assert refused["failed"] and "No replica of the primary" in refused["msg"], refused
    assert not (repo.parent / "repo").exists()
    allowed = run_module("redis_backup", backup_args(cluster.primary, repo, allow_primary=True))
    assert allowed["is_source"] and allowed["source_role"] == "primary", allowed
    assert "taken from the primary" in allowed["warnings_found"][0]
    assert len(snapshots(repo)) == 1


def test_a_snapshot_the_engine_cannot_load_is_refused_before_anything(cluster, repo, run_module, tmp_path):
    restic(repo, "init")
    rdb = tmp_path / "future.rdb"
    rdb.write_bytes(b"REDIS0012" + b"\xff" * 9)
    with open(rdb, "rb") as handle:
        subprocess.run(["restic", "backup", "--stdin", "--stdin-filename", "main.rdb", "--host", "ha-redis-main",
                        "--tag", "ha-redis", "--tag", "rdb=12", "--tag", "engine=redis", "--tag", "version=8.0.2"],
                       stdin=handle, env=dict(os.environ, RESTIC_REPOSITORY=str(tmp_path / "repo"),
                                              RESTIC_PASSWORD=PASSWORD), check=True, capture_output=True)
    client = cluster.client(cluster.primary)
    client.set("kept", "1")
    for action in ("check", "load"):
        result = run_module("redis_restore", dict(login_port=cluster.primary.port, group="main", snapshot="latest",
                                                  env_file=str(repo), action=action,
                                                  service="redis-server@main.service"))
        assert result["failed"] and "RDB 12" in result["msg"] and "nothing was stopped" in result["msg"], result
        assert "loads RDB formats up to 10" in result["msg"]
    assert cluster.primary.running and client.get("kept") == "1"
    missing = run_module("redis_restore", dict(login_port=cluster.primary.port, group="other", snapshot="latest",
                                               env_file=str(repo)))
    assert missing["failed"] and "no snapshot latest" in missing["msg"]


def test_the_timer_copy_runs_alone_and_writes_metrics(cluster, repo, tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("_backup.py", "_backup_plan.py"):
        shutil.copy(REPO / "plugins" / "module_utils" / name, lib / name)
    cluster.client(cluster.primary).set("k", "v")
    cluster.wait_replication()
    metrics = tmp_path / "main.prom"
    outcomes = []
    for node in cluster.data_nodes:
        done = subprocess.run([str(PYTHON), str(lib / "_backup.py"), "--group", "main", "--port", str(node.port),
                               "--address", node.address, "--env-file", str(repo), "--restic", shutil.which("restic"),
                               "--metrics", str(metrics) + "." + str(node.port)],
                              capture_output=True, text=True, env={"PATH": os.environ["PATH"]}, cwd="/",
                              check=False)
        assert done.returncode == 0, done.stderr
        outcomes.append(done.stdout)
    assert sum("snapshot" in line for line in outcomes) == 1, outcomes
    assert len(snapshots(repo)) == 1
    texts = [open(str(metrics) + "." + str(node.port)).read() for node in cluster.data_nodes]
    success = [t for t in texts if 'ha_redis_backup_last_success_timestamp_seconds{ha_redis_group="main"} 0.0' not in t]
    assert len(success) == 1, texts
    # A failed run (the repository password wrong) is recorded as a failure on the node that ran it.
    repo.write_text(repo.read_text().replace(PASSWORD, "wrong"))
    source = [node for node, text in zip(cluster.data_nodes, texts) if text in success][0]
    done = subprocess.run([str(PYTHON), str(lib / "_backup.py"), "--group", "main", "--port", str(source.port),
                           "--address", source.address, "--env-file", str(repo), "--restic", shutil.which("restic"),
                           "--metrics", str(metrics) + "." + str(source.port)],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 1 and "wrong" not in done.stderr and "failed" in done.stderr, done.stderr
    assert 'ha_redis_backup_last_failure_timestamp_seconds{ha_redis_group="main"} 0.0' not in open(
        str(metrics) + "." + str(source.port)).read()
    assert sys.version_info >= (3, 6)


def test_backup_info_reports_each_groups_age(cluster, repo, run_module):
    missing = run_module("backup_info", dict(groups=["main"], env_file=str(repo)))
    assert missing["failed"] and "Cannot read the backup repository" in missing["msg"]
    taken = [run_module("redis_backup", backup_args(node, repo)) for node in cluster.data_nodes]
    assert sum(bool(r["is_source"]) for r in taken) == 1
    info = run_module("backup_info", dict(groups=["main", "cache"], env_file=str(repo), max_age=3600),
                      check_mode=True)
    assert info["changed"] is False and set(info) - ANSIBLE_KEYS == {"changed", "groups", "report", "warnings_found"}
    assert info["groups"]["main"]["age_seconds"] < 60 and info["groups"]["cache"]["snapshot"] is None
    assert info["warnings_found"] == ["Group cache has no backup in the repository, expected one within 3600 s."]
    wait_until(lambda: run_module("backup_info", dict(groups=["main"], env_file=str(repo), max_age=1))
               ["warnings_found"], timeout=10, what="the backup to be older than 1 s")
