# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Metrics of a deployment (ha.redis.exporter): one exporter per data instance and per Sentinel, the Prometheus
scrape targets that name them, and the alert rules that read them.

Pure functions of the deployment model (:class:`Topology`); the filters in plugins/filter/exporter.py expose them.
The alert rules are data here so that the file shipped with the collection (roles/exporter/files/) and the copy
written for an inventory come from one definition (tests/unit check that the shipped file is up to date).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any, Mapping

from ansible_collections.ha.redis.plugins.module_utils._common import HaRedisError
from ansible_collections.ha.redis.plugins.module_utils._topology import Topology

# The exporter of an instance listens on the instance's port + this offset (6379 -> 9379, 26379 -> 29379).
DEFAULT_PORT_OFFSET = 3000
# Labels every scrape target carries (the rules read them).
LABEL_GROUP = "ha_redis_group"
LABEL_ROLE = "ha_redis_role"
LABEL_HOST = "ha_redis_host"
RUNBOOK = "docs/operations.md"
_DURATION = re.compile(r"^([0-9]+(ms|s|m|h|d|w|y))+$")


class ExporterError(HaRedisError):
    """The exporter settings do not fit the deployment."""


@dataclass(frozen=True)
class ExporterInstance:
    """One exporter: the unit instance name, what it scrapes and where it listens."""

    name: str
    role: str              # "data" or "sentinel"
    group: str             # the replication group; for a Sentinel, every group it monitors, comma-separated
    host: str
    port: int              # the port of the Redis instance or the Sentinel (scraped over loopback)
    listen_address: str
    listen_port: int

    @property
    def target(self) -> str:
        host = "[%s]" % self.listen_address if ":" in self.listen_address else self.listen_address
        return "%s:%d" % (host, self.listen_port)


def _port(value: Any, what: str) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = -1
    if not 0 <= port <= 65535:
        raise ExporterError("The %s must be a port number offset (0-65535); got %r." % (what, value))
    return port


def host_exporters(topo: Topology, host: str, offset: Any = DEFAULT_PORT_OFFSET, sentinel_instance: str = "ha",
                   listen_address: str = "") -> list[ExporterInstance]:
    """The exporters of ``host``: one per replication group it serves, one per Redis Cluster node it runs (the
    cluster's name as its group), then one for its Sentinel (if any)."""
    offset = _port(offset, "redis_exporter_port_offset")
    address = listen_address or topo.address_of(host)
    found = [ExporterInstance(name=i["name"], role="data", group=i["cluster"] or i["name"], host=host, port=i["port"],
                              listen_address=address, listen_port=i["port"] + offset)
             for i in topo.host_instances(host)]
    if host in topo.sentinel_hosts:
        port = topo.sentinel_ports[host]
        found.append(ExporterInstance(name="sentinel-%s" % sentinel_instance, role="sentinel",
                                      group=",".join(topo.group_names), host=host, port=port,
                                      listen_address=address, listen_port=port + offset))
    taken = {}
    for port in topo.host_ports(host):
        taken[port] = "a Redis or Sentinel port"
    for item in found:
        if item.listen_port > 65535:
            raise ExporterError("The exporter of %s on %s would listen on port %d; expected a port up to 65535 "
                                "(lower redis_exporter_port_offset)." % (item.name, host, item.listen_port))
        if item.listen_port in taken:
            raise ExporterError("The exporter of %s on %s would listen on port %d, already %s; choose another "
                                "redis_exporter_port_offset." % (item.name, host, item.listen_port,
                                                                 taken[item.listen_port]))
        taken[item.listen_port] = "the exporter of %s" % item.name
    return found


def scrape_targets(topo: Topology, offset: Any = DEFAULT_PORT_OFFSET, sentinel_instance: str = "ha",
                   listen_addresses: Mapping[str, str] | None = None) -> list[dict]:
    """Prometheus file_sd entries: one per exporter of the deployment, with the labels the rules read."""
    entries = []
    hosts = list(dict.fromkeys(topo.data_hosts + topo.sentinel_hosts))
    for host in hosts:
        for item in host_exporters(topo, host, offset, sentinel_instance, (listen_addresses or {}).get(host, "")):
            entries.append({"targets": [item.target],
                            "labels": {LABEL_GROUP: item.group, LABEL_ROLE: item.role, LABEL_HOST: host}})
    return entries


def exporter_dicts(items: list[ExporterInstance]) -> list[dict]:
    return [dict(asdict(i), target=i.target) for i in items]


