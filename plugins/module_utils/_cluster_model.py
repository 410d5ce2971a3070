# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed observations of a Redis Cluster, parsed from CLUSTER NODES, CLUSTER INFO and INFO replication. Pure.

Private to the collection: the interface may change between releases.

Each data node is asked on its own; a :class:`NodeView` is what one node said (or why it did not answer). The
slot map, the node list and the roles are compared between views by the judge (``_cluster_judge``).
CLUSTER NODES is the source of truth here: it exists on every version that has Redis Cluster and it is the only
reply that carries the open (migrating / importing) slots.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ansible_collections.ha.redis.plugins.module_utils._connection import (
    DEFAULT_REDIS_PORT,
    HaRedisError,
    parse_endpoint,
)

SLOTS = 16384
# Flags that mean a node is not a healthy member (CLUSTER NODES).
BAD_FLAGS = ("fail", "fail?", "handshake", "noaddr", "nofailover")
DOWN_FLAGS = ("fail", "fail?")


@dataclass(frozen=True)
class DeclaredNode:
    """A node the operator declared: its address and the inventory host it runs on (anti-affinity)."""

    address: str
    inventory_host: str

    @property
    def endpoint(self):
        return parse_endpoint(self.address, DEFAULT_REDIS_PORT)


def declared_nodes(items, option="nodes"):
    """The ``nodes`` option -> [DeclaredNode], in order, without duplicates.

    An item is ``host:port`` (its inventory host is its host) or a dictionary with ``host``, ``port`` and an
    optional ``inventory_host``.
    """
    result, seen = [], set()
    for item in items or []:
        if isinstance(item, dict):
            unknown = sorted(set(item) - {"host", "port", "inventory_host"})
            if unknown:
                raise HaRedisError("Option %s has an entry with %s, expected only host, port and inventory_host."
                                   % (option, ", ".join(unknown)))
            endpoint = parse_endpoint(item, DEFAULT_REDIS_PORT)
            inventory_host = str(item.get("inventory_host") or endpoint.host)
        else:
            endpoint = parse_endpoint(item, DEFAULT_REDIS_PORT)
            inventory_host = endpoint.host
        if str(endpoint) in seen:
            raise HaRedisError("Option %s lists %s twice, expected each node once." % (option, endpoint))
        seen.add(str(endpoint))
        result.append(DeclaredNode(str(endpoint), inventory_host))
    if not result:
        raise HaRedisError("Option %s is empty, expected the addresses of the cluster's nodes." % option)
    return result


@dataclass
class NodeEntry:
    """One line of CLUSTER NODES: a node as the answering node sees it."""

    id: str
    address: str
    flags: tuple = ()
    primary_id: str | None = None
    config_epoch: int = 0
    link_state: str = "connected"
    slots: tuple = ()                       # ((start, end), ...)
    migrating: dict = field(default_factory=dict)   # slot -> target node id
    importing: dict = field(default_factory=dict)   # slot -> source node id

    @property
    def is_primary(self):
        return "master" in self.flags

    @property
    def myself(self):
        return "myself" in self.flags

    def slot_count(self):
        return sum(end - start + 1 for start, end in self.slots)

    def as_dict(self):
        data = asdict(self)
        data["flags"] = list(self.flags)
        data["slots"] = [list(r) for r in self.slots]
        data["migrating"] = {str(k): v for k, v in self.migrating.items()}
        data["importing"] = {str(k): v for k, v in self.importing.items()}
        return data


def _address(text, fallback):
    """``ip:port@cport[,hostname]`` -> ``ip:port``; a node that does not know its own IP yet says ``:port``."""
    addr = text.split("@", 1)[0].split(",", 1)[0]
    host, _sep, port = addr.rpartition(":")
    if not host:
        return fallback or addr
    if ":" in host:
        return "[%s]:%s" % (host, port)
    return "%s:%s" % (host, port)


def parse_cluster_nodes(text, myself_address=None):
    """CLUSTER NODES text -> [NodeEntry]. ``myself_address`` replaces an empty IP on the ``myself`` line."""
    entries = []
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) < 8:
            continue
        flags = tuple(f for f in parts[2].split(",") if f and f != "noflags")
        entry = NodeEntry(
            id=parts[0],
            address=_address(parts[1], myself_address if "myself" in flags else None),
            flags=flags,
            primary_id=None if parts[3] == "-" else parts[3],
            config_epoch=int(parts[6]) if parts[6].isdigit() else 0,
            link_state=parts[7],
        )
        slots = []
        for token in parts[8:]:
            if token.startswith("["):
                body = token.strip("[]")
                if "->-" in body:
                    slot, target = body.split("->-", 1)
                    entry.migrating[int(slot)] = target
                elif "-<-" in body:
                    slot, source = body.split("-<-", 1)
                    entry.importing[int(slot)] = source
                continue
            start, _sep, end = token.partition("-")
            slots.append((int(start), int(end or start)))
        entry.slots = tuple(slots)
        entries.append(entry)
    return entries


