# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Redis Clusters of the deployment model (``redis_clusters``). Pure: no I/O.

Private to the collection. A cluster is declared like a replication group: a name, a first port, the number of
instances each of its hosts runs (ports ``port`` .. ``port + instances - 1``; the cluster bus listens on each
port + 10000), the replicas of each primary, and its hosts (default: every host of group ``redis``). Each node is
an instance of the data node role named ``<cluster>-<port>`` (unit, files, data directory) with
``cluster-enabled yes``; Redis owns its ``nodes.conf``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

BUS_PORT_OFFSET = 10000
MIN_PRIMARIES = 3


@dataclass(frozen=True)
class Cluster:
    """One Redis Cluster: its nodes are ``instances`` ports on each of ``hosts``."""

    name: str
    port: int
    instances: int = 1
    replicas: int = 1
    hosts: tuple = ()
    config: Mapping = field(default_factory=dict)
    static_config: Mapping = field(default_factory=dict)

    @property
    def ports(self) -> list[int]:
        return [self.port + i for i in range(self.instances)] if self.port else []

    @property
    def node_count(self) -> int:
        return len(self.hosts) * self.instances

    @property
    def primaries(self) -> int:
        """Primaries the declared nodes make: one per ``replicas + 1`` nodes."""
        return self.node_count // (self.replicas + 1)

    def instance_name(self, port: int) -> str:
        return "%s-%d" % (self.name, port)

    def nodes(self) -> list[tuple]:
        """``(host, port)`` of every node, host by host in inventory order."""
        return [(host, port) for host in self.hosts for port in self.ports]


def _number(raw: Mapping, key: str, default: int, low: int, high: int, where: str, problems: list) -> int:
    value = raw.get(key, default)
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or not low <= int(text) <= high:
        problems.append("%s.%s is %r; expected a number from %d to %d." % (where, key, value, low, high))
        return default if low <= default <= high else low
    return int(text)


def parse_cluster(index: int, raw: Any, data_hosts: tuple, parse_names) -> tuple:
    """``(Cluster, problems)`` from one entry of ``redis_clusters``; ``None`` when it is not a mapping."""
    if not isinstance(raw, Mapping) or not raw.get("name"):
        return None, ["redis_clusters[%d] is %r; expected a mapping with name and port." % (index, raw)]
    name = str(raw["name"])
    where = "redis_clusters[%s]" % name
    problems = []
    port = _number(raw, "port", 0, 1, 65535 - BUS_PORT_OFFSET, where, problems)
    instances = _number(raw, "instances", 1, 1, 64, where, problems)
    replicas = _number(raw, "replicas", 1, 0, 8, where, problems)
    if port and port + instances - 1 > 65535 - BUS_PORT_OFFSET:
        problems.append("%s: ports %d-%d leave no room for the cluster bus (port + %d); expected ports up to %d."
                        % (where, port, port + instances - 1, BUS_PORT_OFFSET, 65535 - BUS_PORT_OFFSET))
    hosts = tuple(parse_names(raw["hosts"])) if raw.get("hosts") is not None else data_hosts
    if not hosts or set(hosts) - set(data_hosts):
        problems.append("%s: hosts are %s; expected hosts of group redis." % (where, list(hosts)))
    cluster = Cluster(name=name, port=port, instances=instances, replicas=replicas, hosts=hosts,
                      config=dict(raw.get("config") or {}), static_config=dict(raw.get("static_config") or {}))
    if cluster.node_count % (replicas + 1):
        problems.append("%s: %d nodes (%d host(s) x %d instance(s)) do not split into primaries with %d replica(s) "
                        "each; expected a multiple of %d nodes." % (where, cluster.node_count, len(hosts), instances,
                                                                    replicas, replicas + 1))
    elif cluster.primaries < MIN_PRIMARIES:
        problems.append("%s: %d nodes with %d replica(s) each make %d primaries; a Redis Cluster needs at least %d "
                        "(add hosts or instances)." % (where, cluster.node_count, replicas, cluster.primaries,
                                                       MIN_PRIMARIES))
    if hosts and replicas + 1 > len(hosts):
        problems.append("%s: %d replica(s) per primary need %d hosts so that no replica shares its primary's host; "
                        "got %d." % (where, replicas, replicas + 1, len(hosts)))
    return cluster, problems


def module_nodes(cluster: Cluster, address_of) -> list[dict]:
    """The cluster's nodes in the cluster modules' form: ``host`` (the public address), ``port``,
    ``inventory_host``."""
    return [dict(host=address_of(host), port=port, inventory_host=host) for host, port in cluster.nodes()]


def cluster_dict(cluster: Cluster, address_of) -> dict:
    """Plain data for Jinja and for the cluster modules: ``nodes`` in the modules' form (``host``: the public
    address, ``port``, ``inventory_host``), ``node_names`` per inventory host (its instances in roles/server)."""
    return dict(
        name=cluster.name, port=cluster.port, instances=cluster.instances, replicas=cluster.replicas,
        hosts=list(cluster.hosts), ports=cluster.ports, config=dict(cluster.config),
        static_config=dict(cluster.static_config), primaries=cluster.primaries,
        nodes=module_nodes(cluster, address_of),
        node_names={host: [cluster.instance_name(port) for port in cluster.ports] for host in cluster.hosts},
    )


def cluster_from_dict(data: Mapping) -> Cluster:
    return Cluster(name=data["name"], port=int(data["port"]), instances=int(data["instances"]),
                   replicas=int(data["replicas"]), hosts=tuple(data["hosts"]), config=dict(data["config"]),
                   static_config=dict(data["static_config"]))
