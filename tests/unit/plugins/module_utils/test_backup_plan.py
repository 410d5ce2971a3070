# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup decisions: which node is snapshotted, which RDB an engine loads, what restic records."""

from __future__ import annotations

import pytest
from ansible_collections.ha.redis.plugins.module_utils._backup_plan import (
    BackupError,
    backup_age_findings,
    choose_source,
    engine_of,
    forget_argv,
    latest_per_group,
    parse_env_file,
    parse_tags,
    pick_snapshot,
    rdb_loadable,
    rdb_version_of,
    rdb_written,
    replicas_of,
    retention_args,
    snapshot_tags,
    snapshot_time,
)

PRIMARY = "10.0.0.11:6379"


def replica(address, offset, state="online", lag=0):
    return dict(address=address, offset=offset, state=state, lag=lag)


def test_replicas_of_reads_info_entries_parsed_or_raw():
    info = {"role": "master", "master_repl_offset": 100,
            "slave0": {"ip": "10.0.0.12", "port": 6379, "state": "online", "offset": 90, "lag": 0},
            "slave1": "ip=10.0.0.13,port=6379,state=wait_bgsave,offset=0,lag=1"}
    assert replicas_of(info) == [replica("10.0.0.12:6379", 90), replica("10.0.0.13:6379", 0, "wait_bgsave", 1)]


def test_the_replica_with_the_smallest_lag_is_chosen():
    choice = choose_source(PRIMARY, 10_000_000, [replica("10.0.0.12:6379", 9_000_000),
                                                 replica("10.0.0.13:6379", 9_900_000)], tolerance_bytes=0)
    assert (choice.source, choice.role, choice.lag_bytes) == ("10.0.0.13:6379", "replica", 100_000)


def test_lags_within_the_tolerance_count_equal_and_the_lowest_address_wins():
    # Every node of the group runs the timer: they must agree although the lags move under writes.
    replicas = [replica("10.0.0.9:6379", 1000), replica("10.0.0.12:6379", 990)]
    assert choose_source(PRIMARY, 1000, replicas).source == "10.0.0.9:6379"
    assert choose_source(PRIMARY, 1000, list(reversed(replicas))).source == "10.0.0.9:6379"


def test_a_replica_out_of_sync_is_never_chosen():
    replicas = [replica("10.0.0.12:6379", 0, state="wait_bgsave"), replica("10.0.0.13:6379", 10, lag=30),
                replica("10.0.0.14:6379", 0)]
    with pytest.raises(BackupError) as failure:
        choose_source(PRIMARY, 5_000_000, replicas)
    assert "10.0.0.12:6379: link wait_bgsave" in str(failure.value)
    assert "10.0.0.13:6379: last acknowledgement 30 s ago" in str(failure.value)
    assert "10.0.0.14:6379: 5000000 bytes behind" in str(failure.value)


def test_a_group_without_replicas_is_refused_unless_the_primary_is_allowed():
    with pytest.raises(BackupError, match="it has no replica"):
        choose_source(PRIMARY, 10, [])
    choice = choose_source(PRIMARY, 10, [], allow_primary=True)
    assert (choice.source, choice.role) == (PRIMARY, "primary")
    assert "taken from the primary" in choice.warnings[0]


@pytest.mark.parametrize("engine, version, rdb", [
    ("redis", "7.0.15", 10), ("redis", "7.2.4", 11), ("redis", "7.4.1", 12), ("redis", "8.0.2", 12),
    ("valkey", "8.1.1", 11), ("valkey", "9.0.0", 80), ("redis", "6.2.0", 9),
])
def test_the_rdb_each_engine_writes(engine, version, rdb):
    assert rdb_written(engine, version) == rdb


