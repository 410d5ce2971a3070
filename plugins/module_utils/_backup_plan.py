# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Backups and restores of a replication group: the decisions, pure (no redis-py, no restic, no Ansible).

Private to the collection: the interface may change between releases.

- :func:`choose_source`: which node of a group a snapshot is taken from (a replica in sync, never the primary
  while a replica can serve).
- :data:`RDB_FORMATS` and :func:`rdb_loadable`: which RDB format an engine version writes and which it can load,
  so that a restore is refused before anything is stopped.
- :func:`snapshot_tags`, :func:`parse_tags`, and the restic argument lists: what is recorded with each snapshot.
- :func:`backup_age_findings`: the gate's view of each group's last successful backup.

This file is also copied, with ``_backup.py``, to the data nodes for the systemd timer (roles/backup): it imports
only the standard library.
"""

from __future__ import annotations

import datetime
import re
import shlex
from dataclasses import dataclass, field

# The restic "host" of every snapshot of a group: a group's snapshots form one series whichever node took them.
SNAPSHOT_HOST_PREFIX = "ha-redis-"
SNAPSHOT_TAG = "ha-redis"
RETENTION_KEYS = ("last", "hourly", "daily", "weekly", "monthly", "yearly")

# --------------------------------------------------------------------------------------------------------------
# RDB formats (one table): (engine, first version, RDB format written). An engine loads every format up to the one
# it writes, except Valkey 9, whose own format (80, magic "VALKEY") is not a successor of Redis's 12: it loads up
# to 11 and 80. Redis 7.0 writes 10, 7.2 writes 11, 7.4 and 8.x write 12; Valkey 7.2 and 8.x write 11.
# --------------------------------------------------------------------------------------------------------------
RDB_FORMATS = (
    ("redis", (2, 6), 6),
    ("redis", (2, 8), 7),
    ("redis", (3, 2), 8),
    ("redis", (5, 0), 9),
    ("redis", (7, 0), 10),
    ("redis", (7, 2), 11),
    ("redis", (7, 4), 12),
    ("valkey", (7, 2), 11),
    ("valkey", (9, 0), 80),
)
VALKEY_OWN_FORMATS = 80


class BackupError(Exception):
    """A refusal or failure of a backup or restore step: one sentence; ``details`` carries the rest."""

    def __init__(self, message, **details):
        super().__init__(message)
        self.details = details


def parse_version(text):
    """``"7.0.15"`` -> ``(7, 0, 15)``; anything unreadable -> ``None``."""
    found = re.match(r"^\s*(\d+)\.(\d+)(?:\.(\d+))?", str(text or ""))
    if not found:
        return None
    return tuple(int(part or 0) for part in found.groups())


def engine_of(info_server):
    """``(engine, version text)`` from ``INFO server``: Valkey says ``server_name:valkey`` and ``valkey_version``."""
    if str(info_server.get("server_name", "")).lower() == "valkey" or "valkey_version" in info_server:
        return "valkey", str(info_server.get("valkey_version") or info_server.get("redis_version"))
    return "redis", str(info_server.get("redis_version"))


def rdb_written(engine, version):
    """The RDB format ``engine`` at ``version`` (text or tuple) writes, or None when the table does not know it."""
    version = parse_version(version) if isinstance(version, str) else tuple(version)
    if version is None:
        return None
    written = None
    for name, first, rdb in RDB_FORMATS:
        if name == engine and version[:2] >= first:
            written = rdb
    return written


def rdb_loadable(rdb, engine, version):
    """``(True, None)`` when ``engine`` at ``version`` loads RDB format ``rdb``, else ``(False, reason)``."""
    written = rdb_written(engine, version)
    if written is None:
        return False, "the RDB format of %s %s is not known to ha.redis (RDB_FORMATS)" % (engine, version)
    rdb = int(rdb)
    if written >= VALKEY_OWN_FORMATS:
        ok = rdb <= 11 or rdb == written or (rdb >= VALKEY_OWN_FORMATS and rdb <= written)
    else:
        ok = rdb <= written
    if ok:
        return True, None
    return False, "%s %s loads RDB formats up to %d%s, the snapshot is RDB %d" % (
        engine, version, min(written, 11) if written >= VALKEY_OWN_FORMATS else written,
        " and %d" % written if written >= VALKEY_OWN_FORMATS else "", rdb)


def rdb_version_of(header):
    """The RDB format of a file from its first 9 bytes (``REDIS0011``, ``VALKEY080``)."""
    header = bytes(header[:9])
    for magic in (b"REDIS", b"VALKEY"):
        if header.startswith(magic) and header[len(magic):].isdigit():
            return int(header[len(magic):])
    raise BackupError("The file does not start like an RDB file (REDIS0nnn or VALKEYnnn): %r." % header)


# --------------------------------------------------------------------------------------------------------------
# The source of a snapshot
# --------------------------------------------------------------------------------------------------------------
@dataclass
class Choice:
    """The node a snapshot is taken from, and why."""

    source: str                     # host:port
    role: str                       # "replica" or "primary"
    lag_bytes: int = 0
    reason: str = ""
    warnings: list = field(default_factory=list)
    candidates: list = field(default_factory=list)

    def as_dict(self):
        return dict(source=self.source, role=self.role, lag_bytes=self.lag_bytes, reason=self.reason,
                    warnings=list(self.warnings), candidates=list(self.candidates))


def replicas_of(info_replication):
    """The replicas a primary lists in ``INFO replication`` (``slaveN``), as dicts address/state/offset/lag."""
    replicas = []
    for key, value in sorted(info_replication.items()):
        if not re.match(r"^slave\d+$", str(key)):
            continue
        entry = value
        if isinstance(entry, str):
            entry = dict(part.split("=", 1) for part in entry.split(",") if "=" in part)
        host, port = entry.get("ip"), entry.get("port")
        address = "[%s]:%s" % (host, port) if ":" in str(host) else "%s:%s" % (host, port)
        replicas.append(dict(address=address, state=str(entry.get("state")), offset=int(entry.get("offset", 0)),
                             lag=int(entry.get("lag", -1))))
    return replicas


def choose_source(primary_address, primary_offset, replicas, max_lag_bytes=1048576, max_lag_seconds=10,
                  tolerance_bytes=65536, allow_primary=False):
    """Pick the node to snapshot: the in-sync replica with the smallest lag, else the primary if allowed.

    In sync: link up (``state=online``), acknowledged within ``max_lag_seconds`` and behind the primary's offset by
    at most ``max_lag_bytes``. Lags within ``tolerance_bytes`` of the smallest count as equal and the lowest address
    wins: under writes the exact lags change from one moment to the next, and every node of the group (each runs the
    timer) must reach the same choice. Without an in-sync replica the primary is chosen only with ``allow_primary``
    (BGSAVE forks the primary, with a warning); otherwise :class:`BackupError`.
    """
    candidates, refused = [], []
    for replica in replicas:
        lag_bytes = max(0, int(primary_offset) - int(replica["offset"]))
        entry = dict(address=replica["address"], lag_bytes=lag_bytes, lag_seconds=replica["lag"],
                     state=replica["state"])
        if replica["state"] != "online":
            refused.append("%s: link %s" % (replica["address"], replica["state"]))
        elif replica["lag"] < 0 or replica["lag"] > max_lag_seconds:
            refused.append("%s: last acknowledgement %s s ago (at most %d)"
                           % (replica["address"], replica["lag"], max_lag_seconds))
        elif lag_bytes > max_lag_bytes:
            refused.append("%s: %d bytes behind (at most %d)" % (replica["address"], lag_bytes, max_lag_bytes))
        else:
            candidates.append(entry)
    if candidates:
        smallest = min(entry["lag_bytes"] for entry in candidates)
        best = sorted((entry for entry in candidates if entry["lag_bytes"] <= smallest + tolerance_bytes),
                      key=lambda entry: (_address_key(entry["address"]), entry["lag_bytes"]))[0]
        return Choice(best["address"], "replica", best["lag_bytes"],
                      "replica in sync with the smallest lag (%d bytes)" % best["lag_bytes"],
                      candidates=candidates)
    why = "; ".join(refused) if refused else "it has no replica"
    if allow_primary:
        return Choice(primary_address, "primary", 0, "no replica in sync (%s): the primary, allowed" % why,
                      warnings=["The snapshot of %s is taken from the primary (BGSAVE forks it): no replica is in "
                                "sync (%s)." % (primary_address, why)])
    raise BackupError("No replica of the primary %s is in sync (%s), expected at least one; set allow_primary "
                      "(redis_backup_allow_primary) to take the snapshot from the primary." % (primary_address, why),
                      refused=refused)


def _address_key(address):
    host, _sep, port = address.rpartition(":")
    parts = tuple(int(p) if p.isdigit() else p for p in re.split(r"[.:\[\]]", host) if p)
    return (tuple((0, p) if isinstance(p, int) else (1, p) for p in parts), int(port) if port.isdigit() else 0)


# --------------------------------------------------------------------------------------------------------------
# What restic records, and the commands
# --------------------------------------------------------------------------------------------------------------
def snapshot_host(group):
    return SNAPSHOT_HOST_PREFIX + group


def snapshot_filename(group):
    return "%s.rdb" % group


def snapshot_tags(group, engine, version, rdb, offset, replid, source):
    """The tags of one snapshot: ``key=value`` each, so that a restore can judge it before reading it."""
    return [SNAPSHOT_TAG, "group=%s" % group, "engine=%s" % engine, "version=%s" % version, "rdb=%d" % int(rdb),
            "offset=%d" % int(offset), "replid=%s" % replid, "source=%s" % source]


def parse_tags(tags):
    """``["group=main", ...]`` -> ``{"group": "main", ...}`` (tags without ``=`` are left out)."""
    return dict(tag.split("=", 1) for tag in tags or [] if "=" in tag)


def retention_args(keep):
    """``{"last": 7, "daily": 14}`` -> ``["--keep-last", "7", "--keep-daily", "14"]``; unknown keys refused."""
    args = []
    for key, value in sorted((keep or {}).items()):
        if key not in RETENTION_KEYS:
            raise BackupError("Retention key %s is not known, expected one of %s." % (key, ", ".join(RETENTION_KEYS)))
        if int(value) < 0:
            raise BackupError("Retention keep-%s is %s, expected 0 or more." % (key, value))
        if int(value) > 0:
            args += ["--keep-%s" % key, str(int(value))]
    return args


def backup_argv(restic, group, tags):
    argv = [restic, "backup", "--json", "--stdin", "--stdin-filename", snapshot_filename(group),
            "--host", snapshot_host(group)]
    for tag in tags:
        argv += ["--tag", tag]
    return argv


def forget_argv(restic, group, keep):
    args = retention_args(keep)
    if not args:
        return None
    return [restic, "forget", "--json", "--prune", "--host", snapshot_host(group), "--tag", SNAPSHOT_TAG,
            "--group-by", "host"] + args


def snapshots_argv(restic, group, snapshot="latest"):
    argv = [restic, "snapshots", "--json", "--host", snapshot_host(group), "--tag", SNAPSHOT_TAG]
    if snapshot == "latest":
        return argv + ["--latest", "1"]
    return argv + [snapshot]


def dump_argv(restic, group, snapshot):
    return [restic, "dump", "--host", snapshot_host(group), snapshot, "/" + snapshot_filename(group)]


def pick_snapshot(snapshots, group, snapshot):
    """The snapshot asked for among ``restic snapshots --json`` entries of the group, with its tags read."""
    entries = [entry for entry in snapshots or [] if entry.get("hostname") == snapshot_host(group)]
    if snapshot != "latest":
        entries = [entry for entry in entries if entry.get("id", "").startswith(snapshot)
                   or entry.get("short_id") == snapshot]
    if not entries:
        raise BackupError("Group %s has no snapshot %s in the repository." % (group, snapshot), snapshot=snapshot)
    entry = sorted(entries, key=lambda item: item.get("time", ""))[-1]
    tags = parse_tags(entry.get("tags"))
    if "rdb" not in tags:
        raise BackupError("Snapshot %s of group %s has no rdb tag: not taken by ha.redis." % (entry.get("id"), group))
    return dict(id=entry.get("id"), short_id=entry.get("short_id"), time=entry.get("time"), tags=tags)


# --------------------------------------------------------------------------------------------------------------
# Environment files (systemd EnvironmentFile syntax, values in double quotes)
# --------------------------------------------------------------------------------------------------------------
def parse_env_file(text):
    """``KEY="value"`` lines (as systemd reads them) -> dict. Comments and blank lines are skipped."""
    env = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, value = line.split("=", 1)
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            value = re.sub(r'\\(["\\])', r"\1", value[1:-1])
        else:
            value = shlex.split(value)[0] if value else ""
        env[key.strip()] = value
    return env


# --------------------------------------------------------------------------------------------------------------
# The gate: age of each group's last backup
# --------------------------------------------------------------------------------------------------------------
def backup_age_findings(latest, now, max_age_seconds):
    """``latest`` = ``{group: unix time of its newest snapshot or None}`` -> ``(report lines, warnings)``."""
    report, warnings = [], []
    for group in sorted(latest):
        when = latest[group]
        if when is None:
            report.append("Group %s: no backup in the repository." % group)
            warnings.append("Group %s has no backup in the repository, expected one within %d s."
                            % (group, max_age_seconds))
            continue
        age = max(0, int(now - when))
        report.append("Group %s: last backup %d s ago." % (group, age))
        if age > max_age_seconds:
            warnings.append("Group %s: the last backup is %d s old, expected at most %d s."
                            % (group, age, max_age_seconds))
    return report, warnings


def snapshot_time(text):
    """restic's time (``2026-12-08T04:14:11.237134919Z`` or ``...+01:00``) -> Unix time (float)."""
    found = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", str(text))
    if not found:
        raise BackupError("The snapshot time %r is not an RFC 3339 time." % (text,))
    zone = "+00:00" if found.group(3) == "Z" else found.group(3)
    moment = datetime.datetime.fromisoformat(found.group(1) + zone)
    return moment.timestamp() + float("0" + (found.group(2) or ".0"))


def latest_per_group(entries, groups):
    """``{group: (unix time, snapshot short id) or None}`` from ``restic snapshots --json`` entries."""
    latest = dict.fromkeys(groups)
    for entry in entries or []:
        host = str(entry.get("hostname", ""))
        group = host[len(SNAPSHOT_HOST_PREFIX):] if host.startswith(SNAPSHOT_HOST_PREFIX) else None
        if group not in latest:
            continue
        when = snapshot_time(entry.get("time"))
        if latest[group] is None or when > latest[group][0]:
            latest[group] = (when, entry.get("short_id"))
    return latest
