"""The Molecule backup scenario's dataset: write it, write under load, and check it key by key after a restore.

    dataset.py write  --node HOST:PORT --manifest FILE       the dataset (every type, TTLs, large values)
    dataset.py writer --node HOST:PORT --seconds N           writes w:<n> keys for N seconds (a writer during backup)
    dataset.py check  --node HOST:PORT --manifest FILE       every key, value and TTL back (on any node)
    dataset.py flush  --node HOST:PORT                       FLUSHALL, then wait until the node is empty

The password comes from HA_REDIS_PASSWORD. Values are compared as canonical forms (sorted members, scores);
large values by digest. A TTL must be what was read at the write less the time elapsed since (within 1.5 s).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import sys
import time

import redis


def client(node):
    host, port = node.rsplit(":", 1)
    return redis.Redis(host=host, port=int(port), password=os.environ.get("HA_REDIS_PASSWORD") or None,
                       decode_responses=True, socket_timeout=10)


def canonical(r, key):
    kind = r.type(key)
    if kind == "string":
        value = r.get(key)
        return kind, value if len(value) < 1024 else "sha256:" + hashlib.sha256(value.encode()).hexdigest()
    if kind == "hash":
        return kind, sorted(r.hgetall(key).items())
    if kind == "list":
        return kind, r.lrange(key, 0, -1)
    if kind == "set":
        return kind, sorted(r.smembers(key))
    if kind == "zset":
        return kind, r.zrange(key, 0, -1, withscores=True)
    if kind == "stream":
        return kind, [[entry_id, sorted(fields.items())] for entry_id, fields in r.xrange(key)]
    return kind, None


def write(args):
    r = client(args.node)
    rng = random.Random(7)
    pipe = r.pipeline(transaction=False)
    for i in range(300):
        pipe.set("s:%d" % i, "value-%d-%s" % (i, "x" * rng.randint(0, 64)))
    for i in range(60):
        pipe.hset("h:%d" % i, mapping={"f%d" % j: str(rng.random()) for j in range(12)})
        pipe.rpush("l:%d" % i, *["item-%d" % j for j in range(15)])
        pipe.sadd("set:%d" % i, *["m-%d" % rng.randint(0, 10**6) for _n in range(15)])
        pipe.zadd("z:%d" % i, {"m-%d" % j: rng.random() * 1000 for j in range(15)})
    for i in range(10):
        for j in range(25):
            pipe.xadd("x:%d" % i, {"n": str(j), "v": "event-%d" % j})
    for i in range(60):
        pipe.set("t:%d" % i, "expiring-%d" % i, ex=3600 + 60 * i)
    for i in range(3):
        pipe.set("big:%d" % i, os.urandom(512 * 1024).hex())
    pipe.execute()
    keys = sorted(k for k in r.scan_iter(count=1000) if not k.startswith(("w:", "ha-redis:")))
    manifest = {"written_at": time.time(), "keys": {}}
    for key in keys:
        kind, value = canonical(r, key)
        manifest["keys"][key] = {"type": kind, "value": value, "pttl": r.pttl(key), "at": time.time()}
    with open(args.manifest, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle)
    print(json.dumps({"keys": len(keys), "used_memory": r.info("memory")["used_memory"]}))


def writer(args):
    r = client(args.node)
    end, n, errors = time.monotonic() + args.seconds, 0, 0
    while time.monotonic() < end:
        try:
            r.set("w:%d" % n, "w" * 100)
            n += 1
        except redis.RedisError:
            errors += 1
        time.sleep(0.005)
    print(json.dumps({"written": n, "errors": errors}))


def check(args):
    with open(args.manifest, encoding="utf-8") as handle:
        manifest = json.load(handle)
    r = client(args.node)
    problems = []
    for key, want in manifest["keys"].items():
        kind, value = canonical(r, key)
        if kind != want["type"] or json.loads(json.dumps(value)) != want["value"]:
            problems.append("%s: %s %s, expected %s" % (key, kind, str(value)[:60], want["type"]))
            continue
        if want["pttl"] > 0:
            # What is left now of the TTL read when the key was written (each PTTL timed, both ways).
            pttl = r.pttl(key)
            elapsed_ms = (time.time() - want.get("at", manifest["written_at"])) * 1000
            expected = want["pttl"] - elapsed_ms
            if not expected - 1500 <= pttl <= expected + 1500:
                problems.append("%s: TTL %d ms, expected %d ms (written %d ms ago)"
                                % (key, pttl, expected, elapsed_ms))
        elif r.pttl(key) != -1:
            problems.append("%s: has a TTL, expected none" % key)
    extra = [k for k in r.scan_iter(count=1000) if not k.startswith(("w:", "ha-redis:"))
             and k not in manifest["keys"]]
    problems += ["%s: not in the dataset" % key for key in extra[:10]]
    print(json.dumps({"node": args.node, "keys": len(manifest["keys"]), "problems": problems[:20]}))
    return 1 if problems else 0


def flush(args):
    r = client(args.node)
    r.flushall()
    print(json.dumps({"dbsize": r.dbsize()}))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["write", "writer", "check", "flush"])
    parser.add_argument("--node", required=True)
    parser.add_argument("--manifest")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    return {"write": write, "writer": writer, "check": check, "flush": flush}[args.action](args) or 0


if __name__ == "__main__":
    sys.exit(main())