@pytest.mark.parametrize("rdb, engine, version, ok", [
    (10, "redis", "7.0.15", True),
    (11, "redis", "7.0.15", False),      # Redis 7.2 onto 7.0
    (12, "redis", "7.0.15", False),      # Redis 7.4/8 onto 7.0
    (12, "valkey", "8.1.1", False),      # Redis 7.4/8 onto Valkey 8
    (11, "valkey", "8.1.1", True),
    (10, "valkey", "8.1.1", True),       # Redis 7.0 onto Valkey 8
    (12, "redis", "8.0.2", True),
    (80, "redis", "8.0.2", False),       # Valkey 9 onto Redis
    (12, "valkey", "9.0.0", False),
    (80, "valkey", "9.0.0", True),
    (11, "valkey", "9.0.0", True),
])
def test_which_snapshot_an_engine_loads(rdb, engine, version, ok):
    loadable, why = rdb_loadable(rdb, engine, version)
    assert loadable is ok
    assert (why is None) is ok


def test_an_unknown_engine_version_is_refused():
    assert rdb_loadable(10, "redis", "1.0")[0] is False


def test_rdb_header():
    assert rdb_version_of(b"REDIS0011\xfa") == 11
    assert rdb_version_of(b"VALKEY080") == 80
    with pytest.raises(BackupError):
        rdb_version_of(b"*1\r\n$4\r\nPING")


def test_engine_of_info_server():
    assert engine_of({"redis_version": "7.0.15"}) == ("redis", "7.0.15")
    valkey = {"redis_version": "7.2.4", "server_name": "valkey", "valkey_version": "8.1.1"}
    assert engine_of(valkey) == ("valkey", "8.1.1")


def test_tags_round_trip():
    tags = snapshot_tags("main", "redis", "7.0.15", 10, 1234, "abc", "10.0.0.12:6379")
    assert parse_tags(tags) == dict(group="main", engine="redis", version="7.0.15", rdb="10", offset="1234",
                                    replid="abc", source="10.0.0.12:6379")


def test_retention():
    assert retention_args({"last": 3, "daily": 7, "weekly": 0}) == ["--keep-daily", "7", "--keep-last", "3"]
    assert forget_argv("restic", "main", {}) is None
    assert forget_argv("restic", "main", {"last": 2})[-2:] == ["--keep-last", "2"]
    with pytest.raises(BackupError, match="Retention key minutely"):
        retention_args({"minutely": 1})


def test_pick_snapshot_latest_or_named():
    entries = [dict(id="aaaa1111", short_id="aaaa1111", time="2026-12-08T01:00:00Z", hostname="ha-redis-main",
                    tags=["ha-redis", "rdb=10"]),
               dict(id="bbbb2222", short_id="bbbb2222", time="2026-12-08T02:00:00Z", hostname="ha-redis-main",
                    tags=["ha-redis", "rdb=10"])]
    assert pick_snapshot(entries, "main", "latest")["id"] == "bbbb2222"
    assert pick_snapshot(entries, "main", "aaaa")["id"] == "aaaa1111"
    with pytest.raises(BackupError, match="no snapshot cccc"):
        pick_snapshot(entries, "main", "cccc")
    with pytest.raises(BackupError, match="no snapshot latest"):
        pick_snapshot(entries, "other", "latest")


def test_env_file():
    assert parse_env_file('# c\nRESTIC_PASSWORD="a \\"b\\" \\\\c"\nRESTIC_REPOSITORY=/srv/repo\n') == {
        "RESTIC_PASSWORD": 'a "b" \\c', "RESTIC_REPOSITORY": "/srv/repo"}


def test_backup_age():
    report, warnings = backup_age_findings({"main": 9900.0, "cache": None, "old": 1000.0}, 10000.0, 3600)
    assert report[1] == "Group main: last backup 100 s ago."
    assert [w.split(":")[0].split(" has")[0] for w in warnings] == ["Group cache", "Group old"]


def test_snapshot_times_and_latest_per_group():
    assert snapshot_time("1970-01-01T00:01:00.5Z") == 60.5
    assert snapshot_time("1970-01-01T01:01:00+01:00") == 60.0
    with pytest.raises(BackupError):
        snapshot_time("yesterday")
    entries = [dict(hostname="ha-redis-main", time="1970-01-01T00:01:00Z", short_id="a"),
               dict(hostname="ha-redis-main", time="1970-01-01T00:02:00Z", short_id="b"),
               dict(hostname="elsewhere", time="1970-01-01T00:03:00Z", short_id="c")]
    assert latest_per_group(entries, ["main", "cache"]) == {"main": (120.0, "b"), "cache": None}
