"""What a plain client (not Sentinel-aware) sees through the proxy (ha.redis.proxy) during a switchover, a killed
primary and a partitioned primary, measured.

Used by the Molecule ``proxy`` scenario (which asserts on the JSON it prints) and by ``make bench``. The client is
tests/tools/writer.py in ``--direct`` mode pointed at a proxy's listener: it never asks a Sentinel, it reconnects
to the same address after an error. It runs on the controller through a proxy that is not on the primary's host
(the one clients on the healthy side use); for a partition, a second one runs inside the primary's container
through that host's own proxy when it has one (a client on the cut-off side: the two-primaries hazard).

    proxy_events.py switchover --proxy 10.0.0.12:8379=ct-2 ... --sentinel ... --node ... -- ansible-playbook ...
    proxy_events.py kill ...
    proxy_events.py partition --network NET --hold 15 ...

Figures per writer: acknowledged and failed writes, the longest gap between two acknowledged writes, the
acknowledged writes the primary does not hold at the end (lost), ``recovered_s``: from the event to the first
acknowledged write after the last failed one, and ``outage_s``: from the first failed write to that one (for a
switchover, whose playbook first checks the inventory for several seconds, the client's own outage).

With ``--sentinel-clients``, every Sentinel-aware client of the client matrix (tests/clients/ride.py: redis-py,
ioredis with its defaults and with the recommended settings, node-redis, coredis) writes through the same event
from the controller, and its figures (matrix.figures: ``resumed_ms`` from the moment the event was over) are
reported under ``sentinel_clients``.

Passwords come from the environment (HA_REDIS_PASSWORD, HA_REDIS_SENTINEL_PASSWORD). Only the containers named
with ``--node``/``--proxy`` and the network named with ``--network`` are touched.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from faults import Deployment, Writer, docker, wait_for, wait_rejoined

RIDE = Path(__file__).resolve().parents[1] / "clients" / "ride.py"


def parse_args(argv):
    argv = list(argv)
    command = []
    if "--" in argv:
        command = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("event", choices=["switchover", "kill", "partition"])
    parser.add_argument("--proxy", action="append", required=True, metavar="ADDRESS:PORT=CONTAINER",
                        help="a proxy's listener of the group and its container; repeat for each proxy")
    parser.add_argument("--sentinel", action="append", required=True)
    parser.add_argument("--node", action="append", required=True, metavar="ADDRESS=CONTAINER")
    parser.add_argument("--name", default="main")
    parser.add_argument("--port", type=int, default=6379)
    parser.add_argument("--network")
    parser.add_argument("--hold", type=float, default=15.0)
    parser.add_argument("--cut", choices=["route", "network"], default="route",
                        help="how the partition is made (see cut())")
    parser.add_argument("--settle", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--interval", type=float, default=0.02, help="seconds between two writes of a client")
    parser.add_argument("--writer-python", default="/usr/bin/python3")
    parser.add_argument("--unbounded", action="store_true")  # faults.Deployment reads it
    parser.add_argument("--sentinel-clients", action="store_true",
                        help="also ride every Sentinel-aware client of the client matrix (tests/clients/ride.py) "
                             "through the event, on the controller; their figures go under sentinel_clients")
    args = parser.parse_args(argv)
    args.command = command
    if args.event == "switchover" and not command:
        parser.error("switchover needs the command that does it after --")
    if args.event == "partition" and not args.network:
        parser.error("partition needs --network")
    return args


def cut(args, container, address):
    """Cut ``container`` off the others; return the function that heals it.

    ``route`` (default): inside the container, the route to the scenario's subnet becomes a blackhole; the host keeps
    its address, so what runs on it (its own proxy, a local client) still reaches its own data node, as in a real
    partition. Needs NET_ADMIN in the container. ``network``: ``docker network disconnect``, which also removes the
    address (a proxy on the host then loses its own data node too)."""
    if args.cut == "network":
        docker("network", "disconnect", args.network, container)
        return lambda: docker("network", "connect", "--ip", address, args.network, container)
    route = docker("exec", container, "ip", "-4", "-o", "route", "show", "proto", "kernel").stdout.strip()
    route = route.splitlines()[0].split()
    docker("exec", container, "ip", "route", "replace", "blackhole", route[0])
    return lambda: docker("exec", container, "ip", "route", "replace", *route)


class Riders:
    """The client matrix's Sentinel-aware writers (tests/clients/ride.py) around one event: started before it,
    stopped after it; their figures take the event's start and the moment it was over (for a switchover, when the
    playbook returned: every Sentinel names the new primary by then) as ``event_ms`` and ``ref_ms``."""

    def __init__(self, args):
        self.dir = tempfile.mkdtemp(prefix="ha-redis-riders-")
        self.files = {k: os.path.join(self.dir, k) for k in ("ready", "stop", "event", "out")}
        argv = [sys.executable, str(RIDE), "--name", args.name, "--tag", args.event,
                "--password-env", "HA_REDIS_PASSWORD", "--sentinel-password-env", "HA_REDIS_SENTINEL_PASSWORD",
                "--ready-file", self.files["ready"], "--stop-file", self.files["stop"],
                "--event-file", self.files["event"], "--out", self.files["out"]]
        argv += ["--sentinel=%s" % s for s in args.sentinel]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)

    def wait_ready(self, timeout=90.0):
        deadline = time.monotonic() + timeout
        while not os.path.exists(self.files["ready"]):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.proc.kill()
                raise SystemExit("the Sentinel-aware clients never wrote: %s" % self.proc.stderr.read()[-2000:])
            time.sleep(0.1)

    def finish(self, event_at, done_at):
        with open(self.files["event"], "w", encoding="utf-8") as handle:
            json.dump({"event_ms": int(event_at * 1000), "done_ms": int(done_at * 1000),
                       "ref_ms": int(done_at * 1000)}, handle)
        open(self.files["stop"], "w", encoding="utf-8").close()
        try:
            self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        if self.proc.returncode != 0 or not os.path.exists(self.files["out"]):
            return {"error": "ride.py rc=%s: %s" % (self.proc.returncode, self.proc.stderr.read()[-1000:])}
        with open(self.files["out"], encoding="utf-8") as handle:
            figures_by_client = json.load(handle)
        shutil.rmtree(self.dir, ignore_errors=True)
        keep = ("longest_gap_ms", "failed", "lost", "resumed_ms", "errors", "pending")
        return {name: {k: f.get(k) for k in keep} for name, f in figures_by_client.items()}


def figures(writer, primary, event_at):
    result = writer.figures(primary)
    summary = writer.summary
    last_error = summary.get("last_error_at")
    after = [t for t in summary["acked_at"] if last_error is not None and t > last_error]
    first_error = summary.get("first_error_at")
    result.update(recovered_s=round(after[0] - event_at, 2) if after else (0.0 if last_error is None else None),
                  outage_s=round(after[0] - first_error, 2) if after else (0.0 if last_error is None else None),
                  acknowledged_after_event=len([t for t in summary["acked_at"] if t >= event_at]))
    return result


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    d = Deployment(args)
    proxies = dict(item.split("=", 1) for item in args.proxy)  # listener -> container
    old = d.agreed_primary()
    if not old:
        raise SystemExit("no primary agreed by a majority of the Sentinels before the event")
    old_container = d.container_of(old)
    # The client on the healthy side: a proxy on another host than the primary.
    listener = next(a for a, c in proxies.items() if c != old_container)
    client = Writer(d, "proxy-%s" % args.event, ["--direct", listener], interval=args.interval)
    local = None
    if args.event == "partition" and old_container in proxies.values():
        port = next(a for a, c in proxies.items() if c == old_container).rpartition(":")[2]
        local = Writer(d, "proxy-local", ["--direct", "127.0.0.1:%s" % port], container=old_container,
                       interval=0.05)
    riders = Riders(args) if args.sentinel_clients else None
    for w in filter(None, (client, local, riders)):
        w.wait_ready()
    time.sleep(args.settle)
    event_at = time.time()
    result = dict(event=args.event, old_primary=old, proxy=listener)
    if args.event == "switchover":
        run = subprocess.run(args.command, capture_output=True, text=True, check=False, timeout=300)
        result.update(command_rc=run.returncode, command_tail=run.stdout.splitlines()[-5:] if run.returncode else [])
        new = d.agreed_primary()
    elif args.event == "kill":
        docker("exec", old_container, "systemctl", "kill", "--signal=KILL", "redis-server@%s.service" % args.name)
        new, result["detection_s"] = wait_for(lambda: (p := d.agreed_primary()) and p != old and p, args.timeout)
    else:
        heal = cut(args, old_container, old.rpartition(":")[0])
        try:
            new, result["detection_s"] = wait_for(lambda: (p := d.agreed_primary()) and p != old and p, args.timeout)
            time.sleep(max(0.0, event_at + args.hold - time.time()))
        finally:
            heal()
        result.update(cut=args.cut, healed_after_s=round(time.time() - event_at, 2))
    result["new_primary"] = new
    done_at = time.time()
    if new and new != old and args.event != "switchover":
        waited = wait_rejoined(d, old, new, args.timeout)
        result["rejoined_as_replica_s"] = round(time.time() - event_at, 2) if waited < args.timeout else None
    time.sleep(args.settle)
    for w in filter(None, (client, local)):
        w.stop()
    if riders is not None:
        result["sentinel_clients"] = riders.finish(event_at, done_at)
    if not new:
        result["error"] = "no primary agreed after the event"
        print(json.dumps(result, indent=1))
        return 1
    result["client"] = figures(client, new, event_at)
    if local is not None:
        healed_at = event_at + result["healed_after_s"]
        during = [t for t in local.summary["acked_at"] if event_at <= t < healed_at]
        result["cut_off_client"] = dict(local.figures(new), acknowledged_during_cut=len(during),
                                        acknowledged_for_s_after_cut=round(max(during) - event_at, 2)
                                        if during else 0.0)
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
