"""The benchmark's unplanned-failure part: a killed primary and a partitioned primary, measured with
tests/tools/faults.py on a 3-host lab deployed with the defaults (down-after 5 s, min-replicas-to-write 1,
min-replicas-max-lag 10 s). The partition is measured twice: with the bound (the default) and without it
(``min-replicas-to-write 0``, the behaviour before ha.redis set it). bench.py calls :func:`faults_run`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FAULTS = ROOT / "tests" / "tools" / "faults.py"

UNITS = {
    "kill_detection": "s",
    "kill_write_gap": "ms",
    "kill_lost_writes": "writes",
    "kill_lost_writes_wait1": "writes",
    "partition_detection": "s",
    "partition_write_gap": "ms",
    "partition_isolated_acked_for": "s",
    "partition_isolated_lost": "writes",
    "partition_lost_writes_wait1": "writes",
    "partition_unbounded_isolated_acked_for": "s",
    "partition_unbounded_isolated_lost": "writes",
}

LABELS = [
    ("kill_detection", "Killed primary (kill -9): seconds until a majority of Sentinels names a new primary"),
    ("kill_write_gap", "Killed primary: longest write gap, GET-MASTER-ADDR-BY-NAME client"),
    ("kill_lost_writes", "Killed primary: acknowledged writes lost, client without WAIT"),
    ("kill_lost_writes_wait1", "Killed primary: acknowledged writes lost, client with WAIT 1"),
    ("partition_detection", "Partitioned primary (30 s): seconds until the majority side names a new primary"),
    ("partition_write_gap", "Partitioned primary: longest write gap, GET-MASTER-ADDR-BY-NAME client with WAIT 1"),
    ("partition_isolated_acked_for",
     "Partitioned primary: seconds the isolated primary kept acknowledging writes (min-replicas-to-write 1)"),
    ("partition_isolated_lost", "Partitioned primary: writes acknowledged on the isolated side and lost (bounded)"),
    ("partition_lost_writes_wait1", "Partitioned primary: acknowledged writes lost, controller client with WAIT 1"),
    ("partition_unbounded_isolated_acked_for",
     "Partitioned primary, min-replicas-to-write 0: seconds the isolated primary kept acknowledging writes"),
    ("partition_unbounded_isolated_lost",
     "Partitioned primary, min-replicas-to-write 0: writes acknowledged on the isolated side and lost"),
]


def fault(lab, network, kind, timeout, passwords, extra=()):
    """Run faults.py against the lab; returns its JSON (raises RuntimeError with its output on failure)."""
    cmd = [sys.executable, str(FAULTS), kind, "--network", network, *extra]
    for name, address in lab.hosts.values():
        cmd += ["--sentinel", "%s:26379" % address, "--node", "%s=%s" % (address, name)]
    env = dict(os.environ, HA_REDIS_PASSWORD=passwords[0], HA_REDIS_SENTINEL_PASSWORD=passwords[1])
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError("faults.py %s failed (rc %d): %s %s" % (kind, proc.returncode, proc.stdout[-1500:],
                                                                   proc.stderr[-1500:]))
    return json.loads(proc.stdout)


def faults_run(lab, network, passwords, run, res, playbook_timeout, settle):
    """The kill, then the partition with and without the bound, each followed by the gate (verify.yml)."""
    kill = fault(lab, network, "kill", playbook_timeout, passwords)
    res.add("kill_detection", kill["detection_s"], run=run, rejoined_as_replica_s=kill["rejoined_as_replica_s"])
    res.add("kill_write_gap", kill["writer"]["longest_write_gap_ms"], run=run, errors=kill["writer"]["errors"])
    res.add("kill_lost_writes", kill["writer"]["lost"], run=run, acknowledged=kill["writer"]["acknowledged"])
    res.add("kill_lost_writes_wait1", kill["writer_wait1"]["lost"], run=run,
            acknowledged=kill["writer_wait1"]["acknowledged"])
    settle("after-kill-run%d" % run)
    for unbounded in (False, True):
        extra = ["--hold", "30"] + (["--unbounded"] if unbounded else [])
        part = fault(lab, network, "partition", playbook_timeout, passwords, extra)
        iso = part["isolated_writer"]
        prefix = "partition_unbounded" if unbounded else "partition"
        if not unbounded:
            res.add("partition_detection", part["detection_s"], run=run)
            res.add("partition_write_gap", part["writer_wait1"]["longest_write_gap_ms"], run=run,
                    errors=part["writer_wait1"]["errors"])
            res.add("partition_lost_writes_wait1", part["writer_wait1"]["lost"], run=run,
                    acknowledged=part["writer_wait1"]["acknowledged"])
        res.add(prefix + "_isolated_acked_for", iso["acknowledged_for_s_after_cut"], run=run,
                acknowledged_after_cut=iso["acknowledged_after_cut"], rejoined_s=part["rejoined_as_replica_s"])
        res.add(prefix + "_isolated_lost", iso["lost"], run=run, acknowledged=iso["acknowledged"])
        settle("after-%s-run%d" % (prefix, run))