# --- alert rules -------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AlertSettings:
    """The thresholds and durations of the alert rules (the role's redis_exporter_alert_* variables)."""

    pending: str = "1m"              # how long a condition must hold before most alerts fire
    down_pending: str = "30s"        # the same for an instance or exporter that does not answer
    failover_window: str = "15m"     # how long the failover alert stays on after the primary changed
    max_lag_bytes: int = 1048576     # a replica further behind than this is lagging (as the gate's bound)
    memory_ratio: float = 0.9        # used memory over maxmemory above this is "near maxmemory"
    rejected_window: str = "5m"      # rejected connections counted over this window
    backup_max_age: int = 7200       # seconds since a group's last successful backup (roles/backup's timers)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> AlertSettings:
        values = dict(values or {})
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise ExporterError("Unknown alert setting(s) %s; expected some of %s."
                                % (", ".join(unknown), ", ".join(cls.__dataclass_fields__)))
        base = cls()
        for name in ("pending", "down_pending", "failover_window", "rejected_window"):
            text = str(values.get(name, getattr(base, name)))
            if not _DURATION.match(text):
                raise ExporterError("The alert setting %s must be a Prometheus duration such as 30s or 5m; got %r."
                                    % (name, text))
            values[name] = text
        try:
            values["max_lag_bytes"] = int(values.get("max_lag_bytes", base.max_lag_bytes))
            values["memory_ratio"] = float(values.get("memory_ratio", base.memory_ratio))
            values["backup_max_age"] = int(values.get("backup_max_age", base.backup_max_age))
        except (TypeError, ValueError) as exc:
            raise ExporterError("The alert settings max_lag_bytes and memory_ratio must be numbers: %s."
                                % exc) from None
        if values["max_lag_bytes"] <= 0 or not 0 < values["memory_ratio"] <= 1:
            raise ExporterError("Expected max_lag_bytes > 0 and 0 < memory_ratio <= 1; got %s and %s."
                                % (values["max_lag_bytes"], values["memory_ratio"]))
        return cls(**values)


def _rule(name, expr, severity, summary, pending=None, description=""):
    rule = {"alert": name, "expr": expr}
    if pending:
        rule["for"] = pending
    rule["labels"] = {"severity": severity}
    rule["annotations"] = {"summary": summary, "description": description,
                           "runbook": "%s#%s" % (RUNBOOK, name.lower())}
    return rule


