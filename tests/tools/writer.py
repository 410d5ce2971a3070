"""A Sentinel-aware writer that records every acknowledged write, for zero-loss tests and benchmarks.

It asks the Sentinels for the current primary of a group, appends sequence numbers to a list, and records
each acknowledgement and each error with a timestamp. It stops
after ``--duration`` seconds or when ``--stop-file`` appears, then writes a JSON summary with the longest time
between two acknowledged writes (the write unavailability a client saw).

Two ways of asking, because clients differ and Sentinel answers them at different moments of a failover:

- ``--discovery masters`` (default): redis-py's Sentinel client, which reads ``SENTINEL MASTERS``. The Sentinel
  that leads a failover reports the new primary there only once the whole failover is over (every replica
  reconfigured).
- ``--discovery addr``: a client that asks ``SENTINEL GET-MASTER-ADDR-BY-NAME`` (the command the Sentinel client
  guidelines describe) of the Sentinels in order, after every failed write. Sentinel names the promoted replica
  there as soon as it has seen the promotion.

- ``--direct host:port``: no Sentinel at all, always the same node (a client on the primary's own host, for
  partition tests: it keeps writing to the node that may be cut off).

``--wait N`` sends ``WAIT N`` after every write and counts the write as acknowledged only when N replicas have it
(what a client that needs a write to survive a failover does).

``--check SUMMARY`` reads a summary back, asks the Sentinels for the primary now, and reports how many
acknowledged writes that primary does not hold. It exits 1 if any is lost.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import redis
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry
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
    parser.add_argument("--discovery", choices=["masters", "addr"], default="masters",
                        help="how the primary is found: redis-py's Sentinel client (SENTINEL MASTERS) or "
                             "SENTINEL GET-MASTER-ADDR-BY-NAME after every failed write")
    parser.add_argument("--direct", metavar="HOST:PORT", help="write to this node only, never ask a Sentinel")
    parser.add_argument("--wait", type=int, default=0, metavar="N",
                        help="WAIT N after each write; acknowledged only when N replicas have it")
    parser.add_argument("--wait-ms", type=int, default=500, help="how long each WAIT may take")
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


class AddrClient:
    """Asks SENTINEL GET-MASTER-ADDR-BY-NAME (first Sentinel that answers) and writes there; asks again after an
    error. Has the rpush() the writer needs. redis-py's own retries are off: every failed write goes back to the
    Sentinels, instead of being retried on the same address."""

    def __init__(self, args):
        self.args = args
        self.name = args.name
        self.sentinels = []
        sentinel_password = os.environ.get(args.sentinel_password_env) or None
        for item in args.sentinel:
            host, _sep, port = item.rpartition(":")
            self.sentinels.append(redis.Redis(host=host.strip("[]"), port=int(port), password=sentinel_password,
                                              socket_timeout=args.timeout, socket_connect_timeout=args.timeout))
        self.password = os.environ.get(args.password_env) or None
        self.client = None

    def discover_master(self, name):
        for sentinel in self.sentinels:
            try:
                reply = sentinel.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", name)
            except (RedisError, OSError):
                continue
            if reply:
                return reply[0].decode() if isinstance(reply[0], bytes) else reply[0], int(reply[1])
        raise redis.exceptions.ConnectionError("no Sentinel named a primary for %s" % name)

    def rpush(self, key, value):
        if self.client is None:
            host, port = self.discover_master(self.name)
            self.client = redis.Redis(host=host, port=port, password=self.password, retry=Retry(NoBackoff(), 0),
                                      socket_timeout=self.args.timeout, socket_connect_timeout=self.args.timeout)
        try:
            return self.client.rpush(key, value)
        except (RedisError, OSError):
            self.client.close()
            self.client = None
            raise

    def execute_command(self, *args):
        if self.client is None:
            raise redis.exceptions.ConnectionError("no primary")
        return self.client.execute_command(*args)


class DirectClient:
    """Always the same node, no Sentinel (a client on the primary's own host)."""

    def __init__(self, args):
        host, _sep, port = args.direct.rpartition(":")
        self.address = args.direct
        self.client = redis.Redis(host=host.strip("[]"), port=int(port),
                                  password=os.environ.get(args.password_env) or None, retry=Retry(NoBackoff(), 0),
                                  socket_timeout=args.timeout, socket_connect_timeout=args.timeout)

    def rpush(self, key, value):
        return self.client.rpush(key, value)

    def execute_command(self, *args):
        return self.client.execute_command(*args)

    def discover_master(self, _name):
        host, _sep, port = self.address.rpartition(":")
        return host, port


def longest_gap(times):
    gaps = [b - a for a, b in zip(times, times[1:])]
    return max(gaps) if gaps else 0.0


def write(args):
    if args.direct:
        sentinel = primary = DirectClient(args)
    elif args.discovery == "addr":
        sentinel = primary = AddrClient(args)
    else:
        sentinel = sentinel_client(args)
        primary = sentinel.master_for(args.name, socket_timeout=args.timeout, socket_connect_timeout=args.timeout)
    started = time.time()
    deadline = time.monotonic() + args.duration
    acked, ack_times, acked_at, errors = [], [], [], []
    seq = 0
    primaries = []
    while time.monotonic() < deadline:
        if args.stop_file and os.path.exists(args.stop_file):
            break
        seq += 1
        try:
            primary.rpush(args.key, seq)
            if args.wait:
                replicas = int(primary.execute_command("WAIT", args.wait, args.wait_ms))
                if replicas < args.wait:
                    raise RedisError("WAIT: %d of %d replicas within %d ms" % (replicas, args.wait, args.wait_ms))
        except (RedisError, OSError) as exc:
            errors.append({"seq": seq, "at": round(time.time() - started, 3), "error": str(exc)[:200]})
        else:
            acked.append(seq)
            ack_times.append(time.time())
            acked_at.append(round(ack_times[-1], 3))
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
        "discovery": args.discovery,
        "attempted": seq,
        "acknowledged": len(acked),
        "acked": acked,
        "acked_at": acked_at,
        "started_at": round(started, 3),
        "wait": args.wait,
        "errors": len(errors),
        "error_samples": errors[:20],
        "first_error_at": round(started + errors[0]["at"], 3) if errors else None,
        "last_error_at": round(started + errors[-1]["at"], 3) if errors else None,
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
