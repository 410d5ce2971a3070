"""A Redis Cluster writer that records every acknowledged write, for zero-loss tests and benchmarks.

It writes distinct keys ``PREFIX:<n>`` (value ``n``) through redis-py's cluster client (``RedisCluster``), which
follows ``MOVED``/``ASK`` redirections and reloads the slot map itself; the keys' hash slots are spread over the
whole slot range, so every primary takes writes. It stops after ``--duration`` seconds or when ``--stop-file``
appears, then writes a JSON summary: how many writes were acknowledged, how many attempts failed, and the longest
time between two acknowledged writes (the write unavailability a client saw).

Counting: a write is acknowledged when ``SET`` returned OK. redis-py retries some errors inside one call (it
follows redirections and reconnects); a call that still raises counts as one error and is never acknowledged. The
writer then builds a new client from ``--node`` and tries the same key again with the same value, so a failed
attempt that the server did apply cannot be counted twice, and ``n`` moves on only after an acknowledgement.

``--check SUMMARY`` reads every acknowledged key back through the cluster and reports how many are missing
(``lost``) or hold another value (``changed``). It exits 1 if any is, or if nothing was acknowledged.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from redis.cluster import ClusterNode, RedisCluster
from redis.crc import key_slot
from redis.exceptions import RedisClusterException, RedisError

# redis-py's cluster client raises RedisClusterException (not a RedisError) when no startup node gives a slot map.
FAILURES = (RedisError, RedisClusterException, OSError)

CHECK_BATCH = 500


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--node", action="append", default=[],
                        help="host:port of a cluster node; repeat (with --check: default the summary's)")
    parser.add_argument("--prefix", default="ha-redis:cw", help="the keys written are PREFIX:<n>")
    parser.add_argument("--user", help="ACL user name (default: the default user)")
    parser.add_argument("--password-env", default="HA_REDIS_PASSWORD", help="env var holding the data password")
    parser.add_argument("--interval", type=float, default=0.01, help="seconds between writes")
    parser.add_argument("--timeout", type=float, default=0.5, help="socket timeout of one write")
    parser.add_argument("--duration", type=float, default=600.0, help="stop after this many seconds")
    parser.add_argument("--stop-file", help="stop as soon as this file exists")
    parser.add_argument("--ready-file", help="create this file once the first write is acknowledged")
    parser.add_argument("--out", help="write the JSON summary here (default: stdout)")
    parser.add_argument("--check", metavar="SUMMARY", help="read back every acknowledged write of a summary")
    args = parser.parse_args(argv)
    if not args.check and not args.node:
        parser.error("--node is required to write")
    return args


def startup_nodes(addresses):
    nodes = []
    for item in addresses:
        host, _sep, port = item.rpartition(":")
        nodes.append(ClusterNode(host.strip("[]"), int(port)))
    return nodes


def cluster_client(args, addresses=None):
    return RedisCluster(startup_nodes=startup_nodes(addresses or args.node), decode_responses=True,
                        username=args.user or None, password=os.environ.get(args.password_env) or None,
                        socket_timeout=args.timeout, socket_connect_timeout=args.timeout)


def longest_gap(times):
    """(longest gap in seconds, index of the acknowledgement that ended it)."""
    gaps = [(b - a, i + 1) for i, (a, b) in enumerate(zip(times, times[1:]))]
    return max(gaps) if gaps else (0.0, 0)


def write(args):
    started = time.time()
    deadline = time.monotonic() + args.duration
    acked, ack_times, errors = [], [], []
    attempts, n, client, slots = 0, 1, None, set()
    while time.monotonic() < deadline:
        if args.stop_file and os.path.exists(args.stop_file):
            break
        attempts += 1
        key = "%s:%d" % (args.prefix, n)
        try:
            if client is None:
                client = cluster_client(args)
            if client.set(key, str(n)) is not True:
                raise RedisError("SET %s was not answered OK" % key)
        except FAILURES as exc:
            errors.append({"n": n, "at": round(time.time() - started, 3),
                           "error": ("%s: %s" % (type(exc).__name__, exc))[:200]})
            if client is not None:
                try:
                    client.close()
                except FAILURES:
                    pass
            client = None
        else:
            acked.append(n)
            ack_times.append(time.monotonic())
            slots.add(key_slot(key.encode()))
            if args.ready_file and len(acked) == 1:
                with open(args.ready_file, "w", encoding="utf-8") as handle:
                    handle.write("ready\n")
            n += 1
        time.sleep(args.interval)
    if client is not None:
        client.close()
    gap, ended = longest_gap(ack_times)
    return {
        "prefix": args.prefix,
        "nodes": list(args.node),
        "attempted": attempts,
        "acknowledged": len(acked),
        "acked": acked,
        "slots_written": len(slots),
        "errors": len(errors),
        "error_samples": errors[:20],
        "started_at": round(started, 3),
        "duration_s": round(time.time() - started, 3),
        "longest_write_gap_ms": round(gap * 1000, 1),
        "longest_write_gap_ended_at_s": round(ack_times[ended] - ack_times[0], 3) if ack_times else None,
    }


def check(args):
    with open(args.check, encoding="utf-8") as handle:
        summary = json.load(handle)
    client = cluster_client(args, args.node or summary["nodes"])
    lost, changed = [], []
    try:
        acked = summary["acked"]
        for start in range(0, len(acked), CHECK_BATCH):
            batch = acked[start:start + CHECK_BATCH]
            values = client.mget_nonatomic(["%s:%d" % (summary["prefix"], n) for n in batch])
            for n, value in zip(batch, values):
                if value is None:
                    lost.append(n)
                elif value != str(n):
                    changed.append(n)
    finally:
        client.close()
    result = {
        "acknowledged": summary["acknowledged"],
        "present": summary["acknowledged"] - len(lost),
        "lost": len(lost),
        "lost_samples": lost[:20],
        "changed": len(changed),
        "changed_samples": changed[:20],
        "errors": summary["errors"],
        "longest_write_gap_ms": summary["longest_write_gap_ms"],
    }
    return result, (1 if lost or changed or not summary["acked"] else 0)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.check:
        result, code = check(args)
    else:
        result, code = write(args), 0
    text = json.dumps(result, indent=1)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
    else:
        print(text)
    return code


if __name__ == "__main__":
    sys.exit(main())
