# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Placement and rebalance plans for Redis Cluster. Pure and deterministic: the same input gives the same plan.

Private to the collection: the interface may change between releases.

* :func:`placement` - which declared nodes become primaries of a new cluster, their slot ranges (split evenly) and
  which primary each other node replicates, with no replica on the inventory host of its primary.
* :func:`attach_replicas` - for a running cluster, which new empty nodes become replicas of primaries that lack
  replicas (same anti-affinity rule).
* :func:`membership_plan` - for a running cluster that grows or shrinks: how many primary seats there are, which
  empty nodes fill them, which nodes become replicas of which primary, and which existing replicas move so that
  every primary has its replicas off its own inventory host.
* :func:`rebalance_moves` - which slots move from which primary to which, to reach an even share or to empty the
  primaries being drained; slots are never taken from a primary unless it holds more than its share.
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.ha.redis.plugins.module_utils._cluster_model import SLOTS
from ansible_collections.ha.redis.plugins.module_utils._connection import HaRedisError

MIN_PRIMARIES = 3


@dataclass
class Placement:
    primaries: list          # [address]
    slots: dict              # address -> (start, end)
    replicas: dict           # replica address -> primary address


def interleave_by_host(nodes):
    """Declared nodes in round-robin order over their inventory hosts (hosts in first-seen order)."""
    hosts = {}
    for node in nodes:
        hosts.setdefault(node.inventory_host, []).append(node)
    ordered, queues = [], list(hosts.values())
    while any(queues):
        for queue in queues:
            if queue:
                ordered.append(queue.pop(0))
    return ordered


def even_ranges(count, total=SLOTS):
    """``count`` contiguous ranges covering 0..total-1; the first ``total % count`` get one slot more."""
    size, extra = divmod(total, count)
    ranges, start = [], 0
    for index in range(count):
        end = start + size + (1 if index < extra else 0) - 1
        ranges.append((start, end))
        start = end + 1
    return ranges


def _match(replicas, seats, allowed):
    """Assign each replica to one seat (bipartite matching, Kuhn's algorithm) -> {replica: seat} or None."""
    owner = {}

    def place(replica, visited):
        for seat in seats:
            if seat in visited or not allowed(replica, seat):
                continue
            visited.add(seat)
            if seat not in owner or place(owner[seat], visited):
                owner[seat] = replica
                return True
        return False

    for replica in replicas:
        if not place(replica, set()):
            return None
    return {replica: seat for seat, replica in owner.items()}


def placement(nodes, replicas_per_primary):
    """Plan a new cluster over ``nodes`` (DeclaredNode) with ``replicas_per_primary`` replicas each.

    Raises HaRedisError (before anything is touched) for fewer than 3 primaries, a node count that is not a
    multiple of replicas + 1, or replicas that cannot all be placed off their primary's inventory host.
    """
    if replicas_per_primary < 0:
        raise HaRedisError("Option replicas is %d, expected 0 or more." % replicas_per_primary)
    group = replicas_per_primary + 1
    if len(nodes) % group:
        raise HaRedisError("Option nodes lists %d nodes, expected a multiple of replicas + 1 = %d (each primary with "
                           "%d replicas)." % (len(nodes), group, replicas_per_primary))
    count = len(nodes) // group
    if count < MIN_PRIMARIES:
        raise HaRedisError("Option nodes gives %d primaries (%d nodes, %d replicas each), expected at least %d: a "
                           "cluster needs a majority of primaries to fail over."
                           % (count, len(nodes), replicas_per_primary, MIN_PRIMARIES))
    ordered = interleave_by_host(nodes)
    primaries, rest = ordered[:count], ordered[count:]
    host = {n.address: n.inventory_host for n in nodes}
    seats = [(p.address, k) for k in range(replicas_per_primary) for p in primaries]
    matched = _match([n.address for n in rest], seats, lambda r, seat: host[r] != host[seat[0]])
    if matched is None:
        raise HaRedisError("The %d replicas cannot all be placed on another inventory host than their primary "
                           "(hosts: %s), expected enough distinct hosts for anti-affinity."
                           % (len(rest), ", ".join("%s=%d" % (h, sum(1 for n in nodes if n.inventory_host == h))
                                                   for h in dict.fromkeys(n.inventory_host for n in nodes))))
    return Placement(primaries=[p.address for p in primaries],
                     slots=dict(zip((p.address for p in primaries), even_ranges(count))),
                     replicas={n.address: matched[n.address][0] for n in rest})


