"""Benchmark a group's backup and restore against their floors, on loopback processes with a local restic repository.

Figures, each the median of ``--runs`` runs (with min and max), for a dataset of ``--mb`` MiB of random values
(incompressible: LZF and restic's chunking gain nothing) on a primary with one replica:

* backup: ``take_snapshot`` (ha.redis.redis_backup's code: the source chosen, BGSAVE on the replica, the RDB into
  ``restic backup --stdin``, into a fresh repository each run) vs the floor, BGSAVE on the replica plus a plain
  copy of the RDB file (``cp``); MiB/s of each.
* restore: ``restic dump`` of the snapshot into the data directory, then the node stopped, started on it and loaded
  (``loading:0``), vs the floor: the file copied, the node stopped, started and loaded.
* the primary's write latency (one ``SET`` at a time, p50/p99) during a backup vs during as long a window without
  one.

Run from the checkout: ``.venv/bin/python bench/backup.py [--runs 3] [--mb 1024]``. Results go to
bench/backup/results.json and bench/backup/results.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "functional"))
sys.path.insert(0, str(ROOT / ".collections"))

import redis  # noqa: E402
from ansible_collections.ha.redis.plugins.module_utils._backup import (  # noqa: E402
    dump_argv,
    find_snapshot,
    run_restic,
    take_snapshot,
)
from cluster import Cluster, wait_until  # noqa: E402

OUT = ROOT / "bench" / "backup"
RESTIC = shutil.which("restic") or "/usr/bin/restic"


def fill(client, mib):
    value_size, batch = 64 * 1024, 64
    count = mib * 1024 * 1024 // value_size
    for start in range(0, count, batch):
        pipe = client.pipeline(transaction=False)
        for i in range(start, min(count, start + batch)):
            pipe.set("bench:%d" % i, os.urandom(value_size))
        pipe.execute()


class Latency(threading.Thread):
    """SETs on the primary, one at a time, each timed, until stopped."""

    def __init__(self, node):
        super().__init__(daemon=True)
        self.client = redis.Redis(host=node.host, port=node.port, socket_timeout=10)
        self.samples, self.stop = [], threading.Event()

    def run(self):
        n = 0
        while not self.stop.is_set():
            started = time.perf_counter()
            self.client.set("lat:%d" % (n % 1000), "x" * 100)
            self.samples.append((time.perf_counter() - started) * 1000)
            n += 1
            time.sleep(0.002)


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else None


def restart_and_load(node):
    node.stop()
    node.start(wait=False)
    wait_until(lambda: int(node.client().info("persistence")["loading"]) == 0, timeout=600, what="the load")


def one_run(workdir, mib):
    cluster = Cluster(workdir / "cluster", replicas=1, sentinels=0).start()
    try:
        primary, replica = cluster.primary, cluster.replicas[0]
        fill(cluster.client(primary), mib)
        cluster.wait_replication(timeout=600)
        env = dict(os.environ, RESTIC_REPOSITORY=str(workdir / "repo"), RESTIC_PASSWORD="bench",
                   RESTIC_CACHE_DIR=str(workdir / "cache"))
        run_restic([RESTIC, "init"], env)

        def connect(host, port):
            return redis.Redis(host=host, port=port, decode_responses=True, socket_timeout=30)

        # The primary's latency without a backup (5 s), then during one.
        quiet = Latency(primary)
        quiet.start()
        time.sleep(5)
        quiet.stop.set()
        quiet.join()
        busy = Latency(primary)
        busy.start()
        started = time.monotonic()
        result = take_snapshot(connect(replica.host, replica.port), connect, "bench", replica.address, RESTIC, env,
                               timeout=3600)
        backup_s = time.monotonic() - started
        busy.stop.set()
        busy.join()
        assert result["is_source"], result
        size = result["snapshot"]["size_bytes"]

        # Floor: BGSAVE on the replica + cp.
        rdb = Path(replica.workdir) / "dump.rdb"
        started = time.monotonic()
        client = connect(replica.host, replica.port)
        before = client.lastsave()
        client.bgsave()
        wait_until(lambda: client.lastsave() != before
                   and not int(client.info("persistence")["rdb_bgsave_in_progress"]), timeout=600, what="BGSAVE")
        shutil.copyfile(rdb, workdir / "copy.rdb")
        floor_backup_s = time.monotonic() - started

        # Restore into the replica (the primary stopped, so that nothing syncs over the loaded data): restic dump
        # into the data directory, stop, move into place, start and load; floor: cp, stop, start, load.
        primary.stop()
        picked = find_snapshot(RESTIC, env, "bench", "latest")
        started = time.monotonic()
        with open(Path(replica.workdir) / ".restore.rdb", "wb") as out:
            run_restic(dump_argv(RESTIC, "bench", picked["id"]), env, stdout=out, timeout=3600)
        replica.stop()
        os.replace(Path(replica.workdir) / ".restore.rdb", rdb)
        restart_and_load(replica)
        restore_s = time.monotonic() - started
        keys_restored = replica.client().dbsize()

        started = time.monotonic()
        shutil.copyfile(workdir / "copy.rdb", rdb)
        replica.stop()
        restart_and_load(replica)
        floor_restore_s = time.monotonic() - started
        return dict(size_bytes=size, backup_s=backup_s, floor_backup_s=floor_backup_s, restore_s=restore_s,
                    floor_restore_s=floor_restore_s,
                    keys_restored=keys_restored,
                    p50_quiet_ms=percentile(quiet.samples, 0.5), p99_quiet_ms=percentile(quiet.samples, 0.99),
                    p50_backup_ms=percentile(busy.samples, 0.5), p99_backup_ms=percentile(busy.samples, 0.99),
                    samples_quiet=len(quiet.samples), samples_backup=len(busy.samples))
    finally:
        cluster.stop()


def summary(runs, key):
    values = [run[key] for run in runs]
    return dict(median=statistics.median(values), min=min(values), max=max(values))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--mb", type=int, default=1024)
    args = parser.parse_args()
    runs = []
    for _run in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="ha-redis-bench-backup-") as tmp:
            runs.append(one_run(Path(tmp), args.mb))
            print(json.dumps(runs[-1]), flush=True)
    keys = [k for k in runs[0] if k.endswith(("_s", "_ms"))]
    result = dict(date=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  machine="%s, %d CPUs, load %.1f" % (platform.node(), os.cpu_count(), os.getloadavg()[0]),
                  mib=args.mb, runs=runs, summary={k: summary(runs, k) for k in keys})
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    s = result["summary"]
    mib = runs[0]["size_bytes"] / 1048576
    lines = [
        "# Backup and restore (bench/backup.py)", "",
        "%s; %s; RDB %.0f MiB (%d MiB of random values), primary + 1 replica on loopback, local restic repository; "
        "medians of %d runs (min-max)." % (result["date"], result["machine"], mib, args.mb, args.runs), "",
        "| figure | ha.redis | floor | ratio |", "|---|---:|---:|---:|",
        "| backup (BGSAVE on the replica + restic backup / + cp) | %.1f s (%.1f-%.1f), %.0f MiB/s "
        "| %.1f s, %.0f MiB/s | %.2f |"
        % (s["backup_s"]["median"], s["backup_s"]["min"], s["backup_s"]["max"], mib / s["backup_s"]["median"],
           s["floor_backup_s"]["median"], mib / s["floor_backup_s"]["median"],
           s["backup_s"]["median"] / s["floor_backup_s"]["median"]),
        "| restore (restic dump + restart + load / cp + restart + load) | %.1f s (%.1f-%.1f) | %.1f s | %.2f |"
        % (s["restore_s"]["median"], s["restore_s"]["min"], s["restore_s"]["max"], s["floor_restore_s"]["median"],
           s["restore_s"]["median"] / s["floor_restore_s"]["median"]),
        "| primary SET latency p50 / p99 during a backup vs without | %.2f / %.2f ms | %.2f / %.2f ms | |"
        % (s["p50_backup_ms"]["median"], s["p99_backup_ms"]["median"], s["p50_quiet_ms"]["median"],
           s["p99_quiet_ms"]["median"]),
        "",
        "The restore row is the data path of `redis_restore`'s load (download, restart on the file, load); the",
        "playbook adds the Sentinel hold, the replicas' stop and full sync, and the gate.",
    ]
    (OUT / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
