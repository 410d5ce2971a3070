# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redis Cluster state changes: create a cluster, converge its membership, rebalance its slots.

Private to the collection: the interface may change between releases.

Each function first reads every declared node and rejects bad input (an unreachable node, a node of another
cluster, a placement that breaks anti-affinity) before it changes anything; then it drives an
``_cluster_ops.Operator``, which only records the commands in check mode.
"""

from __future__ import annotations

from ansible_collections.ha.redis.plugins.module_utils._cluster_model import (
    ranges_to_slots,
    reference_view,
    slots_to_ranges,
)
from ansible_collections.ha.redis.plugins.module_utils._cluster_ops import collect, open_slot_moves, wait_for
from ansible_collections.ha.redis.plugins.module_utils._cluster_plan import (
    membership_plan,
    placement,
    rebalance_moves,
    surplus_primaries,
)
from ansible_collections.ha.redis.plugins.module_utils._connection import HaRedisError

# Slots moved together (one round trip per step for SETSLOT and GETKEYSINSLOT): at most this many are left open by
# an interrupted run, and all of them are finished by the next.
SLOTS_PER_STEP = 16


def require_reachable(views):
    for view in views:
        if not view.reachable or not view.cluster_enabled or view.me is None:
            raise HaRedisError("Node %s cannot be used: %s, expected a reachable node with cluster-enabled yes."
                               % (view.address, view.error or "no CLUSTER NODES reply"))


def membership(views):
    """{address: 'primary (N slots)' | 'replica of ADDRESS' | 'not joined'} - the diff of a change."""
    ref = reference_view([v for v in views if not v.is_empty()]) if any(not v.is_empty() for v in views) else None
    addresses = {n.id: n.address for n in ref.nodes} if ref else {}
    result = {}
    for view in views:
        me = view.me
        if me is None or view.is_empty():
            result[view.address] = "not joined"
        elif me.is_primary:
            result[view.address] = "primary (%d slots)" % me.slot_count()
        else:
            result[view.address] = "replica of %s" % addresses.get(me.primary_id, me.primary_id)
    return result


def leaving_membership(views, leaving):
    """{address: role as the members see it, or 'not a member'} for the addresses of option forget."""
    joined = [v for v in views if v.reachable and not v.is_empty()]
    ref = reference_view(joined) if joined else None
    entries = {n.address: n for n in ref.nodes} if ref else {}
    addresses = {n.id: n.address for n in ref.nodes} if ref else {}
    result = {}
    for address in leaving:
        entry = entries.get(address)
        if entry is None:
            result[address] = "not a member"
        elif entry.is_primary:
            result[address] = "primary (%d slots)" % entry.slot_count()
        else:
            result[address] = "replica of %s" % addresses.get(entry.primary_id, entry.primary_id)
    return result


def find_cluster(views, leaving=()):
    """The views of the one existing cluster among the declared nodes (ids) and the empty ones.

    ``leaving`` (addresses of option forget) count as declared when judging whose cluster it is.

    Raises HaRedisError when declared nodes belong to two clusters, or when the only cluster found is mostly made
    of undeclared nodes (a node of another cluster given by mistake).
    """
    by_id = {v.id: v for v in views}
    parent = {v.id: v.id for v in views}

    def root(node_id):
        while parent[node_id] != node_id:
            node_id = parent[node_id]
        return node_id

    for view in views:
        for other in view.known_ids():
            if other in parent:
                parent[root(other)] = root(view.id)
    groups = {}
    for view in views:
        if not view.is_empty():
            groups.setdefault(root(view.id), []).append(view)
    clusters = sorted(groups.values(), key=lambda g: (-len(g), [views.index(v) for v in g]))
    if len(clusters) > 1:
        stray = clusters[1][0]
        raise HaRedisError("Node %s belongs to another cluster (it knows %d nodes, serves %d slots) than %s, "
                           "expected every declared node in one cluster or empty."
                           % (stray.address, len(stray.nodes), stray.me.slot_count(), clusters[0][0].address))
    if not clusters:
        return [], list(views)
    members = clusters[0]
    known = members[0].known_ids()
    ours = [n.id for n in members[0].nodes if n.id in known and (n.id in by_id or n.address in leaving)]
    if len(ours) * 2 <= len(known):
        raise HaRedisError("Node %s belongs to a cluster of %d nodes of which only %d are in option nodes or forget, "
                           "expected a cluster of declared nodes (a node of another cluster?)."
                           % (members[0].address, len(known), len(ours)))
    return members, [v for v in views if v.is_empty() and v not in members]


def _joined(addresses_count):
    def ready(views):
        return all(v.reachable and len(v.known_ids()) == addresses_count and
                   not any("handshake" in n.flags or "noaddr" in n.flags for n in v.nodes) for v in views)
    return ready


def _settled(views):
    ref = reference_view(views)
    return (ref is not None and all(v.reachable and v.state == "ok" and v.slot_map() == ref.slot_map()
                                    and v.known_ids() == ref.known_ids() and v.roles() == ref.roles()
                                    for v in views))


def interrupted_create(declared, views, replicas):
    """Whether the declared nodes are a create that stopped after slots were assigned and before every node met
    every other: some node serves slots, not every node knows every other, no node knows an undeclared node, and
    every slot range and replica seen anywhere is the one the deterministic placement gives (so the next run can
    finish it). Anything else (slots of another layout, a node of another cluster) is not resumed."""
    if not any(v.me is not None and v.me.slots for v in views) or any(v.me is None for v in views):
        return False
    ids = {v.id for v in views}
    if all(v.known_ids() == ids for v in views) or any(v.known_ids() - ids for v in views):
        return False
    try:
        plan = placement(declared, replicas)
    except HaRedisError:
        return False
    address_of = {v.id: v.address for v in views}
    for view in views:
        for entry in view.nodes:
            if "handshake" in entry.flags:
                continue
            address = address_of.get(entry.id)
            if entry.slots and tuple(entry.slots) != ((plan.slots[address],) if address in plan.slots else ()):
                return False
            if not entry.is_primary and plan.replicas.get(address) != address_of.get(entry.primary_id):
                return False
    return True


def create(declared, views, replicas, op, settings, deadline):
    """A new cluster over every declared node, or the rest of an interrupted create (``interrupted_create``): the
    steps already done are skipped. Returns (placement, replicas attached)."""
    plan = placement(declared, replicas)
    ids = {v.address: v.id for v in views}
    by_address = {v.address: v for v in views}
    for epoch, node in enumerate(declared, start=1):
        me = by_address[node.address].me
        if me.config_epoch == 0 and len(by_address[node.address].known_ids()) <= 1:
            op.set_config_epoch(node.address, epoch)
    for address in plan.primaries:
        start, end = plan.slots[address]
        if not by_address[address].me.slots:
            op.add_slots(address, start, end)
    op.meet_all([n.address for n in declared])
    if not op.check_mode:
        ok, _views = wait_for(declared, settings, deadline, _joined(len(declared)))
        if not ok:
            raise HaRedisError("The %d nodes did not all learn of each other within the timeout after CLUSTER MEET, "
                               "expected every node to know every other." % len(declared))
    for replica, primary in plan.replicas.items():
        if by_address[replica].me.primary_id != ids[primary]:
            op.replicate(replica, ids[primary])
    if not op.check_mode:
        ok, _views = wait_for(declared, settings, deadline, _settled)
        if not ok:
            raise HaRedisError("The new cluster did not reach cluster_state ok with one slot map on every node within "
                               "the timeout, expected it to settle.")
    return plan, dict(plan.replicas)


def leaving_nodes(members, leaving_views, leaving):
    """{address: [ids]} for each address of option forget, the ids the staying members know it by (and its own
    id, when it answers and knows one of the members). Raises HaRedisError, before any change, for a leaving node
    that still serves slots."""
    member_ids = set().union(*(v.known_ids() for v in members)) if members else set()
    own = {v.address: v for v in leaving_views}
    result = {}
    for address in leaving:
        ids = []
        for view in members:
            for entry in view.nodes:
                if entry.address == address and not entry.myself and entry.id not in ids:
                    ids.append(entry.id)
                    if entry.slots:
                        raise HaRedisError("Node %s in option forget still serves %d slots, expected a node without "
                                           "slots: drain it first with ha.redis.cluster_rebalance (drain)."
                                           % (address, entry.slot_count()))
        view = own.get(address)
        if view is not None and view.id and view.id not in ids and (view.known_ids() - {view.id}) & member_ids:
            ids.append(view.id)
        result[address] = ids
    return result


def _links_up(addresses):
    def ready(views):
        by_address = {v.address: v for v in views}
        return _settled(views) and all(by_address[a].replication.get("master_link_status") == "up"
                                       for a in addresses)
    return ready


def converge(declared, views, members, empty, replicas, op, settings, deadline, leaving=(), leaving_views=()):
    """Meet new empty nodes, place primaries and replicas (``membership_plan``), then forget the leaving nodes.

    Returns (met, plan, forgotten addresses).
    """
    hosts = {n.address: n.inventory_host for n in declared}
    inside = {v.address for v in members}
    leaving_ids = leaving_nodes(members, leaving_views, leaving)

    def members_settled(found):
        return _settled([v for v in found if v.address in inside])

    if not members_settled(views):
        # Right after a change the members may still disagree on roles: plan only from one agreed view.
        ok, views = wait_for(declared, settings, deadline, members_settled)
        if not ok:
            raise HaRedisError("The members %s do not agree on slots, nodes and roles with cluster_state ok, expected "
                               "a settled cluster before changing its membership." % ", ".join(sorted(inside)))
        members = [v for v in views if v.address in inside]
        leaving_ids = leaving_nodes(members, leaving_views, leaving)
    ref = reference_view(members)
    order = [n.address for n in declared]
    rank = {a: i for i, a in enumerate(order)}
    gone = {i for ids in leaving_ids.values() for i in ids}
    address_of = {n.id: n.address for n in ref.nodes}
    stay = [n for n in ref.nodes if n.id not in gone]
    serving = [n.address for n in sorted((n for n in stay if n.is_primary and n.slots),
                                         key=lambda n: (rank.get(n.address, len(order)), n.address))]
    empty_members = [v.address for v in members if v.me.is_primary and not v.me.slots and v.id not in gone]
    replica_of = {v.address: address_of.get(v.me.primary_id, v.me.primary_id) for v in members
                  if not v.me.is_primary and v.id not in gone}
    met = [v.address for v in empty]
    plan = membership_plan(len(declared), serving, empty_members, replica_of, met, hosts, replicas)
    forgetting = {a: ids for a, ids in leaving_ids.items() if ids}
    if plan.stranded and forgetting:
        raise HaRedisError("Replica %s of a leaving node cannot move to a primary on another inventory host, "
                           "expected a staying primary to take it before the node is forgotten." % plan.stranded[0])

    contact = members[0].address
    for address in met:
        op.meet(contact, address)
    if met and not op.check_mode:
        ok, views = wait_for(declared, settings, deadline, _joined(len(ref.known_ids()) + len(met)))
        if not ok:
            raise HaRedisError("The nodes %s did not join the cluster within the timeout after CLUSTER MEET, expected "
                               "every node to know them." % ", ".join(met))
    ids = {v.address: v.id for v in views}
    by_address = {n.address: n.id for n in ref.nodes}
    for replica, primary in plan.attached.items():
        op.replicate(replica, by_address.get(primary) or ids.get(primary))
    if plan.attached and not op.check_mode:
        # Before an existing replica moves away from a primary, the new one must hold the primary's data.
        ready = _links_up(list(plan.attached) if plan.moved else [])
        ok, _views = wait_for(declared, settings, deadline, ready)
        if not ok:
            raise HaRedisError("The cluster did not settle (cluster_state ok, one slot map, replicas in sync) within "
                               "the timeout after attaching replicas %s." % ", ".join(plan.attached))
    for replica, primary in plan.moved.items():
        op.replicate(replica, by_address.get(primary) or ids.get(primary))
    if plan.moved and not op.check_mode:
        ok, _views = wait_for(declared, settings, deadline, _settled)
        if not ok:
            raise HaRedisError("The cluster did not settle within the timeout after moving replicas %s."
                               % ", ".join(plan.moved))
    forgotten = forget(declared, leaving_views, forgetting, ref.known_ids() - gone, op, settings, deadline)
    return met, plan, forgotten


def forget(declared, leaving_views, forgetting, member_ids, op, settings, deadline):
    """Every staying node forgets the leaving nodes (all at once per node id), then each leaving node that answers
    is reset (CLUSTER RESET HARD: it forgets the cluster and takes a new id, so nothing it says can bring the old
    id back once the 60 s ban of CLUSTER FORGET ends). Waits until no staying node lists them. Returns the
    addresses forgotten."""
    if not forgetting:
        return []
    staying = [n.address for n in declared]
    for _address, ids in forgetting.items():
        for node_id in ids:
            op.forget_everywhere(staying, node_id)
    own = {v.address: v for v in leaving_views}
    for address in forgetting:
        view = own.get(address)
        # Only a node that still knows a member: a node given by mistake, of another cluster, is left alone.
        if view is not None and view.reachable and view.id and (view.known_ids() - {view.id}) & member_ids:
            op.reset_hard(address)
    if not op.check_mode:
        gone = {i for ids in forgetting.values() for i in ids}

        def done(views):
            return _settled(views) and not any(gone & v.known_ids() for v in views)
        ok, _views = wait_for(declared, settings, deadline, done)
        if not ok:
            raise HaRedisError("The staying nodes still list %s or did not settle within the timeout after CLUSTER "
                               "FORGET, expected none to know them." % ", ".join(forgetting))
    return list(forgetting)


def steps(moves, owning=(), size=SLOTS_PER_STEP):
    """[(slot, source, target)] -> [(slots, source, target)]: runs of one source and target, at most ``size``.

    The first step to a target outside ``owning`` (the ids that serve slots) is one slot alone: cluster clients
    learn nodes from the slot map, so until a node owns a slot they cannot follow an ASK redirection to it (redis-py
    fails such a command); one slot keeps that window as short as a single-slot move.
    """
    result, owning, alone = [], set(owning), set()
    for slot, source, target in moves:
        if target not in owning:
            owning.add(target)
            alone.add(len(result))
            result.append(([slot], source, target))
        elif result and len(result) - 1 not in alone and result[-1][1:] == (source, target) \
                and len(result[-1][0]) < size:
            result[-1][0].append(slot)
        else:
            result.append(([slot], source, target))
    return result


def rebalance(declared, op, settings, drain=(), threshold=2.0, batch_size=100, timeout_ms=5000, max_slots=None,
              weights=None, keep_primaries=None):
    """Finish any half-moved slot, then move slots to an even share (or off ``drain``; with ``keep_primaries``, off
    the surplus primaries too, see ``surplus_primaries``). Returns a result dict."""
    views = collect(declared, settings)
    require_reachable(views)
    ref = reference_view(views)
    down = [n.address for v in views for n in v.nodes if "fail" in n.flags or "fail?" in n.flags]
    if down:
        raise HaRedisError("Node %s is flagged as failing, expected a healthy cluster before moving slots."
                           % down[0])
    addresses = {n.id: n.address for n in ref.nodes}
    primaries = [n for n in ref.nodes if n.is_primary]
    fixed = []
    for slot, source, target in open_slot_moves(views):
        others = [n.address for n in primaries if n.id not in (source, target)]
        keys = op.move_slots([slot], (addresses[source], source), (addresses[target], target), others,
                             batch_size, timeout_ms)
        fixed.append(dict(slot=slot, source=addresses[source], target=addresses[target], keys=keys))
    if fixed and not op.check_mode:
        views = collect(declared, settings)
        ref = reference_view(views)
        primaries = [n for n in ref.nodes if n.is_primary]
    drain_ids = set()
    for address in drain:
        node = next((n for n in ref.nodes if n.address == address), None)
        if node is None:
            raise HaRedisError("Option drain names %s, expected a member of the cluster (primaries: %s)."
                               % (address, ", ".join(sorted(n.address for n in primaries))))
        # A replica or a primary without slots is drained already (Redis makes a primary that lost its last slot
        # a replica of the node that took it): nothing to do, so a repeated drain is a no-op.
        if node.is_primary and node.slots:
            drain_ids.add(node.id)
    order = [n.address for n in declared]
    primaries.sort(key=lambda n: (order.index(n.address) if n.address in order else len(order), n.address))
    # A primary named in drain that holds no slot gets none (an empty primary that is to leave, a repeated drain).
    owned = {n.id: ranges_to_slots(n.slots) for n in primaries if n.slots or n.address not in drain}
    surplus = []
    if keep_primaries is not None:
        hosts = {n.address: n.inventory_host for n in declared}
        candidates = [(n.id, hosts.get(n.address, n.address), len(owned[n.id]),
                       order.index(n.address) if n.address in order else len(order))
                      for n in primaries if n.id in owned and n.id not in drain_ids]
        surplus = surplus_primaries(candidates, keep_primaries)
        for node_id in surplus:
            if owned[node_id]:
                drain_ids.add(node_id)
            else:
                del owned[node_id]  # an empty primary beyond the seats gets no share
    id_weights = {n.id: weights[n.address] for n in primaries if weights and n.address in weights}
    moves = rebalance_moves(owned, drain_ids, id_weights or None, threshold)
    planned = len(moves)
    if max_slots is not None:
        moves = moves[:max_slots]
    keys_moved, summary = 0, {}
    for slots, source, target in steps(moves, owning=[n.id for n in primaries if n.slots]):
        others = [n.address for n in primaries if n.id not in (source, target)]
        keys_moved += op.move_slots(slots, (addresses[source], source), (addresses[target], target), others,
                                    batch_size, timeout_ms)
        label = "%s -> %s" % (addresses[source], addresses[target])
        summary.setdefault(label, []).extend(slots)
    summary = {label: dict(slots=len(moved), ranges=[list(r) for r in slots_to_ranges(moved)])
               for label, moved in summary.items()}
    return dict(fixed_open_slots=fixed, slots_moved=len(moves), slots_planned=planned, keys_moved=keys_moved,
                moves=summary, before=membership(views), surplus=sorted(addresses[i] for i in surplus))
