"""Python writers of the client matrix: the same contract as common.js (tests/clients/matrix.py starts them).

``python py_writers.py CLIENT CONFIG_JSON``, CLIENT one of ``WRITERS``. Each writer uses the client's default
settings apart from the addresses and passwords (what ``SETTINGS`` says). It writes one command at a time,
``interval_ms`` after the previous one returned: Sentinel writers RPUSH sequence numbers to one list, Cluster writers
SET ``PREFIX:<n>`` to ``n`` (keys spread over every hash slot). It records the time (ms since the epoch) of every
acknowledged and every failed write, prints ``READY`` after the first acknowledgement, and stops when its stdin
closes or on SIGTERM: it then prints one JSON line (the report) and exits. A write still waiting for its reply
``STOP_GRACE_S`` after the stop is reported as ``pending`` (the client never answered it).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import threading
import time

SETTINGS = {
    "redis-py-sentinel": "Sentinel(sentinels, sentinel_kwargs={password}).master_for(name, password) - defaults",
    "redis-py-cluster": "RedisCluster(startup_nodes, password) - defaults",
    "coredis-sentinel": "Sentinel([TCPLocation...], sentinel_kwargs={password}, password).primary_for(name)"
                        " - defaults",
    "coredis-cluster": "RedisCluster(startup_nodes=[Node...], password) - defaults",
    "glide-cluster": "GlideClusterClient(GlideClusterClientConfiguration([NodeAddress...], credentials)) - defaults",
}


STOP_GRACE_S = 3.0


class Recorder:
    """Acknowledged and failed writes with their times; the stop flag set by stdin's end or a signal."""

    def __init__(self, client, settings):
        self.client, self.settings = client, settings
        self.acked, self.failed = [], []
        self.stop = threading.Event()
        self.started = now_ms()
        self.attempted = 0
        self.in_flight = None
        self._printed = threading.Lock()
        threading.Thread(target=self._watch_stdin, daemon=True).start()
        threading.Thread(target=self._grace, daemon=True).start()
        signal.signal(signal.SIGTERM, lambda *_: self.stop.set())
        signal.signal(signal.SIGINT, lambda *_: self.stop.set())

    def _watch_stdin(self):
        sys.stdin.buffer.read()
        self.stop.set()

    def _grace(self):
        self.stop.wait()
        time.sleep(STOP_GRACE_S)
        self.print_report(pending=self.in_flight)
        os._exit(0)

    def begin(self, n):
        self.attempted = n
        self.in_flight = [n, now_ms()]

    def ack(self, n):
        self.in_flight = None
        self.acked.append([n, now_ms()])
        if len(self.acked) == 1:
            sys.stdout.write("READY\n")
            sys.stdout.flush()

    def fail(self, n, exc):
        self.in_flight = None
        self.failed.append([n, now_ms(), ("%s: %s" % (type(exc).__name__, exc))[:160]])

    def print_report(self, **extra):
        """Print the report once (the main loop or the grace timer, whichever comes first)."""
        if not self._printed.acquire(blocking=False):
            return
        doc = {"client": self.client, "settings": self.settings, "started_ms": self.started, "stopped_ms": now_ms(),
               "attempted": self.attempted, "acked": list(self.acked), "failed": list(self.failed)}
        sys.stdout.write(json.dumps(dict(doc, **extra)) + "\n")
        sys.stdout.flush()


def now_ms():
    return int(time.time() * 1000)


# -- redis-py (synchronous) ---------------------------------------------------------------------------------------
def redis_py(kind, config, rec):
    import redis  # noqa: PLC0415
    from redis.cluster import ClusterNode, RedisCluster  # noqa: PLC0415
    from redis.sentinel import Sentinel  # noqa: PLC0415

    if kind == "sentinel":
        sentinel = Sentinel([tuple(s) for s in config["sentinels"]],
                            sentinel_kwargs={"password": config.get("sentinel_password")})
        client = sentinel.master_for(config["name"], password=config.get("password"))

        def write(n):
            client.rpush(config["key"], n)
    else:
        client = None

        def write(n):
            nonlocal client
            if client is None:  # a client that failed to start is made again
                client = RedisCluster(startup_nodes=[ClusterNode(h, p) for h, p in config["nodes"]],
                                      password=config.get("password"))
            if client.set("%s:%d" % (config["prefix"], n), str(n)) is not True:
                raise redis.RedisError("SET was not answered OK")
    n = 0
    while not rec.stop.is_set():
        n += 1
        rec.begin(n)
        try:
            write(n)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, whatever its class
            rec.fail(n, exc)
        else:
            rec.ack(n)
        time.sleep(config["interval_ms"] / 1000)


# -- coredis and valkey-glide (asyncio) ---------------------------------------------------------------------------
async def async_loop(config, rec, write):
    n = 0
    while not rec.stop.is_set():
        n += 1
        rec.begin(n)
        try:
            await write(n)
        except Exception as exc:  # noqa: BLE001 - every failure is recorded, whatever its class
            rec.fail(n, exc)
        else:
            rec.ack(n)
        await asyncio.sleep(config["interval_ms"] / 1000)


async def coredis_writer(kind, config, rec):
    import coredis  # noqa: PLC0415
    from coredis.connection import TCPLocation  # noqa: PLC0415

    if kind == "sentinel":
        sentinel = coredis.Sentinel([TCPLocation(h, p) for h, p in config["sentinels"]],
                                    sentinel_kwargs={"password": config.get("sentinel_password")},
                                    password=config.get("password"))
        async with sentinel:
            primary = sentinel.primary_for(config["name"])
            async with primary:
                await async_loop(config, rec, lambda n: primary.rpush(config["key"], [str(n)]))
    else:
        client = coredis.RedisCluster(startup_nodes=[coredis.connection.TCPLocation(h, p) for h, p in config["nodes"]],
                                      password=config.get("password"))

        async def write(n):
            if await client.set("%s:%d" % (config["prefix"], n), str(n)) is not True:
                raise RuntimeError("SET was not answered OK")
        async with client:
            await async_loop(config, rec, write)


async def glide_writer(config, rec):
    from glide import (  # noqa: PLC0415
        GlideClusterClient,
        GlideClusterClientConfiguration,
        NodeAddress,
        ServerCredentials,
    )

    credentials = ServerCredentials(config["password"]) if config.get("password") else None
    client = await GlideClusterClient.create(GlideClusterClientConfiguration(
        [NodeAddress(h, p) for h, p in config["nodes"]], credentials=credentials))

    async def write(n):
        reply = await client.set("%s:%d" % (config["prefix"], n), str(n))
        if reply not in ("OK", b"OK"):
            raise RuntimeError("SET answered %r" % (reply,))
    try:
        await async_loop(config, rec, write)
    finally:
        await client.close()


WRITERS = {
    "redis-py-sentinel": lambda c, r: redis_py("sentinel", c, r),
    "redis-py-cluster": lambda c, r: redis_py("cluster", c, r),
    "coredis-sentinel": lambda c, r: asyncio.run(coredis_writer("sentinel", c, r)),
    "coredis-cluster": lambda c, r: asyncio.run(coredis_writer("cluster", c, r)),
    "glide-cluster": lambda c, r: asyncio.run(glide_writer(c, r)),
}


def main():
    name, config = sys.argv[1], json.loads(sys.argv[2])
    rec = Recorder(name, SETTINGS[name])
    try:
        WRITERS[name](config, rec)
    except Exception as exc:  # noqa: BLE001 - a writer that cannot start reports it instead of a traceback
        rec.fail(0, exc)
    rec.print_report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
