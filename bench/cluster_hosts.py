"""The Redis Cluster part of bench/bench.py (``--only cluster``): 3 fresh containers, 2 cluster nodes each.

Per run:

* ``cluster_deploy_3x2``: site.yml deploys the cluster ``shop`` (3 primaries, 3 replicas, no Sentinel group) on
  fresh containers, gate included; ``cluster_rerun_3x2``: the no-change re-run (``cluster_rerun_changed`` must
  be 0).
* ``cluster_create_module`` / ``cluster_create_redis_cli``: the same six nodes, emptied and reset
  (``FLUSHALL``, ``CLUSTER RESET HARD``) before each, joined into a cluster by ``ha.redis.redis_cluster`` (run as
  Ansible runs it: one Python process on the controller) and by ``redis-cli --cluster create --cluster-replicas
  1``, alternately (``--cluster-pairs`` pairs, the tool that starts alternates by run); wall time until every node
  says ``cluster_state:ok`` with the same slot map and 6 known nodes.

The controller reaches the containers' nodes directly, as both tools would from an operator's machine.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "functional"))

from cluster import run_module_direct  # noqa: E402

PORTS = (7000, 7001)
CLUSTER_VARS = {
    "redis_primary_groups": [],
    "redis_clusters": [{"name": "shop", "port": PORTS[0], "instances": len(PORTS), "replicas": 1}],
    "redis_cluster_node_timeout_ms": 2000,
}
REDIS_CLI = shutil.which("redis-cli") or "/usr/bin/redis-cli"


def nodes_of(lab):
    return [dict(host=address, port=port, inventory_host=host)
            for host, (_name, address) in lab.hosts.items() for port in PORTS]


def client(node, password):
    return redis.Redis(host=node["host"], port=node["port"], password=password, socket_timeout=5,
                       socket_connect_timeout=2, decode_responses=True)


def reset(nodes, password, timeout=60):
    """Every node empty and alone again: FLUSHALL where writable, then CLUSTER RESET HARD."""
    for node in nodes:
        with client(node, password) as conn:
            try:
                conn.flushall()
            except redis.ResponseError:
                pass  # a replica is read-only; the reset empties it
    for node in nodes:
        with client(node, password) as conn:
            conn.execute_command("CLUSTER", "RESET", "HARD")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alone = True
        for node in nodes:
            with client(node, password) as conn:
                info = conn.execute_command("CLUSTER", "INFO")
                text = info if isinstance(info, str) else info.decode()
                alone = alone and "cluster_known_nodes:1\r" in text and "cluster_slots_assigned:0\r" in text
        if alone:
            return
        time.sleep(0.1)
    raise RuntimeError("the nodes did not all forget each other within %d s" % timeout)


def agreed(nodes, password):
    """True when every node says cluster_state:ok, knows 6 nodes and shares one slot map and role list."""
    seen = set()
    for node in nodes:
        with client(node, password) as conn:
            info = conn.execute_command("CLUSTER", "INFO")
            info = info if isinstance(info, str) else info.decode()
            if "cluster_state:ok" not in info or "cluster_known_nodes:%d\r" % len(nodes) not in info:
                return False
            lines = conn.execute_command("CLUSTER", "NODES")
            lines = lines if isinstance(lines, str) else lines.decode()
            view = []
            for line in lines.splitlines():
                parts = line.split()
                flags = parts[2].replace("myself,", "")
                view.append((parts[0], "master" in flags, parts[3], tuple(parts[8:])))
            seen.add(tuple(sorted(view)))
    return len(seen) == 1


def create_once(tool, nodes, password, workdir, timeout=120):
    start = time.monotonic()
    if tool == "module":
        result = run_module_direct("redis_cluster", dict(nodes=nodes, replicas=1, login_password=password), workdir)
        if not result.get("created"):
            raise RuntimeError("redis_cluster did not create the cluster: %s" % result.get("msg", result))
    else:
        subprocess.run([REDIS_CLI, "--cluster", "create"] + ["%s:%d" % (n["host"], n["port"]) for n in nodes]
                       + ["--cluster-replicas", "1", "--cluster-yes"], check=True, capture_output=True,
                       timeout=timeout, env=dict(os.environ, REDISCLI_AUTH=password))
    while not agreed(nodes, password):
        if time.monotonic() - start > timeout:
            raise RuntimeError("%s: the cluster did not settle within %d s" % (tool, timeout))
        time.sleep(0.05)
    return time.monotonic() - start


def cluster_run(bench, run, res, args, pairs=None):
    """One lab: deploy and re-run with site.yml, then ``pairs`` interleaved creates by each tool."""
    pairs = pairs or getattr(args, "cluster_pairs", 3)
    lab = bench.Lab(3, "cluster-%d" % run, group_vars=CLUSTER_VARS)
    try:
        lab.up()
        deploy = lab.playbook(bench.ROOT / "playbooks" / "site.yml", "cluster-deploy-%d" % run, args.timeout)
        res.add("cluster_deploy_3x2", deploy.seconds, run=run, cpu_s=lab.last_cpu_seconds)
        rerun = lab.playbook(bench.ROOT / "playbooks" / "site.yml", "cluster-rerun-%d" % run, args.timeout)
        res.add("cluster_rerun_3x2", rerun.seconds, run=run, cpu_s=lab.last_cpu_seconds)
        res.add("cluster_rerun_changed", sum(h["changed"] for h in rerun.recap.values()), run=run)
        nodes = nodes_of(lab)
        order = ("module", "redis_cli") if run % 2 else ("redis_cli", "module")
        times = {"module": [], "redis_cli": []}
        for _pair in range(pairs):
            for tool in order:
                reset(nodes, bench.DATA_PASSWORD)
                times[tool].append(create_once(tool, nodes, bench.DATA_PASSWORD, lab.dir))
        for tool, values in times.items():
            res.add("cluster_create_%s" % tool, statistics.median(values), run=run, samples=values)
    except (bench.BenchError, RuntimeError, redis.RedisError, subprocess.SubprocessError) as exc:
        res.error("cluster run %d" % run, exc)
    finally:
        lab.down()
