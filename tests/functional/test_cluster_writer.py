# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tests/tools/cluster_writer.py against a real cluster with a password: its summary is true, and --check finds a
lost write (so the zero-loss checks that rely on it can fail)."""

from __future__ import annotations

import json
import os
import subprocess

from cluster import PYTHON, REPO, run_module_direct
from redis.cluster import ClusterNode, RedisCluster
from redis_cluster_lab import ClusterLab

WRITER = REPO / "tests" / "tools" / "cluster_writer.py"
PASSWORD = "writer-s3cret"


def writer(args, env):
    proc = subprocess.run([str(PYTHON), str(WRITER), *args], capture_output=True, text=True, timeout=60, env=env,
                          check=False)
    return proc.returncode, json.loads(proc.stdout or "{}"), proc.stderr


def test_writer_summary_and_check_find_a_lost_write(tmp_path):
    lab = ClusterLab(tmp_path / "lab", count=6, hosts=["a", "a", "b", "b", "c", "c"], password=PASSWORD).start()
    try:
        made = run_module_direct("redis_cluster", dict(nodes=lab.declared(), login_password=PASSWORD), tmp_path)
        assert made.get("created"), made
        lab.wait_ok()
        env = dict(os.environ, HA_REDIS_PASSWORD=PASSWORD)
        nodes = sum((["--node", n.address] for n in lab.nodes[:2]), [])
        summary_path = tmp_path / "summary.json"
        code, _out, err = writer(nodes + ["--duration", "1.5", "--interval", "0.002", "--out", str(summary_path)], env)
        assert code == 0, err
        summary = json.loads(summary_path.read_text())
        assert summary["errors"] == 0 and summary["acknowledged"] == summary["attempted"] > 100, summary
        assert summary["acked"] == list(range(1, summary["acknowledged"] + 1))
        assert summary["slots_written"] > 100 and 0 < summary["longest_write_gap_ms"] < 1000
        rc = RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in lab.startup_nodes], decode_responses=True,
                          password=PASSWORD)
        # Every primary holds some of the keys (they are spread over the slots).
        counts = [n.client(password=PASSWORD).dbsize() for n in lab.nodes]
        assert sum(counts) == 2 * summary["acknowledged"] and sum(1 for c in counts if c) == 6, counts
        code, result, err = writer(nodes + ["--check", str(summary_path)], env)
        assert code == 0 and result["lost"] == 0 and result["present"] == summary["acknowledged"], (result, err)

        rc.delete("ha-redis:cw:7")
        rc.set("ha-redis:cw:9", "other")
        code, result, _err = writer(["--check", str(summary_path)], env)
        assert code == 1 and result["lost"] == 1 and result["lost_samples"] == [7], result
        assert result["changed"] == 1 and result["changed_samples"] == [9]
        # Without the password the writer cannot write: errors, nothing acknowledged.
        code, _out, err = writer(nodes + ["--duration", "0.3", "--out", str(tmp_path / "nopw.json")],
                                 dict(os.environ, HA_REDIS_PASSWORD=""))
        nopw = json.loads((tmp_path / "nopw.json").read_text())
        assert code == 0 and nopw["acknowledged"] == 0 and nopw["errors"] > 0, nopw
        rc.close()
    finally:
        lab.stop()
