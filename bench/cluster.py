"""Benchmark the Redis Cluster modules against redis-cli --cluster on loopback processes.

Figures, each the median of ``--runs`` runs (with min and max), both tools measured in the same run on fresh,
identical sets of ``redis-server --cluster-enabled yes`` processes (tests/functional/redis_cluster_lab.py):

* create: six empty nodes (three fake hosts) to a cluster of 3 primaries with 1 replica each - the module
  ``redis_cluster`` (run as Ansible runs it, one Python process) vs ``redis-cli --cluster create
  --cluster-replicas 1``; wall time until the tool returns, and until every node says cluster_state:ok with one
  configuration.
* rebalance: the same cluster holding ``--keys`` keys plus a fourth host with two nodes (one new empty primary,
  one replica), rebalanced by ``cluster_rebalance`` vs ``redis-cli --cluster rebalance
  --cluster-use-empty-masters``; slots/s and keys/s,
  the longest gap between two acknowledged writes of a RedisCluster client writing throughout, and the
  acknowledged writes lost.

Run from the checkout: ``.venv/bin/python bench/cluster.py [--runs 3] [--keys 100000]``. Results go to
bench/cluster/results.json and bench/cluster/results.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "functional"))

from cluster import run_module_direct  # noqa: E402
from redis.cluster import ClusterNode, RedisCluster  # noqa: E402
from redis.crc import key_slot  # noqa: E402
from redis_cluster_lab import ClusterLab  # noqa: E402

OUT = ROOT / "bench" / "cluster"
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"
HOSTS = ["a", "a", "b", "b", "c", "c"]


def rc_client(lab):
    return RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in lab.startup_nodes], decode_responses=True,
                        socket_timeout=5)


def create_once(workdir, tool):
    lab = ClusterLab(workdir, count=6, hosts=HOSTS).start()
    try:
        start = time.monotonic()
        if tool == "module":
            result = run_module_direct("redis_cluster", dict(nodes=lab.declared(), replicas=1), workdir)
            assert result.get("created"), result
        else:
            subprocess.run([REDIS_CLI, "--cluster", "create", *[n.address for n in lab.nodes], "--cluster-replicas",
                            "1", "--cluster-yes"], check=True, capture_output=True, timeout=120)
        returned = time.monotonic() - start
        lab.wait_ok(timeout=60)
        return dict(returned_s=returned, agreed_s=time.monotonic() - start)
    finally:
        lab.stop()


def load(lab, count):
    client = rc_client(lab)
    pipe = client.pipeline()
    for i in range(count):
        pipe.set("k:%d" % i, i)
        if i % 5000 == 4999:
            pipe.execute()
            pipe = client.pipeline()
    pipe.execute()
    client.close()


class Writer(threading.Thread):
    def __init__(self, lab):
        super().__init__(daemon=True)
        self.lab, self.stop, self.acked, self.errors, self.gap = lab, threading.Event(), {}, 0, 0.0

    def run(self):
        client, i, last = rc_client(self.lab), 0, time.monotonic()
        while not self.stop.is_set():
            try:
                if client.set("w:%d" % i, i):
                    self.acked["w:%d" % i] = str(i)
                    now = time.monotonic()
                    self.gap, last = max(self.gap, now - last), now
            except Exception:  # noqa: BLE001 - counted
                self.errors += 1
            i += 1
        client.close()


def rebalance_once(workdir, tool, keys):
    lab = ClusterLab(workdir, count=6, hosts=HOSTS).start()
    try:
        assert run_module_direct("redis_cluster", dict(nodes=lab.declared(), replicas=1), workdir)["created"]
        lab.wait_ok()
        # A fourth host with two nodes: one new empty primary, one replica (seven nodes would give three seats).
        lab.add_node("d")
        lab.add_node("d")
        grown = run_module_direct("redis_cluster", dict(nodes=lab.declared(), replicas=1), workdir)
        assert grown["rebalance_needed"], grown
        new = lab.node_at(grown["empty_primaries"][0])
        lab.wait_ok()
        load(lab, keys)
        writer = Writer(lab)
        writer.start()
        time.sleep(0.5)
        start = time.monotonic()
        if tool == "module":
            result = run_module_direct("cluster_rebalance", dict(nodes=lab.declared()), workdir, timeout=900)
            assert not result.get("failed"), result.get("msg")
        else:
            subprocess.run([REDIS_CLI, "--cluster", "rebalance", lab.nodes[0].address, "--cluster-use-empty-masters"],
                           check=True, capture_output=True, timeout=900)
        wall = time.monotonic() - start
        time.sleep(0.5)
        writer.stop.set()
        writer.join()
        lab.wait_ok(timeout=60)
        line = next(li for li in new.client().execute_command("CLUSTER", "NODES").splitlines() if "myself" in li)
        owned = {s for a, b in _ranges(line.split()[8:]) for s in range(a, b + 1)}
        slots = len(owned)
        # Seeded keys now in the new primary's slots: the keys the rebalance moved (writer keys not counted).
        moved_keys = sum(1 for i in range(keys) if key_slot(b"k:%d" % i) in owned)
        check = rc_client(lab)
        lost = sum(1 for k, v in writer.acked.items() if check.get(k) != v)
        check.close()
        return dict(wall_s=wall, slots=slots, keys=moved_keys, slots_per_s=slots / wall, keys_per_s=moved_keys / wall,
                    write_gap_ms=writer.gap * 1000, writes=len(writer.acked), write_errors=writer.errors, lost=lost)
    finally:
        lab.stop()


def _ranges(tokens):
    for token in tokens:
        if not token.startswith("["):
            start, _sep, end = token.partition("-")
            yield int(start), int(end or start)


def summary(values):
    return dict(median=statistics.median(values), min=min(values), max=max(values), runs=len(values))


def render(doc):
    rows = [("figure", "median", "min", "max", "runs"), ("---", "---:", "---:", "---:", "---:")]
    for name, fig in doc["figures"].items():
        unit = fig["unit"]
        fmt = ("%.2f" if unit in ("s",) else "%.0f") + (" " + unit if unit else "")
        rows.append((name, fmt % fig["median"], fmt % fig["min"], fmt % fig["max"], str(fig["runs"])))
    table = "\n".join("| " + " | ".join(r) + " |" for r in rows)
    return ("# Redis Cluster benchmark\n\nGenerated by `bench/cluster.py` on %s: %d run(s) per figure, %d keys, "
            "loopback processes (redis-server %s), both tools on fresh identical clusters in the same run. Load "
            "average at start %s on %d CPUs.\n\n%s\n\nRatios (median module / median redis-cli): %s.\n"
            % (doc["date"], doc["runs"], doc["keys"], doc["redis_version"], doc["load"], doc["cpus"], table,
               ", ".join("%s %.2f" % (k, v) for k, v in doc["ratios"].items())))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keys", type=int, default=100000)
    parser.add_argument("--out-dir", type=Path, default=OUT)
    args = parser.parse_args()
    samples = {}
    load_avg = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="ha-redis-cluster-bench-") as tmp:
        for run in range(args.runs):
            for tool in ("module", "redis-cli"):
                for kind, func in (("create", create_once), ("rebalance", rebalance_once)):
                    workdir = Path(tmp) / ("%s-%s-%d" % (kind, tool, run))
                    extra = (args.keys,) if kind == "rebalance" else ()
                    result = func(workdir, tool, *extra)
                    print(kind, tool, run, json.dumps({k: round(v, 3) for k, v in result.items()}), flush=True)
                    for key, value in result.items():
                        samples.setdefault("%s %s %s" % (kind, tool, key), []).append(value)
    names = [
        ("Create, module returned (6 nodes, 3+3)", "create module returned_s", "s"),
        ("Create, redis-cli --cluster create returned", "create redis-cli returned_s", "s"),
        ("Create, module, until every node agrees", "create module agreed_s", "s"),
        ("Create, redis-cli, until every node agrees", "create redis-cli agreed_s", "s"),
        ("Rebalance to 1 new primary, module wall", "rebalance module wall_s", "s"),
        ("Rebalance to 1 new primary, redis-cli wall", "rebalance redis-cli wall_s", "s"),
        ("Rebalance, module slots/s", "rebalance module slots_per_s", "slots/s"),
        ("Rebalance, redis-cli slots/s", "rebalance redis-cli slots_per_s", "slots/s"),
        ("Rebalance, module keys/s", "rebalance module keys_per_s", "keys/s"),
        ("Rebalance, redis-cli keys/s", "rebalance redis-cli keys_per_s", "keys/s"),
        ("Rebalance, slots moved (module)", "rebalance module slots", ""),
        ("Rebalance, slots moved (redis-cli)", "rebalance redis-cli slots", ""),
        ("Rebalance, keys moved (module)", "rebalance module keys", ""),
        ("Rebalance, keys moved (redis-cli)", "rebalance redis-cli keys", ""),
        ("Rebalance, longest write gap, module", "rebalance module write_gap_ms", "ms"),
        ("Rebalance, longest write gap, redis-cli", "rebalance redis-cli write_gap_ms", "ms"),
        ("Rebalance, acknowledged writes lost, module", "rebalance module lost", ""),
        ("Rebalance, acknowledged writes lost, redis-cli", "rebalance redis-cli lost", ""),
        ("Rebalance, write errors seen by the client, module", "rebalance module write_errors", ""),
        ("Rebalance, write errors seen by the client, redis-cli", "rebalance redis-cli write_errors", ""),
    ]
    figures = {label: dict(summary(samples[key]), unit=unit) for label, key, unit in names}
    ratio = {
        "create returned": "create %s returned_s", "create agreed": "create %s agreed_s",
        "rebalance wall": "rebalance %s wall_s", "rebalance keys/s": "rebalance %s keys_per_s",
    }
    ratios = {k: statistics.median(samples[v % "module"]) / statistics.median(samples[v % "redis-cli"])
              for k, v in ratio.items()}
    version = subprocess.run(["redis-server", "--version"], capture_output=True, text=True,
                             check=False).stdout.split()[2]
    doc = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"), runs=args.runs,
               keys=args.keys, cpus=os.cpu_count(), load=load_avg, python=platform.python_version(),
               redis_version=version.split("=")[-1], figures=figures, ratios=ratios, samples=samples)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "results.json").write_text(json.dumps(doc, indent=1) + "\n")
    (args.out_dir / "results.md").write_text(render(doc))
    print(render(doc))


if __name__ == "__main__":
    main()