def parse_info_text(text):
    """``key:value`` lines (CLUSTER INFO, or INFO when a client returns text) -> {key: str}."""
    result = {}
    for line in (text or "").splitlines():
        key, sep, value = line.strip().partition(":")
        if sep and not key.startswith("#"):
            result[key] = value
    return result


@dataclass
class NodeView:
    """What one declared node said: its CLUSTER INFO, CLUSTER NODES and INFO replication, or why it did not."""

    address: str
    inventory_host: str | None = None
    reachable: bool = False
    error: str | None = None
    cluster_enabled: bool = True
    info: dict = field(default_factory=dict)
    nodes: list = field(default_factory=list)
    replication: dict = field(default_factory=dict)
    keys: int | None = None

    @property
    def me(self):
        return next((n for n in self.nodes if n.myself), None)

    @property
    def id(self):
        return self.me.id if self.me else None

    @property
    def state(self):
        return self.info.get("cluster_state")

    def known_ids(self):
        """Node ids this node knows as members (handshakes excluded)."""
        return frozenset(n.id for n in self.nodes if "handshake" not in n.flags)

    def slot_map(self):
        """((start, end, owner id), ...) sorted: the slot map as this node sees it."""
        return tuple(sorted((s, e, n.id) for n in self.nodes for s, e in n.slots))

    def roles(self):
        """frozenset((id, primary id or None)): who replicates whom, as this node sees it."""
        return frozenset((n.id, None if n.is_primary else n.primary_id) for n in self.nodes
                         if "handshake" not in n.flags)

    def open_slots(self):
        """[(slot, 'migrating'|'importing', other node id)] on this node itself."""
        me = self.me
        if me is None:
            return []
        return ([(s, "migrating", t) for s, t in sorted(me.migrating.items())]
                + [(s, "importing", t) for s, t in sorted(me.importing.items())])

    def is_empty(self):
        """Knows only itself and serves no slot: a node never joined to a cluster."""
        return self.reachable and len(self.nodes) <= 1 and not (self.me and self.me.slots)

    def as_dict(self):
        me = self.me
        return dict(address=self.address, inventory_host=self.inventory_host, reachable=self.reachable,
                    error=self.error, id=self.id, cluster_state=self.state,
                    role=None if me is None else ("primary" if me.is_primary else "replica"),
                    primary_id=None if me is None else me.primary_id,
                    slots=[] if me is None else [list(r) for r in me.slots],
                    slot_count=0 if me is None else me.slot_count(),
                    flags=[] if me is None else list(me.flags),
                    config_epoch=None if me is None else me.config_epoch,
                    current_epoch=to_int(self.info.get("cluster_current_epoch")),
                    known_nodes=to_int(self.info.get("cluster_known_nodes")),
                    open_slots=[dict(slot=s, state=k, node=t) for s, k, t in self.open_slots()],
                    keys=self.keys)


def reply_text_map(reply):
    """INFO as redis-py parses it (a dict) or as text -> {key: value}."""
    if isinstance(reply, dict):
        return {str(k): v for k, v in reply.items()}
    return parse_info_text(reply if isinstance(reply, str) else "")


def to_int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def slots_to_ranges(slots):
    """Iterable of slot numbers -> [(start, end)] sorted and merged."""
    ranges = []
    for slot in sorted(set(slots)):
        if ranges and ranges[-1][1] == slot - 1:
            ranges[-1] = (ranges[-1][0], slot)
        else:
            ranges.append((slot, slot))
    return ranges


def ranges_to_slots(ranges):
    return [slot for start, end in ranges for slot in range(start, end + 1)]


def owners(view):
    """{slot: owner id} from one view's slot map."""
    result = {}
    for start, end, owner in view.slot_map():
        for slot in range(start, end + 1):
            result[slot] = owner
    return result


def reference_view(views):
    """The view most reachable nodes share (same slot map, node list and roles); ties go to the first declared."""
    counts = {}
    for view in views:
        if view.reachable and view.nodes:
            key = (view.slot_map(), view.known_ids(), view.roles())
            counts.setdefault(key, []).append(view)
    if not counts:
        return None
    return max(counts.values(), key=len)[0]