def _seconds_text(seconds):
    """7200 -> "2h", 5400 -> "90m", 45 -> "45s"."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return "%d%s" % (seconds // size, unit)
    return "%ds" % seconds


def _groups_matcher(topo: Topology | None, label: str) -> str:
    if topo is None:
        return ""
    return '%s=~"%s"' % (label, "|".join(re.escape(n) for n in topo.group_names))


def alert_rules(settings: Mapping[str, Any] | None = None, topo: Topology | None = None) -> dict:
    """The Prometheus rules file, as data. Without ``topo``: the generic file shipped with the collection (every
    Sentinel-monitored group, quorum as Sentinel's CKQUORUM says). With ``topo``: the inventory's copy, limited
    to its groups and also checking the reachable Sentinels against the inventory's quorum."""
    s = AlertSettings.from_mapping(settings)
    data = 'ha_redis_role="data"'
    data_groups = ", ".join(x for x in (data, _groups_matcher(topo, "ha_redis_group")) if x)
    info = "redis_instance_info{%s, role=\"%%s\"}" % data_groups
    sentinel = 'ha_redis_role="sentinel"'
    masters = ", ".join(x for x in (sentinel, _groups_matcher(topo, "master_name")) if x)
    status = "redis_sentinel_master_status{%s}" % masters
    inst = "{{ $labels.instance }}"
    host = "{{ $labels.ha_redis_host }}"
    group = "{{ $labels.ha_redis_group }}"
    mgroup = "{{ $labels.master_name }}"
    quorum_expr = "redis_sentinel_master_ckquorum_status{%s} == 0" % masters
    backup = "{%s}" % _groups_matcher(topo, "ha_redis_group") if topo is not None else ""
    if topo is not None:
        quorum_expr = "(%s)\nor\nredis_sentinel_master_ok_sentinels{%s} < %d" % (quorum_expr, masters, topo.quorum)
    rules = [
        _rule("RedisInstanceDown",
              "redis_up{ha_redis_role=~\"data|sentinel\"} == 0", "critical",
              "Redis %s of group %s on %s (%s) is down." % ("{{ $labels.ha_redis_role }}", group, host, inst),
              s.down_pending,
              "The exporter answers but cannot reach its Redis instance or Sentinel."),
        _rule("RedisExporterDown",
              "up{ha_redis_role=~\"data|sentinel\"} == 0", "warning",
              "The exporter of group %s on %s (%s) does not answer." % (group, host, inst),
              s.down_pending,
              "Prometheus cannot scrape the exporter: its unit is stopped or the port is filtered."),
        _rule("RedisGroupWithoutPrimary",
              "%s == 0" % status, "critical",
              "Sentinel %s sees no healthy primary for group %s (status %s)."
              % (inst, mgroup, "{{ $labels.master_status }}"),
              s.pending,
              "The primary is subjectively or objectively down and no failover has replaced it."),
        _rule("RedisSentinelsDisagree",
              "count by (master_name) (count by (master_name, master_address) (%s)) > 1" % status, "critical",
              "The Sentinels name {{ $value }} different primaries for group %s (as seen through %s)."
              % (mgroup, "the Sentinels' exporters"),
              s.pending,
              "Sentinels that disagree for longer than a failover takes point at a partition or a split brain."),
        _rule("RedisSentinelQuorumLost",
              quorum_expr, "critical",
              "Sentinel %s cannot reach the quorum or a majority for group %s." % (inst, mgroup),
              s.pending,
              "A failover of this group would not be authorised: too few Sentinels are reachable."),
        _rule("RedisFailover",
              "max by (ha_redis_group, ha_redis_host, instance) (%s)\nand on (instance)\n"
              "max by (instance) (count_over_time(%s[%s]))"
              % (info % "master", info % "slave", s.failover_window), "warning",
              "Group %s failed over: %s (%s) was promoted to primary within the last %s."
              % (group, host, inst, s.failover_window),
              None,
              "A replica became the primary (Sentinel failover or switchover); the alert resolves by itself %s "
              "later." % s.failover_window),
        _rule("RedisReplicaLinkDown",
              "redis_master_link_up{%s} == 0" % data, "critical",
              "Replica %s of group %s (%s) lost its link to the primary %s:%s."
              % (host, group, inst, "{{ $labels.master_host }}", "{{ $labels.master_port }}"),
              s.pending,
              "The replica is not replicating: it serves stale data and does not count for min-replicas-to-write."),
        _rule("RedisReplicaLagging",
              "redis_master_repl_offset{%s}\n- on (instance) group_right ()\nredis_connected_slave_offset_bytes{%s}\n"
              "> %d" % (data, data, s.max_lag_bytes), "warning",
              "Replica %s:%s of group %s is {{ $value | humanize1024 }}B behind its primary %s."
              % ("{{ $labels.slave_ip }}", "{{ $labels.slave_port }}", group, inst),
              s.pending,
              "A failover now would lose the writes the replica has not received."),
        _rule("RedisSentinelTilt",
              "redis_sentinel_tilt{%s} > 0" % sentinel, "warning",
              "Sentinel %s (groups %s) is in TILT mode." % (inst, group),
              None,
              "The Sentinel saw its clock jump or the host stall; it acts on nothing for 30 s."),
        _rule("RedisMemoryNearMax",
              "redis_memory_used_bytes{%s} / (redis_memory_max_bytes{%s} > 0) > %s" % (data, data, s.memory_ratio),
              "warning",
              "Redis of group %s on %s (%s) uses {{ $value | humanizePercentage }} of its maxmemory."
              % (group, host, inst),
              s.pending,
              "At maxmemory Redis evicts keys or rejects writes, as maxmemory-policy says."),
        _rule("RedisRejectedConnections",
              "increase(redis_rejected_connections_total{%s}[%s]) > 0" % (data, s.rejected_window), "warning",
              "Redis of group %s on %s (%s) rejected {{ $value | humanize }} connections in %s."
              % (group, host, inst, s.rejected_window),
              None,
              "The instance reached maxclients; clients get errors."),
        _rule("RedisRdbSaveFailed",
              "redis_rdb_last_bgsave_status{%s} == 0" % data, "critical",
              "The last RDB save of group %s on %s (%s) failed." % (group, host, inst),
              None,
              "Redis cannot write its snapshot (disk full or not writable); with stop-writes-on-bgsave-error "
              "it refuses writes."),
        _rule("RedisAofWriteFailed",
              "redis_aof_last_write_status{%s} == 0 or redis_aof_last_bgrewrite_status{%s} == 0" % (data, data),
              "critical",
              "The append-only file of group %s on %s (%s) cannot be written or rewritten." % (group, host, inst),
              None,
              "Redis cannot append to or rewrite its AOF; acknowledged writes may not be durable."),
        # Backups (roles/backup): the timers' node_exporter textfile metrics, one series per data node and group;
        # the group's newest success counts, whichever node took it.
        _rule("RedisBackupTooOld",
              "time() - max by (ha_redis_group) (ha_redis_backup_last_success_timestamp_seconds%s) > %d"
              % (backup, s.backup_max_age), "warning",
              "The last backup of group %s is {{ $value | humanizeDuration }} old (expected at most %s)."
              % (group, _seconds_text(s.backup_max_age)),
              s.pending,
              "No node of the group has taken a snapshot for longer than the schedule allows: the recovery point "
              "grows. See the timers' journal (journalctl -u 'ha-redis-backup@*')."),
        _rule("RedisBackupFailed",
              "max by (ha_redis_group) (ha_redis_backup_last_failure_timestamp_seconds%s)\n"
              "> max by (ha_redis_group) (ha_redis_backup_last_success_timestamp_seconds%s)" % (backup, backup),
              "warning",
              "The last backup run of group %s failed." % group,
              None,
              "A backup timer failed after the group's last successful snapshot (repository, password, no replica "
              "in sync); the journal of ha-redis-backup@<group>.service says why."),
    ]
    name = "ha-redis" if topo is None else "ha-redis-inventory"
    return {"groups": [{"name": name, "rules": rules}]}


def alert_names() -> list[str]:
    return [r["alert"] for r in alert_rules()["groups"][0]["rules"]]
