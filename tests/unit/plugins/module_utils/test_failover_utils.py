# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure decisions of plugins/module_utils/_failover.py, no server."""

from __future__ import annotations

import pytest
from ansible_collections.ha.redis.plugins.module_utils import _failover as fo
from ansible_collections.ha.redis.plugins.module_utils._connection import HaRedisError

P, R1, R2 = "10.0.0.1:6379", "10.0.0.2:6379", "10.0.0.3:6379"


def replica(address, flags="slave", priority=100, offset=1000, link="ok"):
    host, port = address.split(":")
    return fo.replica_summary(["ip", host, "port", port, "flags", flags, "slave-priority", str(priority),
                               "slave-repl-offset", str(offset), "master-link-status", link])


def test_agreed_primary_needs_majority_of_all():
    assert fo.agreed_primary({"s1": P, "s2": P, "s3": None}, 3) == P
    with pytest.raises(HaRedisError, match="do not agree"):
        fo.agreed_primary({"s1": P, "s2": R1, "s3": None}, 3)


def test_needs_switchover():
    assert fo.needs_switchover(P, avoid=R1) == (False, "%s is not the primary (the primary is %s)" % (R1, P))
    assert fo.needs_switchover(P, avoid=P) == (True, None)
    assert fo.needs_switchover(P, target=P)[0] is False
    assert fo.needs_switchover(P, target=R1)[0] is True
    assert fo.needs_switchover(P)[0] is True


def test_choose_target_by_priority_then_offset():
    assert fo.choose_target([replica(R1, offset=10), replica(R2, offset=20)]) == R2
    assert fo.choose_target([replica(R1, priority=50, offset=10), replica(R2, offset=20)]) == R1
    with pytest.raises(HaRedisError, match="No replica"):
        fo.choose_target([replica(R1, priority=0), replica(R2, flags="slave,s_down")])
    assert fo.choose_target([replica(R1), replica(R2, offset=5)], avoid=R1) == R2


def test_choose_target_checks_the_given_target():
    assert fo.choose_target([replica(R1), replica(R2)], target=R2) == R2
    with pytest.raises(HaRedisError, match="not healthy"):
        fo.choose_target([replica(R1, link="err")], target=R1)
    with pytest.raises(HaRedisError, match="replica-priority 0"):
        fo.choose_target([replica(R1, priority=0)], target=R1)
    with pytest.raises(HaRedisError, match="not a replica"):
        fo.choose_target([replica(R1)], target=R2)


def test_plan_commands_and_versions():
    commands = fo.plan_commands(P, R1, [R2], "main", "s1:26379", True, 5000)
    assert commands[0].startswith(R2 + ": CONFIG SET replica-priority 0")
    assert commands.index("%s: CLIENT PAUSE 5000 WRITE" % P) < commands.index("s1:26379: SENTINEL FAILOVER main")
    assert commands[-1] == "%s: CLIENT UNPAUSE" % P
    assert not any("PAUSE" in c for c in fo.plan_commands(P, R1, [], "main", "s1", False, 5000))
    assert fo.version_tuple("7.0.15") == (7, 0, 15)
    assert fo.version_tuple("6.2") == (6, 2, 0)
    assert fo.version_tuple("7.2.4-rc1") == (7, 2, 4)


def test_promotion_candidates_are_sentinels_choices():
    replicas = [replica(R1), replica(R2, link="err"), replica("10.0.0.4:6379", priority=0),
                replica("10.0.0.5:6379", flags="slave,s_down"), replica("10.0.0.6:6379", flags="slave,disconnected")]
    # a replica with its link down is still a candidate for Sentinel: it must catch up too
    assert [r.address for r in fo.promotion_candidates(replicas)] == [R1, R2]
    assert [r.address for r in fo.promotion_candidates(replicas, avoid=R1)] == [R2]


def test_plan_commands_without_target_names_no_fixed_replica():
    commands = fo.plan_commands(P, R1, [], "main", "s1:26379", True, 5000, method="any_synced_replica")
    assert not any("replica-priority" in c for c in commands)
    assert "%s: REPLICAOF <promoted replica, predicted 10.0.0.2 6379>" % P in commands
    assert fo.plan_commands(P, R1, [], "main", "s1", True, 5000)[-7:] == [
        "%s: %s" % (P, c) for c in ("MULTI", "REPLICAOF 10.0.0.2 6379", "CONFIG REWRITE", "CLIENT KILL TYPE normal",
                                    "CLIENT KILL TYPE pubsub", "EXEC", "CLIENT UNPAUSE")]


@pytest.mark.parametrize("age_ms, expected_s", [
    (0, 0.56),          # an INFO reply just came: wait until it is 560 ms old
    (560, 0.0),         # exactly in phase: start now
    (600, 9.96),        # just past: the next chance is one period later
    (9990, 0.57),       # the next reply is due (Sentinel's period is a little over 10 s): wait past it
])
def test_failover_start_delay_puts_the_first_failover_info_after_the_promotion(age_ms, expected_s):
    assert fo.failover_start_delay(age_ms) == pytest.approx(expected_s)


def test_failover_start_delay_unknown_age():
    assert fo.failover_start_delay(None) is None
    assert fo.failover_start_delay(-1) is None


def test_replica_summary_reads_the_info_age():
    entry = ["ip", "10.0.0.2", "port", "6379", "flags", "slave", "info-refresh", "1234"]
    assert fo.replica_summary(entry).info_age_ms == 1234
    assert fo.replica_summary(entry[:6]).info_age_ms == -1


@pytest.mark.parametrize("parallel_syncs, replicas, expected", [
    (1, 2, False),      # one replica to reconfigure besides the promoted one: nothing to raise
    (1, 3, True),       # two: the leader would reconfigure them one INFO period after the other
    (1, 4, True),
    (3, 4, False),      # high enough already
    (None, 4, False),   # unknown: leave it alone
    (0, 4, False),
])
def test_reconfigure_at_once(parallel_syncs, replicas, expected):
    assert fo.reconfigure_at_once(parallel_syncs, replicas) is expected


def test_plan_commands_repoint_the_other_replicas_and_raise_parallel_syncs_when_asked():
    commands = fo.plan_commands(P, R1, [], "main", "s3:26379", True, 5000, raise_parallel_syncs=True)
    raised = "s3:26379: SENTINEL SET main parallel-syncs <number of replicas> (restored afterwards)"
    assert commands.index(raised) < commands.index("s3:26379: SENTINEL FAILOVER main")
    assert commands.index("<every other replica>: REPLICAOF 10.0.0.2 6379") < commands.index(
        "%s: REPLICAOF 10.0.0.2 6379" % P)
    assert not any("parallel-syncs" in c for c in fo.plan_commands(P, R1, [], "main", "s3", True, 5000))
