"""A real Prometheus on the controller scraping the ha.redis exporters and evaluating the alert rules, for the
Molecule ``observability`` scenario (which asserts on the JSON each command prints).

    prom_alerts.py start --dir D --targets targets.json --rules rules.yml   # start, wait until every target is up
    prom_alerts.py watch --dir D --until-firing RedisFailover,RedisInstanceDown --timeout 60
    prom_alerts.py watch --dir D --until-none --timeout 90
    prom_alerts.py watch --dir D --quiet-for 20                             # nothing may fire for 20 s
    prom_alerts.py stop --dir D

``start`` runs Debian's ``prometheus`` binary in the background (1 s scrape and evaluation interval, a fresh store
in D, listening on a free loopback port) and records its PID in D/prometheus.pid; ``stop`` ends that PID only.
``watch`` polls /api/v1/alerts every 0.5 s and reports every alert seen firing (name, labels, summary, when).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

PROMETHEUS = "/usr/bin/prometheus"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def api(base, path):
    with urllib.request.urlopen(base + path, timeout=5) as answer:  # noqa: S310 - loopback Prometheus only
        return json.load(answer)["data"]


def base_url(folder):
    return "http://127.0.0.1:%s" % (folder / "prometheus.port").read_text().strip()


def start(args):
    folder = Path(args.dir)
    folder.mkdir(parents=True, exist_ok=True)
    # A fresh store: series left by an earlier run (a stopped Prometheus marks none stale) would count as
    # current for 5 minutes and show the previous deployment's primary beside this one's.
    shutil.rmtree(folder / "data", ignore_errors=True)
    port = free_port()
    config = folder / "prometheus.yml"
    config.write_text(json.dumps({
        "global": {"scrape_interval": "1s", "scrape_timeout": "900ms", "evaluation_interval": "1s"},
        "rule_files": [str(Path(args.rules).resolve())],
        "scrape_configs": [{"job_name": "ha-redis",
                            "file_sd_configs": [{"files": [str(Path(args.targets).resolve())]}]}],
    }))
    log = open(folder / "prometheus.log", "wb")  # noqa: SIM115 - handed to the child
    proc = subprocess.Popen([PROMETHEUS, "--config.file=%s" % config, "--storage.tsdb.path=%s" % (folder / "data"),
                             "--web.listen-address=127.0.0.1:%d" % port, "--log.level=warn"],
                            stdout=log, stderr=log, start_new_session=True)
    (folder / "prometheus.pid").write_text(str(proc.pid))
    (folder / "prometheus.port").write_text(str(port))
    wanted = sum(len(t["targets"]) for t in json.loads(Path(args.targets).read_text()))
    deadline = time.monotonic() + args.timeout
    targets = []
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            targets = api(base_url(folder), "/api/v1/targets")["activeTargets"]
            values = api(base_url(folder), "/api/v1/query?query=redis_up")["result"]
        except OSError:
            time.sleep(0.5)
            continue
        up = [t for t in targets if t["health"] == "up"]
        if len(up) == wanted and len(values) == wanted and all(v["value"][1] == "1" for v in values):
            durations = api(base_url(folder), "/api/v1/query?query=scrape_duration_seconds")["result"]
            return {"port": port, "pid": proc.pid, "targets": len(up),
                    "redis_up": {v["metric"]["instance"]: v["value"][1] for v in values},
                    "scrape_ms": {d["metric"]["instance"]: round(float(d["value"][1]) * 1000, 2) for d in durations}}
        time.sleep(0.5)
    return {"error": "not every exporter was scraped with redis_up 1 within %s s" % args.timeout, "targets":
            [(t["scrapeUrl"], t["health"], t.get("lastError")) for t in targets],
            "exited": proc.poll()}


def firing(base):
    return [a for a in api(base, "/api/v1/alerts")["alerts"] if a["state"] == "firing"]


def watch(args):
    folder = Path(args.dir)
    base = base_url(folder)
    wanted = set(filter(None, (args.until_firing or "").split(",")))
    seen = {}
    began = time.monotonic()
    now_names = set()
    while True:
        elapsed = round(time.monotonic() - began, 1)
        alerts = firing(base)
        now_names = {a["labels"]["alertname"] for a in alerts}
        for alert in alerts:
            key = json.dumps(alert["labels"], sort_keys=True)
            seen.setdefault(key, {"alert": alert["labels"]["alertname"], "labels": alert["labels"],
                                  "summary": alert["annotations"].get("summary"), "first_seen_s": elapsed})
        done = ((wanted and wanted <= now_names) or (args.until_none and not now_names)
                or (args.quiet_for and elapsed >= args.quiet_for))
        if done or elapsed >= args.timeout:
            return {"elapsed": elapsed, "reached": bool(done), "firing_now": sorted(now_names),
                    "fired": sorted({v["alert"] for v in seen.values()}), "alerts": list(seen.values())}
        time.sleep(0.5)


def stop(args):
    pid_file = Path(args.dir) / "prometheus.pid"
    if not pid_file.exists():
        return {"stopped": None}
    pid = int(pid_file.read_text())
    try:
        os.kill(pid, signal.SIGTERM)
        for _tick in range(50):
            os.kill(pid, 0)
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    pid_file.unlink()
    return {"stopped": pid}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    one = sub.add_parser("start")
    one.add_argument("--dir", required=True)
    one.add_argument("--targets", required=True)
    one.add_argument("--rules", required=True)
    one.add_argument("--timeout", type=float, default=60)
    two = sub.add_parser("watch")
    two.add_argument("--dir", required=True)
    two.add_argument("--until-firing", default="")
    two.add_argument("--until-none", action="store_true")
    two.add_argument("--quiet-for", type=float, default=0)
    two.add_argument("--timeout", type=float, default=60)
    three = sub.add_parser("stop")
    three.add_argument("--dir", required=True)
    args = parser.parse_args(argv)
    result = {"start": start, "watch": watch, "stop": stop}[args.command](args)
    print(json.dumps(result, indent=1))
    return 1 if "error" in result else 0


if __name__ == "__main__":
    sys.exit(main())
