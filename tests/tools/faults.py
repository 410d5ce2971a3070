"""Unplanned failures on a deployment in docker containers, measured: a killed primary and a partitioned primary.

Used by the Molecule ``faults`` scenario (which asserts on the JSON it prints) and by ``make bench`` (which reports
the figures). It talks to the Sentinels and data nodes from the controller with redis-py, runs the writers of
``tests/tools/writer.py``, and acts on the containers with the docker CLI (only the containers named with
``--node``, only the network named with ``--network``).

    faults.py kill --sentinel 10.0.0.11:26379 ... --node 10.0.0.11=ct-1 ... --name main
    faults.py partition --sentinel ... --node ... --network NET --hold 30 [--unbounded]

Passwords come from the environment (HA_REDIS_PASSWORD, HA_REDIS_SENTINEL_PASSWORD), never from the command line.

``kill``: two Sentinel-aware writers on the controller (one plain, one with ``WAIT 1``), then ``kill -9`` of the
primary's redis-server. Reports the time until a majority of the Sentinels names another primary, each writer's
longest gap and acknowledged writes lost, and how long the old primary took to rejoin as a replica (systemd
restarts it; ha.redis delays that restart past the failover).

``partition``: a writer on the primary's own host (loopback, no Sentinel, every 50 ms) and a Sentinel-aware writer
with ``WAIT 1`` on the controller; the primary's container is disconnected from the network for ``--hold``
seconds, then reconnected with the same address. Reports the detection time, how long and how many writes the
isolated primary kept acknowledging after the cut, how many of those the deployment lost, and the controller
writer's figures. ``--unbounded`` sets ``min-replicas-to-write 0`` on every data node for the run (the behaviour
before ha.redis bounded it) and restores the values afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

# One attempt per query: redis-py's own retries would make a silent node cost seconds instead of 0.3 s, and the
# times measured here would be the polling's, not the deployment's.
NO_RETRY = Retry(NoBackoff(), 0)

HERE = pathlib.Path(__file__).resolve().parent
WRITER = HERE / "writer.py"


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fault", choices=["kill", "partition"])
    parser.add_argument("--sentinel", action="append", required=True, help="host:port; repeat for each Sentinel")
    parser.add_argument("--node", action="append", required=True, metavar="ADDRESS=CONTAINER",
                        help="a data node's announced address and its container; repeat for each host")
    parser.add_argument("--name", default="main", help="the group (Sentinel master name)")
    parser.add_argument("--port", type=int, default=6379, help="the group's port")
    parser.add_argument("--network", help="docker network the containers are on (partition)")
    parser.add_argument("--hold", type=float, default=30.0, help="seconds the partition lasts")
    parser.add_argument("--settle", type=float, default=3.0, help="seconds of writing before and after the fault")
    parser.add_argument("--timeout", type=float, default=60.0, help="longest wait for a failover or a rejoin")
    parser.add_argument("--unbounded", action="store_true", help="min-replicas-to-write 0 for this run")
    parser.add_argument("--writer-python", default="/usr/bin/python3", help="python3 with redis-py in the containers")
    return parser.parse_args(argv)


class Deployment:
    def __init__(self, args):
        self.args = args
        self.password = os.environ.get("HA_REDIS_PASSWORD") or None
        self.sentinel_password = os.environ.get("HA_REDIS_SENTINEL_PASSWORD") or None
        self.sentinels = [split(a) for a in args.sentinel]
        self.containers = dict(item.split("=", 1) for item in args.node)

    def sentinel_views(self):
        """Each Sentinel's answer to GET-MASTER-ADDR-BY-NAME ("host:port", or None when it does not answer), all
        asked at once."""
        def ask(endpoint):
            client = redis.Redis(host=endpoint[0], port=endpoint[1], password=self.sentinel_password,
                                 socket_timeout=0.3, socket_connect_timeout=0.3, decode_responses=True, retry=NO_RETRY)
            try:
                reply = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.args.name)
            except (redis.RedisError, OSError):
                return None
            finally:
                client.close()
            return "%s:%s" % (reply[0], reply[1]) if reply else None

        with ThreadPoolExecutor(len(self.sentinels)) as pool:
            return list(pool.map(ask, self.sentinels))

    def agreed_primary(self):
        """The primary a majority of the Sentinels names, or None."""
        views = [v for v in self.sentinel_views() if v]
        for view in set(views):
            if views.count(view) > len(self.sentinels) // 2:
                return view
        return None

    def node(self, address, timeout=0.5):
        host, port = split(address)
        return redis.Redis(host=host, port=port, password=self.password, socket_timeout=timeout,
                           socket_connect_timeout=timeout, decode_responses=True, retry=NO_RETRY)

    def role_of(self, address):
        try:
            info = self.node(address).info("replication")
        except (redis.RedisError, OSError):
            return None, None
        if info.get("role") == "slave":
            return "replica", "%s:%s" % (info.get("master_host"), info.get("master_port"))
        return info.get("role"), None

    def container_of(self, address):
        return self.containers[address.rpartition(":")[0]]

    def data_nodes(self):
        return ["%s:%d" % (addr, self.args.port) for addr in self.containers]


def split(address):
    host, _sep, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def wait_for(predicate, timeout, interval=0.1):
    """Poll until ``predicate()`` is truthy; return (value, seconds waited) or (None, timeout)."""
    started = time.monotonic()
    while True:
        value = predicate()
        if value:
            return value, round(time.monotonic() - started, 2)
        if time.monotonic() - started > timeout:
            return None, round(time.monotonic() - started, 2)
        time.sleep(interval)


def docker(*argv, check=True):
    return subprocess.run(["docker", *argv], check=check, capture_output=True, text=True, timeout=60)


class Writer:
    """One writer.py process on the controller (``container`` None) or inside a container."""

    def __init__(self, deployment, label, extra, container=None, interval=0.01):
        self.d, self.label, self.container = deployment, label, container
        self.key = "ha-redis:faults:%s:%d" % (label, time.time() * 1000)
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="ha-redis-faults-"))
        remote = "/tmp/ha-redis-faults-%s" % label
        self.paths = dict(stop=remote + ".stop", ready=remote + ".ready", out=remote + ".json") if container else \
            dict(stop=str(self.dir / "stop"), ready=str(self.dir / "ready"), out=str(self.dir / "out.json"))
        sentinels = sum((["--sentinel", "%s:%d" % s] for s in deployment.sentinels), [])
        argv = ["--name", deployment.args.name, "--key", self.key, "--interval", str(interval), "--timeout", "0.5",
                "--stop-file", self.paths["stop"], "--ready-file", self.paths["ready"], "--out", self.paths["out"],
                *sentinels, *extra]
        if container:
            docker("cp", str(WRITER), "%s:/tmp/ha-redis-writer.py" % container)
            docker("exec", container, "rm", "-f", *self.paths.values())
            self.proc = subprocess.Popen(
                ["docker", "exec", "-e", "HA_REDIS_PASSWORD", "-e", "HA_REDIS_SENTINEL_PASSWORD", container,
                 deployment.args.writer_python, "/tmp/ha-redis-writer.py", *argv],
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        else:
            self.proc = subprocess.Popen([sys.executable, str(WRITER), *argv], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE, text=True)

    def exists(self, path):
        if self.container:
            return docker("exec", self.container, "test", "-e", path, check=False).returncode == 0
        return os.path.exists(path)

    def wait_ready(self, timeout=20):
        ready = wait_for(lambda: self.exists(self.paths["ready"]) or self.proc.poll() is not None, timeout)[0]
        if not ready or self.proc.poll() is not None:
            raise SystemExit("writer %s did not start: %s" % (self.label, self.proc.stderr.read()[-2000:]))

    def stop(self):
        if self.container:
            docker("exec", self.container, "touch", self.paths["stop"])
        else:
            pathlib.Path(self.paths["stop"]).touch()
        self.proc.wait(timeout=30)
        if self.container:
            text = docker("exec", self.container, "cat", self.paths["out"]).stdout
        else:
            text = pathlib.Path(self.paths["out"]).read_text(encoding="utf-8")
        self.summary = json.loads(text)
        return self.summary

    def lost(self, primary):
        """Acknowledged writes that ``primary`` (host:port) does not hold."""
        present = {int(v) for v in self.d.node(primary, timeout=5).lrange(self.key, 0, -1)}
        return [seq for seq in self.summary["acked"] if seq not in present]

    def figures(self, primary):
        lost = self.lost(primary)
        return dict(acknowledged=self.summary["acknowledged"], lost=len(lost), lost_samples=lost[:10],
                    errors=self.summary["errors"], longest_write_gap_ms=self.summary["longest_write_gap_ms"],
                    wait=self.summary["wait"])


def wait_rejoined(d, old, new, timeout):
    """Until the old primary replicates from the new one with its link up, and the Sentinels agree on the new."""
    def rejoined():
        role, source = d.role_of(old)
        if role != "replica" or source != new:
            return False
        info = d.node(old).info("replication")
        return info.get("master_link_status") == "up" and d.agreed_primary() == new
    return wait_for(rejoined, timeout, interval=0.2)[1]


def run_kill(d):
    args = d.args
    old = d.agreed_primary()
    if not old:
        raise SystemExit("no primary agreed by a majority of the Sentinels before the fault")
    plain = Writer(d, "kill-plain", ["--discovery", "addr"])
    waited = Writer(d, "kill-wait", ["--discovery", "addr", "--wait", "1"])
    for w in (plain, waited):
        w.wait_ready()
    time.sleep(args.settle)
    killed_at = time.monotonic()
    docker("exec", d.container_of(old), "systemctl", "kill", "--signal=KILL",
           "redis-server@%s.service" % args.name)
    new, detection = wait_for(lambda: (p := d.agreed_primary()) and p != old and p, args.timeout)
    time.sleep(args.settle)
    for w in (plain, waited):
        w.stop()
    if not new:
        return dict(fault="kill", old_primary=old, new_primary=None, error="no failover within %s s" % args.timeout)
    rejoin = wait_rejoined(d, old, new, args.timeout)
    return dict(fault="kill", old_primary=old, new_primary=new, detection_s=detection,
                rejoined_as_replica_s=round(time.monotonic() - killed_at, 2) if rejoin < args.timeout else None,
                writer=plain.figures(new), writer_wait1=waited.figures(new))


def set_min_replicas(d, value):
    """CONFIG SET min-replicas-to-write on every data node; returns the old values."""
    old = {}
    for addr in d.data_nodes():
        client = d.node(addr, timeout=2)
        old[addr] = client.config_get("min-replicas-to-write")["min-replicas-to-write"]
        client.config_set("min-replicas-to-write", value if value is not None else old[addr])
    return old


def run_partition(d):
    args = d.args
    old = d.agreed_primary()
    if not old:
        raise SystemExit("no primary agreed by a majority of the Sentinels before the fault")
    container = d.container_of(old)
    host = old.rpartition(":")[0]
    saved = set_min_replicas(d, 0) if args.unbounded else None
    local = Writer(d, "partition-local", ["--direct", "127.0.0.1:%d" % args.port], container=container,
                   interval=0.05)
    remote = Writer(d, "partition-wait", ["--discovery", "addr", "--wait", "1"])
    for w in (local, remote):
        w.wait_ready()
    time.sleep(args.settle)
    cut = time.time()
    docker("network", "disconnect", args.network, container)
    try:
        new, detection = wait_for(lambda: (p := d.agreed_primary()) and p != old and p, args.timeout)
        time.sleep(max(0.0, cut + args.hold - time.time()))
    finally:
        docker("network", "connect", "--ip", host, args.network, container)
    healed = time.time()
    rejoin = wait_rejoined(d, old, new, args.timeout) if new else args.timeout
    time.sleep(args.settle)
    for w in (local, remote):
        w.stop()
    if saved is not None:
        for addr, value in saved.items():
            d.node(addr, timeout=2).config_set("min-replicas-to-write", value)
    if not new:
        return dict(fault="partition", old_primary=old, new_primary=None,
                    error="no failover within %s s" % args.timeout)
    after_cut = [t for t in local.summary["acked_at"] if t >= cut]
    isolated = local.figures(new)
    isolated.update(acknowledged_after_cut=len(after_cut),
                    acknowledged_for_s_after_cut=round(max(after_cut) - cut, 2) if after_cut else 0.0)
    return dict(fault="partition", old_primary=old, new_primary=new, unbounded=args.unbounded, hold_s=args.hold,
                detection_s=detection, healed_after_s=round(healed - cut, 2),
                rejoined_as_replica_s=round(time.time() - cut, 2) if rejoin < args.timeout else None,
                isolated_writer=isolated, writer_wait1=remote.figures(new))


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    d = Deployment(args)
    if args.fault == "partition" and not args.network:
        raise SystemExit("partition needs --network")
    result = run_kill(d) if args.fault == "kill" else run_partition(d)
    print(json.dumps(result, indent=1))
    return 0 if result.get("new_primary") else 1


if __name__ == "__main__":
    sys.exit(main())
