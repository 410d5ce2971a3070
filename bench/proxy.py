"""The stable endpoint's figure: what a plain client (not Sentinel-aware) sees through the proxy (ha.redis.proxy)
in a switchover, a killed primary and a partitioned primary.

Runs the Molecule ``proxy`` scenario (its own containers and subnet), which writes the figures of
tests/tools/proxy_events.py as JSON, and writes them as a table to bench/proxy/results.md (and .json).

    python bench/proxy.py            # run the scenario, then write the results
    python bench/proxy.py --from F   # only write the results from a figures file of an earlier run
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "proxy"


def run_scenario(figures):
    env = dict(os.environ, HA_REDIS_PROXY_FIGURES=str(figures),
               PATH="%s:%s" % (pathlib.Path(sys.executable).parent, os.environ.get("PATH", "")))
    subprocess.run([str(pathlib.Path(sys.executable).parent / "molecule"), "test", "-s", "proxy"], cwd=ROOT,
                   env=env, check=True)


def table(events):
    lines = ["| event | old -> new primary | writes acknowledged | failed | longest gap | lost | outage | "
             "writes again after the event |",
             "|---|---|---|---|---|---|---|---|"]
    for e in events:
        c = e["client"]
        lines.append("| %s | %s -> %s | %d | %d | %.0f ms | %d | %s | %s |" % (
            e["event"], e["old_primary"], e["new_primary"], c["acknowledged"], c["errors"], c["longest_write_gap_ms"],
            c["lost"], "%.2f s" % c["outage_s"] if c.get("outage_s") is not None else "never",
            "%.2f s" % c["recovered_s"] if c["recovered_s"] is not None else "never"))
    cut = [e["cut_off_client"] for e in events if "cut_off_client" in e]
    if cut:
        first = cut[0]
        part = next(e for e in events if "cut_off_client" in e)
        lines += ["", "Partition (%s cut, healed after %.1f s): a client on the cut-off host, writing every 50 ms "
                  "through that host's own proxy, had %d writes acknowledged by the cut-off primary, the last %.2f s "
                  "after the cut; %d acknowledged writes were lost. The client through the proxy of the healthy side "
                  "lost %d." % (part.get("cut", "network"), part.get("healed_after_s", 0),
                                first["acknowledged_during_cut"], first["acknowledged_for_s_after_cut"], first["lost"],
                                part["client"]["lost"])]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="source", help="a figures file of an earlier run")
    args = parser.parse_args(argv)
    OUT.mkdir(parents=True, exist_ok=True)
    figures = pathlib.Path(args.source) if args.source else OUT / "results.json"
    if not args.source:
        run_scenario(figures)
    events = json.loads(figures.read_text())
    if figures != OUT / "results.json":
        (OUT / "results.json").write_text(json.dumps(events, indent=1) + "\n")
    text = ("# Stable endpoint: a plain client through the proxy\n\n"
            "Molecule `proxy` (3 Debian 12 hosts, HAProxy on two, role defaults: checks every 500 ms, fall 2, rise 2; "
            "Sentinel down-after 2 s, failover-timeout 10 s; min-replicas-max-lag 10 s),"
            " written by `bench/proxy.py` on %s. The client (tests/tools/writer.py --direct) writes every 20 ms "
            "through a proxy on another host than the primary, reconnecting to the same address after an error; "
            "\"outage\" runs from the client's first failed write to its first acknowledged write after the last "
            "failed one; \"writes again after the event\" counts from the kill or the cut (for a switchover, from the "
            "start of switchover.yml, which first checks the inventory and the Sentinels).\n\n%s\n"
            % (datetime.date.today().isoformat(), table(events)))
    (OUT / "results.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