def attach_replicas(candidates, primaries, replica_counts, hosts, replicas_per_primary):
    """New empty nodes -> {candidate: primary} for primaries with fewer than ``replicas_per_primary`` replicas.

    ``primaries`` is the ordered list of primary addresses that serve slots, ``replica_counts`` their current
    replica counts, ``hosts`` maps every address to its inventory host. A candidate is attached to the primary
    that lacks the most replicas and runs on another host (ties: the order of ``primaries``); candidates that fit
    nowhere are left out (they stay empty primaries).
    """
    result = {}
    counts = dict(replica_counts)
    for candidate in candidates:
        fits = [p for p in primaries
                if counts.get(p, 0) < replicas_per_primary and hosts.get(p) != hosts.get(candidate)]
        if not fits:
            continue
        target = min(fits, key=lambda p: (counts.get(p, 0), primaries.index(p)))
        result[candidate] = target
        counts[target] = counts.get(target, 0) + 1
    return result


@dataclass
class MembershipPlan:
    primaries: list          # [address]: the primary seats, serving primaries first
    attached: dict           # node that is not a replica yet -> primary address
    moved: dict              # existing replica -> its new primary address
    empty_primaries: list    # [address]: primaries without slots (empty seats, then nodes that fit nowhere)
    stranded: list           # [address]: orphaned replicas no primary on another host can take


