# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""cluster_failover against a real six-node cluster (three inventory hosts, two nodes each): every primary moves
off a host while tests/tools/cluster_writer.py writes, with no acknowledged write lost; check mode sends nothing;
a primary that cannot move is refused before any change; mode force for a primary that is down."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import time

import pytest
import yaml
from cluster import COLLECTIONS, PYTHON, REPO, run_module_direct, wait_until
from redis_cluster_lab import ClusterLab

sys.path.insert(0, str(COLLECTIONS))
cluster_failover = importlib.import_module("ansible_collections.ha.redis.plugins.modules.cluster_failover")
HOSTS = ["a", "a", "b", "b", "c", "c"]
WRITER = REPO / "tests" / "tools" / "cluster_writer.py"


@pytest.fixture
def lab(tmp_path):
    """Three primaries and three replicas, each replica on another host than its primary."""
    c = ClusterLab(tmp_path / "lab", count=6, hosts=HOSTS).start()
    c.tmp = tmp_path
    try:
        assert run_module_direct("redis_cluster", dict(nodes=c.declared(), replicas=1), tmp_path)["created"]
        c.wait_ok()
        yield c
    finally:
        c.stop()


def roles(lab, via=None):
    """{address: address of its primary, or None for a primary}, read from one node."""
    node = via or next(n for n in lab.nodes if n.running)
    lines = [line.split() for line in node.client().execute_command("CLUSTER", "NODES").splitlines()]
    by_id = {p[0]: p[1].split("@")[0] for p in lines}
    return {p[1].split("@")[0]: (None if "master" in p[2] else by_id.get(p[3])) for p in lines}


def serving(lab, host):
    """The addresses on ``host`` that are primaries serving slots."""
    lines = [line.split() for line in lab.nodes[0].client().execute_command("CLUSTER", "NODES").splitlines()]
    owners = {p[1].split("@")[0] for p in lines if "master" in p[2] and len(p) > 8}
    return sorted(n.address for i, n in enumerate(lab.nodes) if lab.hosts[i] == host and n.address in owners)


def failovers_sent(lab):
    """How many CLUSTER FAILOVER commands the running nodes executed since CONFIG RESETSTAT."""
    total = 0
    for node in lab.nodes:
        if node.running:
            stats = node.client().info("commandstats")
            total += stats.get("cmdstat_cluster|failover", {}).get("calls", 0)
    return total


def reset_stats(lab):
    for node in lab.nodes:
        if node.running:
            node.client().config_resetstat()


def run(lab, check_mode=False, **args):
    return run_module_direct("cluster_failover", dict(dict(nodes=lab.declared(), _ansible_diff=True), **args),
                             lab.tmp, check_mode=check_mode)


def check(lab, **args):
    return run_module_direct("cluster_check", dict(dict(nodes=lab.declared(), replicas=1, timeout=15), **args),
                             lab.tmp)


