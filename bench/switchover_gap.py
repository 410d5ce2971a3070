"""What Sentinel-aware clients see during a planned switchover, on real processes on loopback (issue 17, item 4).

For each run and each replica count, a fresh primary with N replicas and three Sentinels (tests/functional/cluster.py:
down-after 1 s, parallel-syncs 1), two writers (tests/tools/writer.py: redis-py's ``Sentinel`` client, which reads
``SENTINEL MASTERS``, and a ``GET-MASTER-ADDR-BY-NAME`` poller) writing every 10 ms, then
``ha.redis.sentinel_failover`` with ``avoid`` = the primary and ``zero_loss``. Reported per variant: each writer's
longest time between two acknowledged writes, the module's ``write_pause_ms`` and elapsed time, and the
acknowledged writes the new primary does not hold.

Variants are checkouts of the collection (``--variant name=/path/to/checkout``), run in interleaved order within
each run so that a noisy machine hurts them alike. Nothing here needs containers or the container lock.

    .venv/bin/python bench/switchover_gap.py --runs 5 --replicas 2,4 \
        --variant before=/tmp/before-checkout --variant after=. --out bench/work/switchover-gap.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "functional"))

from cluster import PYTHON, Cluster  # noqa: E402

WRITER = ROOT / "tests" / "tools" / "writer.py"


class Writer:
    def __init__(self, cluster, workdir, tag, discovery):
        self.out = workdir / ("%s.json" % tag)
        self.stop_file = workdir / ("%s.stop" % tag)
        self.ready_file = workdir / ("%s.ready" % tag)
        self.base = [str(PYTHON), str(WRITER), "--name", cluster.name, "--key", "bench:%s" % tag,
                     "--discovery", discovery]
        for sentinel in cluster.sentinel_addresses():
            self.base += ["--sentinel", sentinel]
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.base + ["--interval", "0.01", "--timeout", "0.5", "--duration", "120",
                                                  "--stop-file", str(self.stop_file),
                                                  "--ready-file", str(self.ready_file), "--out", str(self.out)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not self.ready_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise RuntimeError("writer %s never got a write acknowledged" % self.out.stem)
            time.sleep(0.05)

    def stop(self):
        self.stop_file.touch()
        self.proc.wait(timeout=30)
        summary = json.loads(self.out.read_text())
        checked = subprocess.run(self.base[:2] + ["--check", str(self.out)] + self.base[2:], capture_output=True,
                                 text=True, timeout=60, check=False)
        return summary, json.loads(checked.stdout)


def run_module(checkout, args, workdir):
    args_file = workdir / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    env = dict(os.environ, PYTHONPATH=str(Path(checkout).resolve() / ".collections"))
    proc = subprocess.run([str(PYTHON), "-m", "ansible_collections.ha.redis.plugins.modules.sentinel_failover",
                           str(args_file)], capture_output=True, text=True, env=env, timeout=120, check=False)
    return json.loads(proc.stdout)


def one(checkout, replicas, workdir):
    cluster = Cluster(workdir / "cluster", replicas=replicas).start()
    try:
        writers = [Writer(cluster, workdir, "masters", "masters"), Writer(cluster, workdir, "addr", "addr")]
        for writer in writers:
            writer.start()
        time.sleep(1.0)
        result = run_module(checkout, dict(sentinels=cluster.sentinel_addresses(), primary_name=cluster.name,
                                           avoid=cluster.primary.address, zero_loss=True), workdir)
        time.sleep(1.0)
        (masters, masters_checked), (addr, addr_checked) = [w.stop() for w in writers]
    finally:
        cluster.stop()
    if result.get("failed"):
        raise RuntimeError("sentinel_failover failed: %s" % result.get("msg"))
    return dict(gap_masters_ms=masters["longest_write_gap_ms"], gap_addr_ms=addr["longest_write_gap_ms"],
                write_pause_ms=result.get("write_pause_ms"), module_elapsed_s=result.get("elapsed"),
                lost=masters_checked["lost"] + addr_checked["lost"],
                acknowledged=masters["acknowledged"] + addr["acknowledged"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--replicas", default="2,4")
    parser.add_argument("--variant", action="append", required=True, metavar="NAME=CHECKOUT")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    variants = [v.split("=", 1) for v in args.variant]
    rows = []
    for run in range(args.runs):
        for replicas in [int(n) for n in args.replicas.split(",")]:
            order = variants if run % 2 == 0 else list(reversed(variants))
            for name, checkout in order:
                with tempfile.TemporaryDirectory(prefix="ha-redis-gap-") as tmp:
                    row = dict(run=run, replicas=replicas, variant=name, **one(checkout, replicas, Path(tmp)))
                print(json.dumps(row), flush=True)
                rows.append(row)
    summary = {}
    for name, _checkout in variants:
        for replicas in sorted({r["replicas"] for r in rows}):
            mine = [r for r in rows if r["variant"] == name and r["replicas"] == replicas]
            summary["%s/%d" % (name, replicas)] = {
                key: statistics.median(r[key] for r in mine)
                for key in ("gap_masters_ms", "gap_addr_ms", "write_pause_ms", "module_elapsed_s")
            } | {"lost": sum(r["lost"] for r in mine), "runs": len(mine)}
    print(json.dumps(summary, indent=1))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(dict(rows=rows, medians=summary), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
