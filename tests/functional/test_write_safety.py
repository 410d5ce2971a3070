# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What ha.redis' write-safety defaults buy, on real processes, with the writer the fault tests use
(tests/tools/writer.py): a primary whose replicas stop answering stops acknowledging writes after
min-replicas-max-lag, and without the bound it does not; a WAIT 1 writer loses nothing when the primary is killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from cluster import REPO, wait_until

WRITER = REPO / "tests" / "tools" / "writer.py"


def start_writer(tmp_path, cluster, *extra, duration=8.0):
    out = tmp_path / ("writer-%d.json" % time.monotonic_ns())
    argv = [sys.executable, str(WRITER), "--name", cluster.name, "--out", str(out), "--duration", str(duration),
            "--interval", "0.05", "--timeout", "0.5", *extra]
    for address in cluster.sentinel_addresses():
        argv += ["--sentinel", address]
    return subprocess.Popen(argv, env=dict(os.environ)), out


def finish(proc, out):
    assert proc.wait(timeout=60) == 0
    return json.loads(out.read_text())


@pytest.mark.parametrize("bound", [1, 0])
def test_primary_cut_off_from_its_replicas(cluster, tmp_path, bound):
    """The replicas freeze (SIGSTOP: the primary sees no acknowledgement, as in a partition) while a client next to
    the primary writes every 50 ms: with min-replicas-to-write 1 / max-lag 2 it stops acknowledging about 2-3 s
    later; with 0 it acknowledges to the end."""
    primary = cluster.client(cluster.primary)
    primary.config_set("min-replicas-to-write", bound)
    primary.config_set("min-replicas-max-lag", 2)
    proc, out = start_writer(tmp_path, cluster, "--direct", cluster.primary.address, duration=7.0)
    time.sleep(1.5)
    cut = time.time()
    for replica in cluster.replicas:
        os.kill(replica.pid, signal.SIGSTOP)
    try:
        summary = finish(proc, out)
    finally:
        for replica in cluster.replicas:
            os.kill(replica.pid, signal.SIGCONT)
    after = [t for t in summary["acked_at"] if t >= cut]
    last = max(after) - cut if after else 0.0
    if bound:
        # Replicas acknowledge once a second: the last one is 0-1 s old at the cut; max-lag 2 s, then refused.
        assert 1.0 <= last <= 3.5, (last, summary["error_samples"][:3])
        assert any("NOREPLICAS" in e["error"] for e in summary["error_samples"]), summary["error_samples"][:3]
    else:
        assert last >= 4.5, last
        assert summary["errors"] == 0


def test_wait_writer_loses_nothing_when_the_primary_is_killed(cluster, tmp_path):
    """kill -9 of the primary under a Sentinel-aware writer with WAIT 1: the Sentinels promote a replica that has
    every write the writer counted as acknowledged."""
    proc, out = start_writer(tmp_path, cluster, "--discovery", "addr", "--wait", "1", duration=12.0)
    time.sleep(1.5)
    old = cluster.primary.address
    cluster.primary.kill()
    wait_until(lambda: cluster.current_primary() not in (None, cluster.primary), timeout=30, what="a failover")
    summary = finish(proc, out)
    check = subprocess.run([sys.executable, str(WRITER), "--name", cluster.name, "--check", str(out)]
                           + sum((["--sentinel", a] for a in cluster.sentinel_addresses()), []),
                           capture_output=True, text=True, check=False, timeout=60)
    result = json.loads(check.stdout)
    assert check.returncode == 0, result
    assert result["lost"] == 0 and result["primary"] != old, result
    assert summary["wait"] == 1 and summary["acknowledged"] > 20
