# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One typed model of a deployment, built from the inventory. Pure: no I/O.

Private to the collection: the interface may change between releases.

:func:`build_topology` turns the inventory (the ``groups`` mapping, a few variables of each host and
``redis_primary_groups``) into a :class:`Topology`: the replication groups and their hosts, each host's groups and
public address, the Sentinels and their endpoints, the quorum, and the problems the preflight role rejects. The
decisions taken on it (which primary, whether a bootstrap is safe, a decommission's guard rails, an upgrade order)
are in ``_topology_decisions.py``; the ``ha.redis`` topology filters expose both to roles and playbooks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Iterable, Mapping

from ansible_collections.ha.redis.plugins.module_utils._common import DEFAULT_SENTINEL_PORT, HaRedisError
from ansible_collections.ha.redis.plugins.module_utils._sentinel_model import address, majority
from ansible_collections.ha.redis.plugins.module_utils._topology_clusters import (
    BUS_PORT_OFFSET,
    Cluster,
    cluster_dict,
    cluster_from_dict,
    parse_cluster,
)

DATA_GROUP = "redis"
SENTINEL_GROUP = "redis_sentinel"
NO_DATA_GROUP = ("The inventory has no host in group %s: put the data nodes in a group named %s, the name the roles "
                 "and playbooks read.")
GROUP_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
DEFAULT_MIN_REPLICAS_MAX_LAG = 10
# The host variables the model reads (the filter passes only these).
HOST_KEYS = ("redis_announce_ip", "redis_address", "ansible_host", "redis_sentinel_port")


class TopologyError(HaRedisError):
    """The inventory or an answer cannot be modelled; ``str()`` names the group or host, expected and seen."""


def parse_names(value: Any) -> list[str]:
    """``-e a,b`` (a comma-separated string) or a list -> the trimmed, non-empty names, in order."""
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, (list, tuple)) else [value]
    return [str(item).strip() for item in items if str(item).strip()]


def to_int(value: Any, default: int = 0) -> int:
    """Jinja's ``int`` filter: ``"2"`` and ``2.0`` are 2; anything else is ``default``."""
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return default


def quorum_for(setting: Any, sentinels: int) -> int:
    """``redis_sentinel_quorum`` when set (``""`` is unset), else a majority of ``sentinels``."""
    text = "" if setting is None else str(setting)
    return to_int(text) if text else majority(sentinels)


def public_address(host: str, hostvars: Mapping[str, Any]) -> str:
    """What other nodes, Sentinels and clients use for ``host``: ``redis_announce_ip``, else ``redis_address``,
    else ``ansible_host``, else the inventory name."""
    return str(hostvars.get("redis_announce_ip") or hostvars.get("redis_address")
               or (hostvars["ansible_host"] if "ansible_host" in hostvars else host))


@dataclass(frozen=True)
class Group:
    """One replication group (a Sentinel master name): its port and its data hosts, in inventory order."""

    name: str
    port: int
    initial_primary: str
    hosts: tuple = ()
    explicit_hosts: bool = False  # ``hosts`` was given (else: every host of group ``redis``)
    config: Mapping = field(default_factory=dict)
    static_config: Mapping = field(default_factory=dict)
    min_replicas_to_write: Any = None  # this group's own setting, None: the global one
    min_replicas_max_lag: Any = None

    @property
    def replicas(self) -> int:
        """Replicas the group has when every host runs: all hosts but the primary."""
        return max(len(self.hosts) - 1, 0)


def min_replicas_to_write(group: Group, default: Any = 0) -> tuple:
    """``(value, problem)``: the group's ``min_replicas_to_write``, else ``default`` (an int or ``auto``).

    ``auto`` is 1 when the group has a replica, else 0. ``problem`` is None, or one sentence when the value is not
    a number of replicas or is more than the group has (the primary would then refuse every write).
    """
    value = default if group.min_replicas_to_write is None else group.min_replicas_to_write
    if value == "auto":
        return (1 if group.replicas >= 1 else 0), None
    number = to_int(value, -1) if not isinstance(value, bool) and str(value).strip().isdigit() else -1
    if number < 0:
        return 0, ("Group %s: min_replicas_to_write is %r; expected a number of replicas or auto."
                   % (group.name, value))
    if number > group.replicas:
        return number, ("Group %s: min_replicas_to_write is %d, more than its %d replica(s); expected at most %d, "
                        "or the primary refuses every write." % (group.name, number, group.replicas, group.replicas))
    return number, None