class ClusterWriter:
    """tests/tools/cluster_writer.py in a subprocess."""

    def __init__(self, lab, name="writer"):
        self.lab = lab
        self.out = lab.tmp / ("%s.json" % name)
        self.stop_file = lab.tmp / ("%s.stop" % name)
        self.ready_file = lab.tmp / ("%s.ready" % name)
        self.nodes = sum((["--node", n.address] for n in lab.nodes), [])
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([str(PYTHON), str(WRITER), *self.nodes, "--interval", "0.005",
                                      "--duration", "120", "--stop-file", str(self.stop_file),
                                      "--ready-file", str(self.ready_file), "--out", str(self.out)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        wait_until(lambda: self.ready_file.exists() or self.proc.poll() is not None, timeout=20,
                   what="the first acknowledged write")
        assert self.proc.poll() is None, self.proc.stderr.read().decode()
        return self

    def stop(self):
        self.stop_file.write_text("stop\n")
        try:
            self.proc.wait(timeout=20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
        assert self.proc.returncode == 0, self.proc.stderr.read().decode()
        return json.loads(self.out.read_text())

    def check(self):
        proc = subprocess.run([str(PYTHON), str(WRITER), *self.nodes, "--check", str(self.out)],
                              capture_output=True, text=True, timeout=60, check=False)
        return proc.returncode, json.loads(proc.stdout)


def test_every_primary_leaves_the_host_under_a_writer_check_mode_first_then_no_change(lab):
    # Host a holds both its nodes as primaries: its replica takes over from its primary on another host first.
    replica_on_a = next(n for i, n in enumerate(lab.nodes) if lab.hosts[i] == "a" and roles(lab)[n.address])
    replica_on_a.client().execute_command("CLUSTER", "FAILOVER")
    wait_until(lambda: len(serving(lab, "a")) == 2, timeout=20, what="host a to hold two primaries")
    lab.wait_ok()
    moving = serving(lab, "a")
    before = roles(lab)
    reset_stats(lab)

    preview = run(lab, check_mode=True, away_from=["a"])
    assert preview["changed"] and not preview.get("failed"), preview
    assert [f["primary"] for f in preview["failovers"]] == moving
    assert all(f["elapsed"] is None for f in preview["failovers"])
    assert preview["commands"] == ["%s: CLUSTER FAILOVER" % f["replica"] for f in preview["failovers"]]
    assert failovers_sent(lab) == 0 and roles(lab) == before, "check mode must send nothing"

    writer = ClusterWriter(lab).start()
    try:
        time.sleep(0.5)
        result = run(lab, away_from=["a"])
        time.sleep(0.5)
    finally:
        summary = writer.stop()
    assert not result.get("failed"), result.get("msg")
    assert result["changed"] and result["failovers"][0].keys() == {"primary", "replica", "slots", "elapsed"}
    assert [(f["primary"], f["replica"]) for f in result["failovers"]] == \
        [(f["primary"], f["replica"]) for f in preview["failovers"]]
    assert result["commands"] == preview["commands"] and failovers_sent(lab) == 2
    assert set(result) - {"invocation", "rc", "changed", "diff"} == set(yaml.safe_load(cluster_failover.RETURN))
    assert serving(lab, "a") == []
    after = roles(lab)
    for failover in result["failovers"]:
        assert after[failover["replica"]] is None and after[failover["primary"]] == failover["replica"]
    assert result["diff"]["after"] == preview["diff"]["after"] != preview["diff"]["before"]

    code, read_back = writer.check()
    assert summary["acknowledged"] > 200 and summary["slots_written"] > 200, summary
    assert code == 0 and read_back["lost"] == 0 and read_back["changed"] == 0, read_back
    gap, times = summary["longest_write_gap_ms"], [f["elapsed"] for f in result["failovers"]]
    print("\nFIGURES failover_s=%s longest_write_gap_ms=%s acknowledged=%d errors=%d"
          % (times, gap, summary["acknowledged"], summary["errors"]))
    # A coordinated failover pauses the old primary's clients until the replica has caught up: no write fails.
    assert summary["errors"] == 0, summary["error_samples"]
    assert gap < 3000

    lab.wait_ok()
    assert not check(lab).get("failed")
    again = run(lab, away_from=["a"])
    assert again["changed"] is False and again["failovers"] == [] and again["commands"] == []
    assert again["diff"]["before"] == again["diff"]["after"]


def test_a_primary_whose_only_replica_is_on_an_away_host_is_refused_before_any_change(lab):
    [primary] = serving(lab, "a")
    mapping = roles(lab)
    replica = next(r for r, p in mapping.items() if p == primary)
    other = lab.hosts[[n.address for n in lab.nodes].index(replica)]
    reset_stats(lab)
    result = run(lab, away_from=["a", other])
    assert result.get("failed") and result["changed"] is False, result
    assert result["msg"].startswith("Primary %s on host a (" % primary), result["msg"]
    assert "has no replica that can take over (replicas: %s: on a host named in away_from)" % replica in result["msg"]
    assert result["commands"] == [] and result["failovers"] == []
    assert result["refused"][0]["primary"] == primary
    assert failovers_sent(lab) == 0 and roles(lab) == mapping
    # The inventory says the replica runs on the primary's own host: moving away from that host is refused too.
    lab.hosts[[n.address for n in lab.nodes].index(replica)] = "a"
    same = run(lab, away_from=["a"])
    assert same.get("failed") and same["msg"].startswith("Primary %s on host a (" % primary), same["msg"]
    assert same["commands"] == [] and failovers_sent(lab) == 0 and roles(lab) == mapping
    bad = run(lab, away_from=["d"])
    assert bad.get("failed") and bad["msg"].startswith("Option away_from names d, expected an inventory host")


def test_force_moves_a_primary_that_is_down(lab):
    [address] = serving(lab, "c")
    primary = lab.node_at(address)
    replica = lab.node_at(next(r for r, p in roles(lab).items() if p == address))
    # Keep Redis from failing over by itself once the primary is marked failing: the module does it.
    replica.client().config_set("cluster-replica-no-failover", "yes")
    primary.stop()
    refused = run(lab, away_from=["c"])
    assert refused.get("failed") and "does not answer, expected it up for a coordinated failover" in refused["msg"]
    assert refused["commands"] == []
    result = run(lab, away_from=["c"], mode="force", timeout=20)
    assert not result.get("failed"), result.get("msg")
    assert result["commands"] == ["%s: CLUSTER FAILOVER FORCE" % replica.address]
    assert [(f["primary"], f["replica"]) for f in result["failovers"]] == [(address, replica.address)]
    assert roles(lab, via=replica)[replica.address] is None
    replica.client().config_set("cluster-replica-no-failover", "no")
    # The old primary comes back as a replica of the node that took over.
    primary.start()
    wait_until(lambda: roles(lab, via=primary).get(address) == replica.address, timeout=20,
               what="the old primary to rejoin as a replica")
    lab.wait_ok()
    assert not check(lab).get("failed")


def link_up(node):
    return node.client().info("replication").get("master_link_status") == "up"


def test_back_and_forth_a_replica_that_just_won_an_election_takes_over_again(lab):
    """A rolling upgrade can ask a node to take over again soon after it last did. Redis 7.0 then ignores the first
    CLUSTER FAILOVER (a stale election, see RESEND_AFTER in the module_util); the module asks again."""
    [primary] = serving(lab, "a")
    writer = ClusterWriter(lab).start()
    try:
        first = run(lab, away_from=["a"])
        [(old, new)] = [(f["primary"], f["replica"]) for f in first["failovers"]]
        assert old == primary, first
        other = lab.hosts[[n.address for n in lab.nodes].index(new)]
        wait_until(lambda: link_up(lab.node_at(primary)), timeout=20, what="the old primary's link")
        second = run(lab, away_from=[other])
        assert (new, primary) in [(f["primary"], f["replica"]) for f in second["failovers"]], second
        lab.wait_ok()
        wait_until(lambda: link_up(lab.node_at(new)), timeout=20, what="the link of %s" % new)
        third = run(lab, away_from=["a"], timeout=30)
    finally:
        summary = writer.stop()
    assert not third.get("failed"), third.get("msg")
    assert (primary, new) in [(f["primary"], f["replica"]) for f in third["failovers"]], third
    sent = sum(1 for c in third["commands"] if c.startswith(new + ":"))
    print("\nFIGURES back_and_forth sent=%d elapsed=%s longest_write_gap_ms=%s errors=%d %s"
          % (sent, [f["elapsed"] for f in third["failovers"]], summary["longest_write_gap_ms"], summary["errors"],
             sorted({e["error"].split(":")[0] for e in summary["error_samples"]})))
    code, read_back = writer.check()
    assert code == 0 and read_back["lost"] == 0, read_back
    lab.wait_ok()
    assert not check(lab).get("failed")
