# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The client matrix (issue 22) on loopback processes: every client of tests/clients/matrix.py writes through each
event with its default (or documented recommended) settings; the figures are printed (``-s``) and the targets
asserted:

* switchover (``ha.redis.sentinel_failover``): every Sentinel-aware client writes again within 1 s of the
  Sentinels naming the new primary (every Sentinel, in ``GET-MASTER-ADDR-BY-NAME`` and ``SENTINEL MASTER``), and
  loses no acknowledged write;
* ``cluster_failover`` and a rebalance under load: no acknowledged write lost, every cluster client writes again
  (none stays on a demoted primary);
* a killed primary: the longest gap within down-after + 2 s (Sentinel), a cluster client writes to every slot
  again within 1 s of the promotion;
* a frozen primary (SIGSTOP, the loopback stand-in for a partition) and a primary demoted by a plain ``REPLICAOF``
  (the switchover bug of issue 22, reproduced without the module): what each client sees, and that the documented
  ioredis settings ride through what its defaults do not.

One Sentinel group and one Redis Cluster per xdist worker go through the events (tests/clients/events.py); each
event starts its own writers. The Node.js writers need ``npm ci`` in tests/clients (``make test`` runs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

CLIENTS_DIR = Path(__file__).resolve().parents[1] / "clients"
sys.path.insert(0, str(CLIENTS_DIR))

import events  # noqa: E402
import matrix  # noqa: E402
from cluster import DOWN_AFTER_MS  # noqa: E402
from redis_cluster_lab import NODE_TIMEOUT_MS  # noqa: E402

# node-redis misses the kill target on loopback: it writes again up to about 2 s after every Sentinel names the new
# primary, in GET-MASTER-ADDR-BY-NAME and in SENTINEL MASTER (which it reads, and which the Sentinel leading a failover
# changes only when the failover is over). Measured 3.3-5.4 s after the kill; a faster socket.reconnectStrategy made
# no difference (tried: retries every 100-500 ms). The bound below is that observation plus 200 ms, not a target.
NODE_REDIS_AFTER_ALL_NAMED_MS = 2200
# When the servers themselves are slower than the target (a loaded machine: the Sentinels name the new primary late),
# a client still has to write again within this much of the naming.
AFTER_NAMING_MS = 700


@pytest.fixture(scope="module", autouse=True)
def node_modules():
    assert matrix.node_modules_ready(), "tests/clients/node_modules is missing: run `npm ci` in tests/clients " \
                                        "(make test and make test-fast do)"


@pytest.fixture(scope="module")
def sentinel_setup(tmp_path_factory):
    setup = events.SentinelSetup(tmp_path_factory.mktemp("clients-sentinel"))
    try:
        yield setup
    finally:
        setup.stop()


@pytest.fixture(scope="module")
def cluster_setup(tmp_path_factory):
    setup = events.ClusterSetup(tmp_path_factory.mktemp("clients-cluster"))
    try:
        yield setup
    finally:
        setup.stop()


def run(setup, event, clients=None):
    result = setup.run(event, clients)
    print("\n%s %s\n%s" % (event, result["timing"], matrix.table(result["rows"])))
    setup.recover()
    return {row["client"]: row for row in result["rows"]}, result["timing"]


def problems(rows, check):
    """[client: problem] for every row where ``check(row)`` returns a problem."""
    found = []
    for name, row in rows.items():
        problem = check(name, row)
        if problem:
            found.append("%s: %s (%s)" % (name, problem, {k: row[k] for k in (
                "longest_gap_ms", "failed", "lost", "resumed_ms", "errors", "error_sample")}))
    return found


def test_switchover_every_sentinel_client_writes_within_1s_of_the_naming_and_loses_nothing(sentinel_setup):
    rows, timing = run(sentinel_setup, "switchover")
    assert timing["ref_ms"], timing

    def check(_name, row):
        if row["lost"]:
            return "%d acknowledged writes lost" % row["lost"]
        if row["resumed_ms"] is None:
            return "never wrote again after the switchover"
        if row["resumed_ms"] > 1000:
            return "wrote again %d ms after the Sentinels named the new primary, expected within 1000" \
                % row["resumed_ms"]
        return None
    assert problems(rows, check) == []
    assert all(row["acked"] > 100 for row in rows.values()), rows


def test_kill_of_the_primary_every_sentinel_client_within_down_after_plus_2s(sentinel_setup):
    """The target (longest gap within down-after + 2 s; on loopback the Sentinels name the new primary about 2.3 s
    after the kill) holds for every client but node-redis, which writes again within 2.2 s of every Sentinel naming
    the new primary (3.3-5.4 s after the kill). On a loaded machine where the Sentinels themselves name the new
    primary later, each client must write again within 0.7 s of that naming instead."""
    rows, timing = run(sentinel_setup, "kill")
    assert timing["all_named_after_ms"] is not None, timing

    def check(name, row):
        bound = max(DOWN_AFTER_MS + 2000, timing["named_after_ms"] + AFTER_NAMING_MS)
        if name == "node-redis-sentinel":
            bound = max(bound, timing["all_named_after_ms"] + NODE_REDIS_AFTER_ALL_NAMED_MS)
        if row["resumed_ms"] is None:
            return "never wrote again after the kill"
        if row["longest_gap_ms"] > bound:
            return "longest gap %d ms, expected within %d" % (row["longest_gap_ms"], bound)
        return None
    assert problems(rows, check) == []
    assert timing["named_after_ms"] < DOWN_AFTER_MS + 2000, timing


def test_frozen_primary_the_failover_detector_rides_through_what_the_defaults_wait_out(sentinel_setup):
    """SIGSTOP of the primary for 3 s: the Sentinels fail over; on SIGCONT the old primary answers again, refuses
    writes (NOREPLICAS: its replicas follow the new primary) until Sentinel demotes it, seconds later. A client
    still connected to it waits that out; one that follows the Sentinels' +switch-master does not."""
    rows, timing = run(sentinel_setup, "freeze")
    for name, row in rows.items():
        assert row["resumed_ms"] is not None, (name, row)
    # ioredis with failoverDetector moves when the Sentinels switch, not when the old primary is demoted.
    recommended = rows["ioredis-sentinel-recommended"]
    assert recommended["resumed_ms"] <= timing["named_after_ms"] + 1000, (recommended, timing)
    # The defaults stay on the old primary until Sentinel demotes it (and disconnects its clients).
    default = rows["ioredis-sentinel"]
    assert default["resumed_ms"] > timing["named_after_ms"] + 1000, (default, timing)
    assert "NOREPLICAS" in default["errors"], default


def test_plain_replicaof_leaves_ioredis_defaults_on_readonly_and_reconnect_on_error_recovers(sentinel_setup):
    """The switchover bug of issue 22 without the module: the old primary repointed with a plain REPLICAOF keeps its
    clients; ioredis with default options never writes again (READONLY until it stops), with reconnectOnError on
    READONLY it writes again within 1 s of the naming. redis-py's Sentinel client treats READONLY as a disconnect."""
    rows, _timing = run(sentinel_setup, "plain_replicaof",
                        ["ioredis-sentinel", "ioredis-sentinel-recommended", "redis-py-sentinel"])
    default = rows["ioredis-sentinel"]
    assert default["resumed_ms"] is None and "READONLY" in default["errors"], default
    recommended = rows["ioredis-sentinel-recommended"]
    assert recommended["resumed_ms"] is not None and recommended["resumed_ms"] <= 1000, recommended
    assert rows["redis-py-sentinel"]["resumed_ms"] is not None, rows["redis-py-sentinel"]


@pytest.mark.parametrize("event", ["cluster_failover", "rebalance"])
def test_planned_cluster_changes_every_cluster_client_follows_and_loses_nothing(cluster_setup, event):
    rows, timing = run(cluster_setup, event)

    def check(_name, row):
        if row["lost"]:
            return "%d acknowledged writes lost" % row["lost"]
        if row["resumed_ms"] is None or row["pending"]:
            return "stopped writing (stuck on a demoted or former owner)"
        if row["acked"] < 100:
            return "made too little progress to prove anything"
        return None
    assert problems(rows, check) == []
    if event == "rebalance":
        assert timing["slots"] == events.REBALANCE_SLOTS, timing


def test_kill_of_a_cluster_primary(cluster_setup):
    """Every cluster client writes to every slot again within 1 s of every node seeing the replica's promotion
    (cluster_state:ok, the killed node failing), except node-redis:
    with its defaults a write routed to the dead node waits for that node to come back (its offline queue), and
    the client never learns the new slot map meanwhile."""
    rows, timing = run(cluster_setup, "kill")

    def check(name, row):
        if name == "node-redis-cluster":
            return None if row["pending"] and row["resumed_ms"] is None else "was expected to hang on the dead node"
        if row["resumed_ms"] is None:
            return "never wrote again after the kill"
        if row["resumed_ms"] > timing["agreed_after_ms"] + 1000:
            return "wrote to every slot again %d ms after the kill, every node saw the takeover after %d ms" % (
                row["resumed_ms"], timing["agreed_after_ms"])
        bound = max(NODE_TIMEOUT_MS + 2000, timing["agreed_after_ms"] + AFTER_NAMING_MS)
        if row["longest_gap_ms"] > bound:
            return "longest gap %d ms, expected within %d" % (row["longest_gap_ms"], bound)
        return None
    assert problems(rows, check) == []