def min_replicas_max_lag(group: Group, default: Any = DEFAULT_MIN_REPLICAS_MAX_LAG) -> tuple:
    """``(seconds, problem)``: the group's ``min_replicas_max_lag``, else ``default``; a number of seconds."""
    value = default if group.min_replicas_max_lag is None else group.min_replicas_max_lag
    if isinstance(value, bool) or not str(value).strip().isdigit():
        return DEFAULT_MIN_REPLICAS_MAX_LAG, ("Group %s: min_replicas_max_lag is %r; expected a number of seconds."
                                              % (group.name, value))
    return int(value), None


@dataclass(frozen=True)
class Topology:
    """The deployment the inventory describes. Build it with :func:`build_topology`."""

    groups: tuple
    data_hosts: tuple
    sentinel_hosts: tuple
    addresses: Mapping  # host -> public address, for every host the inventory names
    sentinel_ports: Mapping  # Sentinel host -> port
    quorum_setting: str = ""
    allow_even: bool = False
    min_replicas_to_write: Any = 0  # the global settings (``auto`` allowed for the first)
    min_replicas_max_lag: Any = DEFAULT_MIN_REPLICAS_MAX_LAG
    problems: tuple = ()  # what the preflight role rejects, one sentence each (of the inventory as given)
    clusters: tuple = ()  # the Redis Clusters (``redis_clusters``), see _topology_clusters.py

    @property
    def group_names(self) -> list[str]:
        return [g.name for g in self.groups]

    def group(self, name: str) -> Group:
        for g in self.groups:
            if g.name == name:
                return g
        raise TopologyError("Group %s is not in redis_primary_groups; expected one of %s."
                            % (name, ", ".join(self.group_names) or "none"))

    def host_groups(self, host: str) -> list[Group]:
        """The groups ``host`` serves as a data node, in inventory order."""
        return [g for g in self.groups if host in g.hosts]

    def host_clusters(self, host: str) -> list[Cluster]:
        """The Redis Clusters ``host`` runs nodes of."""
        return [c for c in self.clusters if host in c.hosts]

    def host_ports(self, host: str) -> list[int]:
        """The ports ``host`` listens on: its groups', its cluster nodes' and their buses', then its Sentinel's."""
        ports = [g.port for g in self.host_groups(host)]
        for cluster in self.host_clusters(host):
            ports += cluster.ports + [p + BUS_PORT_OFFSET for p in cluster.ports]
        return ports + ([self.sentinel_ports[host]] if host in self.sentinel_hosts else [])

    def cluster_min_replicas_to_write(self, cluster: Cluster) -> int:
        """A cluster primary's ``min-replicas-to-write``: ``auto`` is 1 when each primary has 2 replicas or more,
        else 0 (with one replica, every lost replica, and the first failover, would stop the shard's writes)."""
        value = self.min_replicas_to_write
        if value == "auto":
            return 1 if cluster.replicas >= 2 else 0
        return min(to_int(value, 0), cluster.replicas)

    def host_instances(self, host: str) -> list[dict]:
        """Every data instance of ``host`` (what roles/server writes and starts): its groups, then its cluster
        nodes (``cluster``: the cluster's name, ``''`` for a group)."""
        instances = [dict(self.group_dict(g), cluster="") for g in self.host_groups(host)]
        # A cluster has no min_replicas_max_lag of its own: the global one, checked like a group's.
        max_lag, _problem = min_replicas_max_lag(Group(name="", port=0, initial_primary=""), self.min_replicas_max_lag)
        for cluster in self.host_clusters(host):
            for port in cluster.ports:
                instances.append(dict(name=cluster.instance_name(port), port=port, cluster=cluster.name,
                                      config=dict(cluster.config), static_config=dict(cluster.static_config),
                                      min_replicas_to_write=self.cluster_min_replicas_to_write(cluster),
                                      min_replicas_max_lag=max_lag))
        return instances

    def address_of(self, host: str) -> str:
        if host not in self.addresses:
            raise TopologyError("Host %s is not in the inventory; expected a host of group %s or %s."
                                % (host, DATA_GROUP, SENTINEL_GROUP))
        return self.addresses[host]

    @property
    def address_to_host(self) -> dict[str, str]:
        """Public address -> data host (how Sentinel's answers are read back)."""
        return {self.addresses[h]: h for h in self.data_hosts}

    def endpoint(self, group: Group, host: str) -> str:
        """``address:port`` of ``host`` in ``group`` (``[v6]:port``), as Sentinel reports it."""
        return address(self.address_of(host), group.port)

    @property
    def sentinel_endpoints(self) -> list[dict]:
        return [dict(host=self.addresses[h], port=self.sentinel_ports[h]) for h in self.sentinel_hosts]

    @property
    def quorum(self) -> int:
        return quorum_for(self.quorum_setting, len(self.sentinel_hosts))

    @property
    def expected_replicas(self) -> dict[str, int]:
        """What the gate expects of each group: all its hosts but the primary."""
        return {g.name: len(g.hosts) - 1 for g in self.groups}

    def without(self, hosts: Iterable[str] = (), groups: Iterable[str] = ()) -> Topology:
        """What remains once ``hosts`` are retired and ``groups`` removed (``problems`` stay those of the whole)."""
        gone, dropped = set(hosts), set(groups)
        return replace(
            self,
            groups=tuple(replace(g, hosts=tuple(h for h in g.hosts if h not in gone))
                         for g in self.groups if g.name not in dropped),
            clusters=tuple(replace(c, hosts=tuple(h for h in c.hosts if h not in gone))
                           for c in self.clusters if c.name not in dropped),
            data_hosts=tuple(h for h in self.data_hosts if h not in gone),
            sentinel_hosts=tuple(h for h in self.sentinel_hosts if h not in gone),
        )

    def group_dict(self, g: Group) -> dict:
        to_write, _problem = min_replicas_to_write(g, self.min_replicas_to_write)
        max_lag, _problem = min_replicas_max_lag(g, self.min_replicas_max_lag)
        return dict(name=g.name, port=g.port, initial_primary=g.initial_primary, hosts=list(g.hosts),
                    explicit_hosts=g.explicit_hosts, config=dict(g.config), static_config=dict(g.static_config),
                    replicas=len(g.hosts) - 1, endpoints={h: self.endpoint(g, h) for h in g.hosts},
                    min_replicas_to_write=to_write, min_replicas_max_lag=max_lag,
                    overrides=dict(min_replicas_to_write=g.min_replicas_to_write,
                                   min_replicas_max_lag=g.min_replicas_max_lag))

    def to_dict(self) -> dict:
        """Plain data for Jinja: the inputs (read back by :meth:`from_dict`) and every derived value."""
        hosts = list(dict.fromkeys(self.data_hosts + self.sentinel_hosts))
        return dict(
            groups=[self.group_dict(g) for g in self.groups],
            group_names=self.group_names,
            data_hosts=list(self.data_hosts),
            sentinel_hosts=list(self.sentinel_hosts),
            addresses=dict(self.addresses),
            address_to_host=self.address_to_host,
            sentinel_ports=dict(self.sentinel_ports),
            sentinel_endpoints=self.sentinel_endpoints,
            host_groups={h: [g.name for g in self.host_groups(h)] for h in hosts},
            clusters=[cluster_dict(c, self.address_of) for c in self.clusters],
            cluster_names=[c.name for c in self.clusters],
            host_instances={h: self.host_instances(h) for h in hosts},
            host_ports={h: self.host_ports(h) for h in hosts},
            expected_replicas=self.expected_replicas,
            quorum_setting=self.quorum_setting,
            quorum=self.quorum,
            majority=majority(len(self.sentinel_hosts)),
            allow_even=self.allow_even,
            min_replicas_to_write_default=self.min_replicas_to_write,
            min_replicas_max_lag_default=self.min_replicas_max_lag,
            problems=list(self.problems),
        )

    @classmethod
    def from_dict(cls, data: Mapping) -> Topology:
        """The model again from :meth:`to_dict`'s output (a filter's result passed to the next filter)."""
        try:
            groups = tuple(
                Group(name=g["name"], port=int(g["port"]), initial_primary=g["initial_primary"],
                      hosts=tuple(g["hosts"]), explicit_hosts=bool(g["explicit_hosts"]), config=dict(g["config"]),
                      static_config=dict(g["static_config"]), **dict(g["overrides"]))
                for g in data["groups"])
            return cls(groups=groups, data_hosts=tuple(data["data_hosts"]),
                       sentinel_hosts=tuple(data["sentinel_hosts"]), addresses=dict(data["addresses"]),
                       sentinel_ports={h: int(p) for h, p in data["sentinel_ports"].items()},
                       quorum_setting=str(data["quorum_setting"]), allow_even=bool(data["allow_even"]),
                       min_replicas_to_write=data["min_replicas_to_write_default"],
                       min_replicas_max_lag=data["min_replicas_max_lag_default"], problems=tuple(data["problems"]),
                       clusters=tuple(cluster_from_dict(c) for c in data.get("clusters") or []))
        except (KeyError, TypeError, ValueError) as exc:
            raise TopologyError("The topology model is not valid: expected the output of ha.redis.topology, "
                                "missing or wrong %s." % exc) from None