def membership_plan(node_count, serving, empty, replica_of, new, hosts, replicas_per_primary):
    """Plan the roles of a running cluster's staying nodes. Pure and deterministic.

    ``node_count`` is the number of declared staying nodes; ``serving`` the primaries that serve slots and
    ``empty`` the member primaries without slots (both ordered, e.g. in declared order); ``replica_of`` maps every
    staying replica to its current primary's address (a primary that is neither serving nor empty - a leaving
    node - makes it an orphan that must move); ``new`` the empty nodes to be met, ordered; ``hosts`` every
    address's inventory host.

    * Seats: ``node_count // (replicas + 1)`` primaries, never fewer than the serving ones.
    * Orphans first, then idle nodes (new nodes and empty primaries without replicas), become replicas of serving
      primaries that lack replicas (on another host).
    * Missing seats are taken by empty primaries that have replicas, then by idle nodes on the hosts with the
      fewest primaries (ties: the given order).
    * The remaining orphans and idle nodes become replicas of the primary with the fewest replicas on another host
      (one that fits nowhere stays an empty primary).
    * A replica on its primary's inventory host is placed again like an orphan (it stays where nothing else fits).
    * Balance: while a primary has fewer than ``replicas`` replicas and another has more, one replica moves from
      the one with more (a node planned here before an existing replica, a replica on its own primary's host
      before others), directly or, when no replica of the one with more may run beside the needy primary, through
      a third primary (two moves, anti-affinity kept at both ends). A balanced cluster gives no move.
    """
    group = replicas_per_primary + 1
    order = {a: i for i, a in enumerate(list(serving) + list(empty) + list(replica_of) + list(new))}
    seat_count = max(node_count // group, len(serving))
    with_replicas = [p for p in empty if p in replica_of.values()]
    idle = [a for a in list(empty) + list(new) if a not in with_replicas]
    idle.sort(key=lambda a: order[a])
    known = set(serving) | set(empty)
    orphans = sorted((r for r, p in replica_of.items() if p not in known), key=lambda a: order[a])
    staying = {r: p for r, p in replica_of.items() if p in known}
    # A replica on its primary's inventory host (Redis's replica migration puts one there, e.g. when a drained
    # primary and its replicas follow the node that took its last slot) is placed again like an orphan; where no
    # other primary can take it, it stays.
    misplaced = [r for r, p in sorted(staying.items(), key=lambda item: order[item[0]])
                 if hosts.get(r) is not None and hosts.get(r) == hosts.get(p)]
    for replica in misplaced:
        del staying[replica]
    orphans += misplaced

    def counts_of(primaries, assignment):
        counts = {p: 0 for p in primaries}
        for primary in assignment.values():
            if primary in counts:
                counts[primary] += 1
        return counts

    # 1. Serving primaries that lack replicas get one first.
    assignment = dict(staying)
    first = attach_replicas(orphans + idle, list(serving), counts_of(serving, assignment), hosts,
                            replicas_per_primary)
    assignment.update(first)
    # 2. Missing primary seats.
    missing = seat_count - len(serving)
    seated = with_replicas[:missing]
    for primary in with_replicas[missing:]:
        # An empty primary beyond the seats: its replicas are orphans, and it becomes a free node.
        for replica in [r for r, p in assignment.items() if p == primary]:
            del assignment[replica]
            orphans.append(replica)
        idle.append(primary)
    pool = [a for a in idle if a not in first]
    while len(seated) < missing and pool:
        per_host = {}
        for primary in list(serving) + seated:
            per_host[hosts.get(primary)] = per_host.get(hosts.get(primary), 0) + 1
        chosen = min(pool, key=lambda a: (per_host.get(hosts.get(a), 0), order[a]))
        seated.append(chosen)
        pool.remove(chosen)
    primaries = list(serving) + seated
    # 3. The rest become replicas where there are fewest, on another host.
    leftover = []
    for node in [a for a in orphans if a not in first] + pool:
        counts = counts_of(primaries, assignment)
        fits = [p for p in primaries if hosts.get(p) != hosts.get(node) and p != node]
        if not fits:
            if node in misplaced:
                assignment[node] = replica_of[node]
            else:
                leftover.append(node)
            continue
        assignment[node] = min(fits, key=lambda p: (counts[p] >= replicas_per_primary, counts[p],
                                                    primaries.index(p)))
    # 4. Balance.
    planned = set(orphans) | set(idle)

    def movable(primary, target):
        """Replicas of ``primary`` that may serve ``target``, best first."""
        found = [r for r, p in assignment.items() if p == primary and hosts.get(r) != hosts.get(target)]
        return sorted(found, key=lambda r: (r not in planned, hosts.get(r) != hosts.get(primary), order[r]))

    while True:
        counts = counts_of(primaries, assignment)
        needy = sorted((p for p in primaries if counts[p] < replicas_per_primary),
                       key=lambda p: (counts[p], primaries.index(p)))
        rich = sorted((p for p in primaries if counts[p] > replicas_per_primary),
                      key=lambda p: (-counts[p], primaries.index(p)))
        step = None
        for target in needy:
            for source in rich:
                direct = movable(source, target)
                if direct:
                    step = [(direct[0], target)]
                    break
                for middle in primaries:
                    if middle in (source, target):
                        continue
                    into_target, into_middle = movable(middle, target), movable(source, middle)
                    if into_target and into_middle:
                        step = [(into_target[0], target), (into_middle[0], middle)]
                        break
                if step:
                    break
            if step:
                break
        if not step:
            break
        for replica, primary in step:
            assignment[replica] = primary
    attached = {a: p for a, p in assignment.items() if a in idle}
    moved = {a: p for a, p in assignment.items() if a not in idle and replica_of.get(a) != p}
    empty_primaries = seated + [a for a in leftover if a in idle]
    return MembershipPlan(primaries=primaries, attached=attached, moved=moved, empty_primaries=empty_primaries,
                          stranded=[a for a in leftover if a not in idle])


def shares(primaries, drain, weights=None, total=SLOTS):
    """{primary: target slot count}: drained ones 0, the rest split ``total`` by weight (remainder to the first)."""
    keep = [p for p in primaries if p not in drain]
    if not keep:
        raise HaRedisError("Every primary is to be drained (%s), expected at least one to keep the slots."
                           % ", ".join(primaries))
    weights = weights or {}
    total_weight = float(sum(weights.get(p, 1.0) for p in keep))
    target = {p: 0 for p in primaries}
    for p in keep:
        target[p] = int(total * weights.get(p, 1.0) / total_weight)
    for p in keep[:total - sum(target.values())]:
        target[p] += 1
    return target


def rebalance_moves(owned, drain=(), weights=None, threshold=0.0):
    """Plan slot moves.

    ``owned``: {primary id: sorted list of slots} for every primary that should hold slots or be drained, in a
    stable order (primaries without slots included, with []). Returns [(slot, source id, target id)].
    With no primary drained, nothing moves when every primary is within ``threshold`` percent of its share.
    A source gives its highest slots first; targets are filled in order, so the plan is deterministic.
    """
    primaries = list(owned)
    target = shares(primaries, set(drain), weights)
    if not drain and threshold > 0:
        worst = max(abs(len(owned[p]) - target[p]) * 100.0 / max(target[p], 1) for p in primaries)
        if worst <= threshold:
            return []
    surplus = []
    for p in primaries:
        extra = len(owned[p]) - target[p]
        if extra > 0:
            surplus.extend((slot, p) for slot in sorted(owned[p])[-extra:][::-1])
    moves = []
    for p in primaries:
        need = target[p] - len(owned[p])
        while need > 0 and surplus:
            slot, source = surplus.pop(0)
            moves.append((slot, source, p))
            need -= 1
    return moves


def surplus_primaries(candidates, keep):
    """Which primaries to empty so that at most ``keep`` hold slots.

    ``candidates``: [(id, inventory host, slot count, declared rank)] of the primaries that may keep slots. Empty
    ones go first (they lose nothing), then those on the inventory host with the most candidates (so the primaries
    stay spread over the hosts), then the fewest slots (the least to move), then the latest declared. Deterministic.
    """
    extra = len(candidates) - keep
    if extra <= 0:
        return []
    per_host = {}
    for _id, host, _slots, _rank in candidates:
        per_host[host] = per_host.get(host, 0) + 1
    chosen = []
    pool = list(candidates)
    for _round in range(extra):
        pick = min(pool, key=lambda c: (c[2] > 0, -per_host[c[1]], c[2], -c[3]))
        chosen.append(pick[0])
        pool.remove(pick)
        per_host[pick[1]] -= 1
    return chosen
