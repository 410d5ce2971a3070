# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redis Cluster I/O: read every node's view, and the commands that change a cluster (meet, slots, replicas,
slot migration, open-slot repair).

Private to the collection: the interface may change between releases.

Every change goes through :class:`Operator`, which records the command it ran (or, in check mode, would run)
without any secret, so that modules can return ``commands``.
"""

from __future__ import annotations

import ipaddress
import socket
import time

from ansible_collections.ha.redis.plugins.module_utils._cluster_model import (
    NodeView,
    parse_cluster_nodes,
    parse_info_text,
    reply_text_map,
)
from ansible_collections.ha.redis.plugins.module_utils._connection import (
    DEFAULT_REDIS_PORT,
    HaRedisError,
    connect,
    connection_argument_spec,
    describe_error,
    parse_endpoint,
    run_parallel,
)

# Error replies that mean a step of a slot move was already done (a resumed move repeats it).
ALREADY_DONE = ("already the owner", "not the owner", "i'm not the owner", "i'm already the owner")


def read_view(declared, settings, client=None):
    """One node's :class:`NodeView`; an unreachable node is a view with ``error`` set."""
    view = NodeView(address=declared.address, inventory_host=declared.inventory_host)
    try:
        client = client or connect(declared.endpoint, settings)
        pipe = client.pipeline(transaction=False)
        pipe.execute_command("CLUSTER", "INFO")
        pipe.execute_command("CLUSTER", "NODES")
        pipe.execute_command("INFO", "replication")
        pipe.execute_command("DBSIZE")
        info, nodes, replication, keys = pipe.execute(raise_on_error=False)
    except Exception as exc:  # noqa: BLE001 - an unreachable node is an observation
        view.error = describe_error(exc)
        return view
    view.reachable = True
    if isinstance(info, Exception):
        if "cluster support disabled" in str(info).lower():
            view.cluster_enabled = False
            view.error = "cluster support is disabled (cluster-enabled no)"
        else:
            view.error = describe_error(info)
        return view
    view.info = parse_info_text(info)
    view.nodes = parse_cluster_nodes(nodes, myself_address=declared.address) if isinstance(nodes, str) else []
    view.replication = reply_text_map(replication) if not isinstance(replication, Exception) else {}
    view.keys = keys if isinstance(keys, int) else None
    return view


def collect(declared, settings):
    """Every declared node's view, all nodes at once, in declared order."""
    results = run_parallel(lambda node: read_view(node, settings), declared)
    return [result if error is None
            else NodeView(address=node.address, inventory_host=node.inventory_host, error=describe_error(error))
            for node, (result, error) in zip(declared, results)]


def wait_for(declared, settings, deadline, ready, sleep=0.1):
    """Collect views until ``ready(views)`` is true or the deadline passes; return (ok, views)."""
    while True:
        views = collect(declared, settings)
        if ready(views):
            return True, views
        if deadline.expired():
            return False, views
        time.sleep(min(sleep, deadline.remaining()))


def meet_address(address):
    """CLUSTER MEET needs an IP: resolve a host name once."""
    endpoint = parse_endpoint(address, DEFAULT_REDIS_PORT)
    try:
        ipaddress.ip_address(endpoint.host)
        return endpoint.host, endpoint.port
    except ValueError:
        return socket.gethostbyname(endpoint.host), endpoint.port