def _parse_group(index: int, raw: Any, data_hosts: tuple) -> tuple:
    """``(Group, problems)`` from one entry of ``redis_primary_groups``."""
    if not isinstance(raw, Mapping) or "name" not in raw:
        raise TopologyError("redis_primary_groups[%d] is %r; expected a mapping with name, port and "
                            "initial_primary." % (index, raw))
    name = str(raw["name"])
    problems = []
    port_text = str(raw.get("port", ""))
    port = int(port_text) if port_text.isdigit() else 0
    if not 1 <= port <= 65535:
        problems.append("redis_primary_groups[%s].port is %s; expected a port number 1-65535."
                        % (name, raw.get("port", "")))
        port = 0
    explicit = raw.get("hosts") is not None
    hosts = tuple(parse_names(raw["hosts"])) if explicit else data_hosts
    initial = str(raw.get("initial_primary") or "")
    if not hosts or set(hosts) - set(data_hosts) or initial not in hosts:
        problems.append("redis_primary_groups[%s]: initial_primary is '%s' and hosts are %s; expected hosts of "
                        "group %s and an initial_primary that is one of them." % (name, initial, list(hosts),
                                                                                  DATA_GROUP))
    group = Group(name=name, port=port, initial_primary=initial, hosts=hosts, explicit_hosts=explicit,
                  config=dict(raw.get("config") or {}), static_config=dict(raw.get("static_config") or {}),
                  min_replicas_to_write=raw.get("min_replicas_to_write"),
                  min_replicas_max_lag=raw.get("min_replicas_max_lag"))
    return group, problems


