"""A Sentinel-aware writer that records every acknowledged write, for zero-loss tests and benchmarks.

It asks the Sentinels for the current primary of a group (redis-py's Sentinel client, as applications do),
appends sequence numbers to a list, and records each acknowledgement and each error with a timestamp. It stops
after ``--duration`` seconds or when ``--stop-file`` appears, then writes a JSON summary with the longest time
between two acknowledged writes (the write unavailability a client saw).

``--check SUMMARY`` reads a summary back, asks the Sentinels for the primary now, and reports how many
acknowledged writes that primary does not hold. It exits 1 if any is lost.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from redis.exceptions import RedisError
from redis.sentinel import Sentinel


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentinel", action="append", required=True, help="host:port; repeat for each Sentinel")
    parser.add_argument("--name", required=True, help="Sentinel's name of the primary group")
    parser.add_argument("--key", default="ha-redis:writer", help="list the sequence numbers are appended to")
    parser.add_argument("--password-env", default="HA_REDIS_PASSWORD", help="env var holding the data password")
    parser.add_argument("--sentinel-password-env", default="HA_REDIS_SENTINEL_PASSWORD")
    parser.add_argument("--interval", type=float, default=0.01, help="seconds between writes")
    parser.add_argument("--timeout", type=float, default=0.5, help="socket timeout of one write")
    parser.add_argument("--duration", type=float, default=600.0, help="stop after this many seconds")
    parser.add_argument("--stop-file", help="stop as soon as this file exists")
    parser.add_argument("--ready-file", help="create this file once the first write is acknowledged")
    parser.add_argument("--out", help="write the JSON summary here (default: stdout)")
    parser.add_argument("--check", metavar="SUMMARY", help="verify a summary against the current primary")
    return parser.parse_args(argv)


def sentinel_client(args):
    addresses = []
    for item in args.sentinel:
        host, _sep, port = item.rpartition(":")
        addresses.append((host.strip("[]"), int(port)))
    password = os.environ.get(args.password_env) or None
    sentinel_password = os.environ.get(args.sentinel_password_env) or None
    sentinel_kwargs = {"socket_timeout": args.timeout, "password": sentinel_password}
    return Sentinel(addresses, sentinel_kwargs=sentinel_kwargs, socket_timeout=args.timeout, password=password)


def longest_gap(times):
    gaps = [b - a for a, b in zip(times, times[1:])]
    return max(gaps) if gaps else 0.0


def write(args):
    sentinel = sentinel_client(args)
    primary = sentinel.master_for(args.name, socket_timeout=args.timeout, socket_connect_timeout=args.timeout)
    started = time.time()
    deadline = time.monotonic() + args.duration
    acked, ack_times, errors = [], [], []
    seq = 0
    primaries = []
    while time.monotonic() < deadline:
        if args.stop_file and os.path.exists(args.stop_file):
            break
        seq += 1
        try:
            primary.rpush(args.key, seq)
        except (RedisError, OSError) as exc:
            errors.append({"seq": seq, "at": round(time.time() - started, 3), "error": str(exc)[:200]})
        else:
            acked.append(seq)
            ack_times.append(time.time())
            if args.ready_file and len(acked) == 1:
                with open(args.ready_file, "w", encoding="utf-8") as handle:
                    handle.write("ready\n")
            if len(acked) % 200 == 1:
                try:
                    address = "%s:%s" % sentinel.discover_master(args.name)
                except RedisError:
                    address = None
                if address and (not primaries or primaries[-1] != address):
                    primaries.append(address)
        time.sleep(args.interval)
    summary = {
        "key": args.key,
        "name": args.name,
        "attempted": seq,
        "acknowledged": len(acked),
        "acked": acked,
        "errors": len(errors),
        "error_samples": errors[:20],
        "primaries_seen": primaries,
        "duration_s": round(time.time() - started, 3),
        "longest_write_gap_ms": round(longest_gap(ack_times) * 1000, 1),
    }
    return summary


def check(args):
    with open(args.check, encoding="utf-8") as handle:
        summary = json.load(handle)
    sentinel = sentinel_client(args)
    primary = sentinel.master_for(summary["name"], socket_timeout=2.0)
    present = {int(v) for v in primary.lrange(summary["key"], 0, -1)}
    lost = [seq for seq in summary["acked"] if seq not in present]
    result = {
        "primary": "%s:%s" % sentinel.discover_master(summary["name"]),
        "acknowledged": summary["acknowledged"],
        "present": len(present),
        "lost": len(lost),
        "lost_samples": lost[:20],
        "longest_write_gap_ms": summary["longest_write_gap_ms"],
        "errors": summary["errors"],
    }
    return result, (1 if lost or not summary["acked"] else 0)


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
