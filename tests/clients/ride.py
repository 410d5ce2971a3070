# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ride the client matrix's Sentinel-aware writers through an event of a Molecule scenario (containers).

The loopback matrix (``events.py``) drives its own events; the events that only containers can make (a playbook
such as ``switchover.yml`` or ``rolling_upgrade.yml`` on real hosts, a host cut off the network) are driven by a
scenario instead. This command starts one writer per Sentinel-aware client of ``matrix.py``, each with its own key,
against the scenario's Sentinels, then writes ``READY`` to ``--ready-file`` once every writer has an acknowledged
write, and stops them when ``--stop-file`` appears. It then reads every key back from the primary the Sentinels
name and prints one JSON document: per client, the figures of ``matrix.figures`` (``longest_gap_ms``, ``failed``,
``lost``, ``resumed_ms``, ``errors``) with the event's times read from ``--event-file`` when the scenario wrote one
(``{"event_ms": ..., "done_ms": ..., "ref_ms": ...}``, ms since the epoch), else from the writers' own span.

    python tests/clients/ride.py --name main --sentinel 10.231.0.11:26379 ... --password-env P \\
        --sentinel-password-env SP --ready-file R --stop-file S --event-file E --out OUT [--clients a,b]

Passwords come from environment variables, never from the command line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import matrix  # noqa: E402
import redis  # noqa: E402


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--name", required=True, help="the group's name in Sentinel")
    parser.add_argument("--sentinel", action="append", required=True, help="HOST:PORT, repeated")
    parser.add_argument("--password-env", help="environment variable holding the data nodes' password")
    parser.add_argument("--sentinel-password-env", help="environment variable holding the Sentinels' password")
    parser.add_argument("--clients", help="comma-separated subset of the matrix's Sentinel clients")
    parser.add_argument("--tag", default="ride", help="keys are clients:TAG:CLIENT")
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--stop-file", required=True)
    parser.add_argument("--event-file", help="JSON with event_ms, done_ms and ref_ms (ms since the epoch)")
    parser.add_argument("--out", required=True, help="where to write the JSON result")
    parser.add_argument("--max-seconds", type=float, default=1800.0, help="stop by itself after this long")
    return parser.parse_args(argv)


def _endpoint(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def primary_client(sentinels, name, password, sentinel_password):
    """A client of the primary the first answering Sentinel names."""
    for host, port in sentinels:
        try:
            answer = redis.Redis(host=host, port=port, password=sentinel_password, socket_timeout=3,
                                 decode_responses=True).execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
        except redis.RedisError:
            continue
        if answer:
            return redis.Redis(host=answer[0], port=int(answer[1]), password=password, socket_timeout=5,
                               decode_responses=True)
    raise RuntimeError("no Sentinel named a primary for %s" % name)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    password = os.environ.get(args.password_env) if args.password_env else None
    sentinel_password = os.environ.get(args.sentinel_password_env) if args.sentinel_password_env else None
    sentinels = [_endpoint(s) for s in args.sentinel]
    names = args.clients.split(",") if args.clients else matrix.clients("sentinel")
    unknown = [n for n in names if n not in matrix.CLIENTS or matrix.CLIENTS[n][0] != "sentinel"]
    if unknown:
        raise SystemExit("not a Sentinel client of the matrix: %s (known: %s)"
                         % (", ".join(unknown), ", ".join(matrix.clients("sentinel"))))
    configs = {n: matrix.sentinel_config(n, args.name, sentinels, args.tag, password, sentinel_password)
               for n in names}
    writers = matrix.start_writers(names, configs.get, timeout=60.0)
    Path(args.ready_file).write_text("READY\n", encoding="utf-8")
    deadline = time.monotonic() + args.max_seconds
    while not os.path.exists(args.stop_file) and time.monotonic() < deadline:
        time.sleep(0.2)
    reports = matrix.stop_writers(writers)
    event = {}
    if args.event_file and os.path.exists(args.event_file):
        event = json.loads(Path(args.event_file).read_text(encoding="utf-8"))
    primary = primary_client(sentinels, args.name, password, sentinel_password)
    result = {}
    for name in names:
        report = reports[name]
        first = report["acked"][0][1] if report["acked"] else report["started_ms"]
        event_ms = int(event.get("event_ms", first))
        done_ms = int(event.get("done_ms", report["stopped_ms"]))
        lost = matrix.lost_sentinel(primary, report, configs[name]["key"])
        result[name] = dict(matrix.figures(report, lost, event_ms, done_ms, event.get("ref_ms")),
                            settings=matrix.CLIENTS[name][3])
    document = json.dumps(result, indent=1, sort_keys=True)
    Path(args.out).write_text(document + "\n", encoding="utf-8")
    print(document)
    return 0


if __name__ == "__main__":
    sys.exit(main())