def _inventory_problems(topo: Topology) -> list[str]:
    """The Sentinel count, the quorum and the group names, as the preflight role checks them."""
    problems = []
    count = len(topo.sentinel_hosts)
    # Only Redis Clusters: no Sentinel is needed (a cluster fails over by itself).
    count_checked = bool(topo.groups) or not topo.clusters
    if count_checked and count == 0:
        # One sentence for a missing group (a quorum of 0 Sentinels says nothing more).
        problems.append("The inventory has no host in group %s: put the Sentinels (at least 3, an odd number) in a "
                        "group named %s, the name the roles and playbooks read." % (SENTINEL_GROUP, SENTINEL_GROUP))
        count_checked = False
    if count_checked and (count < 3 or (count % 2 == 0 and not topo.allow_even)):
        problems.append("Group %s has %d host(s): at least 3 and an odd number are needed (set "
                        "redis_sentinel_allow_even: true to accept an even count)." % (SENTINEL_GROUP, count))
    if count_checked and ((topo.quorum_setting and not topo.quorum_setting.isdigit())
                          or not 1 <= topo.quorum <= count):
        problems.append("redis_sentinel_quorum=%s must be a number between 1 and the %d Sentinels of group %s."
                        % (topo.quorum_setting, count, SENTINEL_GROUP))
    names = topo.group_names + [c.name for c in topo.clusters]
    instances = names + [c.instance_name(p) for c in topo.clusters for p in c.ports]
    if (not names or len(set(names)) != len(names) or len(set(instances)) != len(instances)
            or not all(GROUP_NAME.match(n) for n in names)):
        problems.append("redis_primary_groups and redis_clusters: names must be unique (a cluster's nodes are named "
                        "<cluster>-<port>) and match [A-Za-z0-9._-]+; got %s." % names)
    return problems


def _min_replicas_problems(topo: Topology) -> list[str]:
    """Each group's min_replicas_to_write and min_replicas_max_lag: one sentence per group with a wrong one."""
    problems = []
    for g in topo.groups:
        wrong = min_replicas_to_write(g, topo.min_replicas_to_write)[1] or min_replicas_max_lag(
            g, topo.min_replicas_max_lag)[1]
        if wrong:
            to_write = topo.min_replicas_to_write if g.min_replicas_to_write is None else g.min_replicas_to_write
            max_lag = topo.min_replicas_max_lag if g.min_replicas_max_lag is None else g.min_replicas_max_lag
            problems.append("redis_primary_groups[%s]: min_replicas_to_write is '%s' and min_replicas_max_lag '%s' (or "
                            "redis_min_replicas_to_write / redis_min_replicas_max_lag); expected 'auto' or a number "
                            "from 0 to the group's %d replica(s) (a primary would refuse every write otherwise), and a "
                            "number of seconds." % (g.name, to_write, max_lag, g.replicas))
    return problems