class Operator:
    """Runs (or in check mode only records) commands on nodes by address."""

    def __init__(self, settings, check_mode=False):
        self.settings = settings
        self.check_mode = check_mode
        self.commands = []
        self._clients = {}

    def client(self, address):
        if address not in self._clients:
            self._clients[address] = connect(parse_endpoint(address, DEFAULT_REDIS_PORT), self.settings)
        return self._clients[address]

    def run(self, address, *args, shown=None, tolerate=()):
        """Run ``args`` on ``address``; ``shown`` is the secret-free text recorded; errors whose text contains one
        of ``tolerate`` are returned instead of raised."""
        self.commands.append("%s: %s" % (address, shown or " ".join(str(a) for a in args)))
        if self.check_mode:
            return None
        try:
            return self.client(address).execute_command(*args)
        except Exception as exc:  # noqa: BLE001 - turned into one sentence naming node and command
            text = str(exc).lower()
            if any(word in text for word in tolerate):
                return exc
            raise HaRedisError("Node %s refused %s: %s." % (address, shown or " ".join(str(a) for a in args[:3]),
                                                            describe_error(exc))) from exc

    # -- membership ---------------------------------------------------------------------------------------------
    def set_config_epoch(self, address, epoch):
        self.run(address, "CLUSTER", "SET-CONFIG-EPOCH", epoch, tolerate=("config epoch",))

    def meet(self, address, other):
        host, port = meet_address(other)
        self.run(address, "CLUSTER", "MEET", host, port)

    def meet_all(self, addresses):
        """Every node meets every later one (a full mesh of handshakes, one pipeline per node, all at once): the
        nodes know each other after one handshake instead of after gossip rounds (about a second)."""
        work = [(a, [meet_address(b) for b in addresses[i + 1:]]) for i, a in enumerate(addresses[:-1])]
        for address, targets in work:
            for host, port in targets:
                self.commands.append("%s: CLUSTER MEET %s %d" % (address, host, port))
        if self.check_mode:
            return

        def send(item):
            address, targets = item
            pipe = self.client(address).pipeline(transaction=False)
            for host, port in targets:
                pipe.execute_command("CLUSTER", "MEET", host, port)
            pipe.execute()
        for (address, _targets), (_result, error) in zip(work, run_parallel(send, work)):
            if error is not None:
                raise HaRedisError("Node %s refused CLUSTER MEET: %s." % (address, describe_error(error)))

    def add_slots(self, address, start, end):
        """CLUSTER ADDSLOTSRANGE (7.0+), else ADDSLOTS with every slot."""
        result = self.run(address, "CLUSTER", "ADDSLOTSRANGE", start, end, tolerate=("unknown subcommand",))
        if isinstance(result, Exception):
            self.commands.pop()
            self.run(address, "CLUSTER", "ADDSLOTS", *range(start, end + 1),
                     shown="CLUSTER ADDSLOTS %d..%d" % (start, end))

    def replicate(self, address, primary_id):
        self.run(address, "CLUSTER", "REPLICATE", primary_id)

    def forget_everywhere(self, addresses, node_id):
        """CLUSTER FORGET ``node_id`` on every node of ``addresses`` at once: each node bans the id for 60 s, so
        the nodes told first cannot learn it again by gossip from the ones not told yet. A node that does not know
        the id any more is fine (a resumed run)."""
        for address in addresses:
            self.commands.append("%s: CLUSTER FORGET %s" % (address, node_id))
        if self.check_mode:
            return

        def send(address):
            try:
                self.client(address).execute_command("CLUSTER", "FORGET", node_id)
            except Exception as exc:  # noqa: BLE001 - an unknown id was forgotten already
                if "unknown node" not in str(exc).lower():
                    raise
        for address, (_result, error) in zip(addresses, run_parallel(send, addresses)):
            if error is not None:
                raise HaRedisError("Node %s refused CLUSTER FORGET %s: %s." % (address, node_id, describe_error(error)))

    def reset_hard(self, address):
        """CLUSTER RESET HARD: the node forgets every other node and takes a new id (it leaves the cluster)."""
        self.run(address, "CLUSTER", "RESET", "HARD")

    # -- slot migration -----------------------------------------------------------------------------------------
    def pipeline(self, address, commands, shown, tolerate=()):
        """Send ``commands`` to one node in one round trip; record ``shown``; raise on an error not tolerated."""
        self.commands.append("%s: %s" % (address, shown))
        if self.check_mode:
            return []
        try:
            pipe = self.client(address).pipeline(transaction=False)
            for command in commands:
                pipe.execute_command(*command)
            replies = pipe.execute(raise_on_error=False)
        except Exception as exc:  # noqa: BLE001 - one sentence naming node and command
            raise HaRedisError("Node %s did not answer %s: %s." % (address, shown, describe_error(exc))) from exc
        for command, reply in zip(commands, replies):
            if isinstance(reply, Exception) and not any(w in str(reply).lower() for w in tolerate):
                raise HaRedisError("Node %s refused %s: %s." % (address, " ".join(str(a) for a in command),
                                                                describe_error(reply)))
        return replies

    def _auth(self):
        if self.settings.password is None:
            return []
        if self.settings.username:
            return ["AUTH2", self.settings.username, self.settings.password]
        return ["AUTH", self.settings.password]

    def migrate_keys(self, source, target, slots, batch_size, timeout_ms):
        """Move every key of ``slots`` from ``source`` to ``target`` (addresses) with MIGRATE ... KEYS batches of
        ``batch_size``; the keys of all slots are listed in one round trip. Returns the number of keys moved."""
        if self.check_mode:
            return 0
        host, port = meet_address(target)
        client, moved = self.client(source), 0
        while True:
            listing = self.pipeline(source, [("CLUSTER", "GETKEYSINSLOT", s, batch_size) for s in slots],
                                    "CLUSTER GETKEYSINSLOT %s %d" % (slots_text(slots), batch_size))
            self.commands.pop()
            if not any(listing):
                return moved
            for slot, listed in zip(slots, listing):
                keys = listed
                while keys:
                    args = ["MIGRATE", host, port, "", 0, timeout_ms]
                    try:
                        client.execute_command(*(args + self._auth() + ["KEYS"] + list(keys)))
                    except Exception as exc:  # noqa: BLE001 - BUSYKEY is retried, the rest named
                        if "BUSYKEY" not in str(exc):
                            raise HaRedisError("Node %s could not MIGRATE %d keys of slot %d to %s: %s."
                                               % (source, len(keys), slot, target, describe_error(exc))) from exc
                        # A key already on the target (an interrupted batch): the source's copy is the live one.
                        client.execute_command(*(args + ["REPLACE"] + self._auth() + ["KEYS"] + list(keys)))
                    moved += len(keys)
                    keys = client.execute_command("CLUSTER", "GETKEYSINSLOT", slot, batch_size)

    def move_slots(self, slots, source, target, others, batch_size=100, timeout_ms=5000):
        """Move ``slots`` (a few at a time) from ``source`` to ``target`` ((address, id) pairs); ``others`` are
        the other primaries' addresses. Every step is repeatable, so slots left half-moved are finished by calling
        this again. Returns the number of keys moved."""
        (source_addr, source_id), (target_addr, target_id) = source, target
        label = slots_text(slots)
        self.pipeline(target_addr, [("CLUSTER", "SETSLOT", s, "IMPORTING", source_id) for s in slots],
                      "CLUSTER SETSLOT %s IMPORTING %s" % (label, source_id), tolerate=ALREADY_DONE)
        self.pipeline(source_addr, [("CLUSTER", "SETSLOT", s, "MIGRATING", target_id) for s in slots],
                      "CLUSTER SETSLOT %s MIGRATING %s" % (label, target_id), tolerate=ALREADY_DONE)
        moved = self.migrate_keys(source_addr, target_addr, slots, batch_size, timeout_ms)
        if self.check_mode:
            self.commands.append("%s: CLUSTER GETKEYSINSLOT + MIGRATE %s KEYS ... (batches of %d)"
                                 % (source_addr, target_addr, batch_size))
        node = [("CLUSTER", "SETSLOT", s, "NODE", target_id) for s in slots]
        shown = "CLUSTER SETSLOT %s NODE %s" % (label, target_id)
        # The target first: once it owns the slots, clients redirected there are served.
        self.pipeline(target_addr, node, shown)
        # A source that gave its last slot may have learned it from the target already and, by Redis's replica
        # migration, be a replica by now ("Please use SETSLOT only with masters"): it serves nothing, which is the
        # aim (seen under load while draining).
        self.pipeline(source_addr, node, shown, tolerate=("only with masters",))
        for address in others:
            # The other primaries would learn it by gossip too: one that cannot be told must not stop the move.
            try:
                self.pipeline(address, node, shown, tolerate=("",))
            except HaRedisError:
                pass
        return moved


def slots_text(slots):
    """``5460`` or ``5450..5460 (11 slots)`` for a sorted run of slots, for the command log."""
    slots = list(slots)
    if len(slots) == 1:
        return str(slots[0])
    return "%d,...,%d (%d slots)" % (slots[0], slots[-1], len(slots))


def open_slot_moves(views):
    """Half-moved slots seen by any node -> [(slot, source id, target id)] to finish, sorted by slot."""
    found = {}
    for view in views:
        me = view.me
        if me is None:
            continue
        for slot, target in me.migrating.items():
            found[slot] = (me.id, target)
        for slot, source in me.importing.items():
            found.setdefault(slot, (source, me.id))
    return [(slot, s, t) for slot, (s, t) in sorted(found.items())]


def cluster_argument_spec(nodes_required=True):
    """Transport options, data-node credentials and ``nodes`` (doc: the modules' own ``nodes`` entry)."""
    spec = connection_argument_spec(data=True, sentinel=False)
    spec.update(nodes=dict(type="list", elements="raw", required=nodes_required))
    return spec