def _host_problems(topo: Topology) -> list[str]:
    """Each host's ports: unique on the host, the Sentinel's a port number."""
    problems = []
    for host in dict.fromkeys(topo.data_hosts + topo.sentinel_hosts):
        ports = topo.host_ports(host)
        sentinel_port = topo.sentinel_ports.get(host, DEFAULT_SENTINEL_PORT)
        if len(set(ports)) != len(ports) or not 1 <= sentinel_port <= 65535:
            problems.append("Host %s: ports %s (redis_primary_groups[].port, redis_clusters[] ports with their bus "
                            "ports + %d, redis_sentinel_port) must be unique on the host and between 1 and 65535."
                            % (host, ports, BUS_PORT_OFFSET))
    return problems


def build_topology(groups: Mapping[str, Any], hostvars: Mapping[str, Mapping[str, Any]], primary_groups: Any,
                   quorum: Any = "", allow_even: bool = False, min_replicas_to_write: Any = 0,
                   min_replicas_max_lag: Any = DEFAULT_MIN_REPLICAS_MAX_LAG, clusters: Any = None) -> Topology:
    """The model of an inventory.

    ``groups``: the inventory's groups (``redis``: data nodes, ``redis_sentinel``: Sentinels); ``hostvars``: per
    host, any of :data:`HOST_KEYS`; ``primary_groups``: ``redis_primary_groups``; ``quorum``:
    ``redis_sentinel_quorum``; ``allow_even``: ``redis_sentinel_allow_even``; the ``min_replicas_*`` arguments:
    the global settings that a group's own keys override; ``clusters``: ``redis_clusters``. Raises
    :class:`TopologyError` only when an entry of ``primary_groups`` cannot be read at all, or ``clusters`` is not a
    list; every other fault is a sentence in ``problems``.
    """
    data_hosts = tuple(parse_names(list(groups.get(DATA_GROUP) or [])))
    sentinel_hosts = tuple(parse_names(list(groups.get(SENTINEL_GROUP) or [])))
    if primary_groups is not None and not isinstance(primary_groups, (list, tuple)):
        raise TopologyError("redis_primary_groups is %r; expected a list of groups." % (primary_groups,))
    parsed, problems = [], []
    for index, raw in enumerate(primary_groups or []):
        group, group_problems = _parse_group(index, raw, data_hosts)
        parsed.append(group)
        problems += group_problems
    if clusters is not None and not isinstance(clusters, (list, tuple)):
        raise TopologyError("redis_clusters is %r; expected a list of clusters." % (clusters,))
    parsed_clusters = []
    for index, raw in enumerate(clusters or []):
        cluster, cluster_problems = parse_cluster(index, raw, data_hosts, parse_names)
        problems += cluster_problems
        if cluster is not None:
            parsed_clusters.append(cluster)
    named = data_hosts + sentinel_hosts + tuple(h for g in parsed for h in g.hosts)
    addresses = {h: public_address(h, hostvars.get(h) or {}) for h in dict.fromkeys(named)}
    sentinel_ports = {h: to_int((hostvars.get(h) or {}).get("redis_sentinel_port", DEFAULT_SENTINEL_PORT))
                      for h in sentinel_hosts}
    topo = Topology(groups=tuple(parsed), data_hosts=data_hosts, sentinel_hosts=sentinel_hosts, addresses=addresses,
                    sentinel_ports=sentinel_ports, quorum_setting="" if quorum is None else str(quorum),
                    allow_even=bool(allow_even), min_replicas_to_write=min_replicas_to_write,
                    min_replicas_max_lag=min_replicas_max_lag, clusters=tuple(parsed_clusters))
    problems += _min_replicas_problems(topo)
    if not data_hosts:
        # Every group would say it has no host of group redis: one sentence for the cause instead.
        others = [p for p in problems if "hosts of group %s" % DATA_GROUP not in p]
        problems = [NO_DATA_GROUP % (DATA_GROUP, DATA_GROUP)] + others
    return replace(topo, problems=tuple(_inventory_problems(topo) + problems + _host_problems(topo)))
