# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules that judge what the nodes of a Redis Cluster said, and the shard summary. Pure.

Private to the collection: the interface may change between releases.

``judge_*`` functions take the views (``_cluster_model.NodeView``, one per declared node), the reference view
(the slot map and node list most nodes share) and the :class:`ClusterExpectations`, and return
:class:`Finding` lists, the same shape as the Sentinel gate's (``group`` is always null here).
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.ha.redis.plugins.module_utils._cluster_model import (
    BAD_FLAGS,
    SLOTS,
    owners,
    reference_view,
    slots_to_ranges,
    to_int,
)
from ansible_collections.ha.redis.plugins.module_utils._sentinel_model import Finding

DEFAULT_MAX_LAG_BYTES = 1048576
MIN_PRIMARIES = 3


@dataclass
class ClusterExpectations:
    replicas: int | None = None        # replicas per primary; None: not counted
    primaries: int | None = None       # primaries serving slots; None: at least 3
    max_lag_bytes: int = DEFAULT_MAX_LAG_BYTES


def _f(node, check, message, expected=None, seen=None):
    return Finding(None, node, check, message, expected=expected, seen=seen)


def ranges_text(ranges, limit=4):
    parts = ["%d" % s if s == e else "%d-%d" % (s, e) for s, e in ranges]
    return ",".join(parts[:limit]) + (",..." if len(parts) > limit else "")


def id_to_address(ref):
    return {} if ref is None else {n.id: n.address for n in ref.nodes}


def judge_reachable(views):
    problems = []
    for view in views:
        if not view.reachable:
            problems.append(_f(view.address, "node_unreachable", "Node %s: %s, expected it to answer."
                               % (view.address, view.error), expected="reachable", seen=view.error))
        elif not view.cluster_enabled:
            problems.append(_f(view.address, "cluster_disabled", "Node %s: cluster support is disabled, expected "
                               "cluster-enabled yes." % view.address, expected="cluster-enabled yes",
                               seen="cluster-enabled no"))
        elif view.state != "ok":
            problems.append(_f(view.address, "cluster_state", "Node %s: cluster_state is %s, expected ok."
                               % (view.address, view.state), expected="ok", seen=view.state))
    return problems


def judge_membership(views, ref):
    """Every declared node is a member of the reference cluster, and every member is declared."""
    problems = []
    members = ref.known_ids()
    declared_ids = set()
    for view in views:
        if not view.reachable or view.id is None:
            continue
        declared_ids.add(view.id)
        if view.id not in members:
            problems.append(_f(view.address, "node_not_member", "Node %s (id %s) is not a member of the cluster the "
                               "other nodes form, expected it to be." % (view.address, view.id[:8]),
                               expected="member", seen="not known"))
    addresses = id_to_address(ref)
    for node_id in sorted(members - declared_ids):
        unreachable_declared = {v.address for v in views if not v.reachable}
        if addresses.get(node_id) in unreachable_declared:
            continue
        text = ("Node %s (id %s) is a member of the cluster but not in option nodes, expected only declared members."
                % (addresses.get(node_id), node_id[:8]))
        problems.append(_f(addresses.get(node_id), "node_not_declared", text, expected="declared", seen="member"))
    return problems


def judge_agreement(views, ref):
    """Every node has the reference slot map and node list."""
    problems = []
    for view in views:
        if not view.reachable or not view.nodes or view is ref:
            continue
        if view.slot_map() != ref.slot_map():
            mine, theirs = owners(view), owners(ref)
            differ = slots_to_ranges(s for s in range(SLOTS) if mine.get(s) != theirs.get(s))
            problems.append(_f(view.address, "slot_map_mismatch", "Node %s: its slot map differs from the one %s and "
                               "most nodes have, in slots %s, expected the same map on every node."
                               % (view.address, ref.address, ranges_text(differ)),
                               expected=ref.address, seen=ranges_text(differ)))
        if view.known_ids() != ref.known_ids():
            extra = sorted(i[:8] for i in view.known_ids() - ref.known_ids())
            missing = sorted(i[:8] for i in ref.known_ids() - view.known_ids())
            text = ("Node %s: knows %d nodes (extra: %s, missing: %s), expected the %d nodes %s knows."
                    % (view.address, len(view.known_ids()), ", ".join(extra) or "none", ", ".join(missing) or "none",
                       len(ref.known_ids()), ref.address))
            problems.append(_f(view.address, "node_list_mismatch", text, expected=len(ref.known_ids()),
                               seen=len(view.known_ids())))
    return problems


def judge_slots(views, ref):
    """All 16384 slots assigned, each served by the node that owns it, none open."""
    problems = []
    owner = owners(ref)
    missing = slots_to_ranges(s for s in range(SLOTS) if s not in owner)
    if missing:
        count = sum(e - s + 1 for s, e in missing)
        problems.append(_f(None, "slots_unassigned", "%d slots (%s) have no owner in the map of %s, expected all %d "
                           "assigned." % (count, ranges_text(missing), ref.address, SLOTS),
                           expected=SLOTS, seen=SLOTS - count))
    by_id = {v.id: v for v in views if v.reachable and v.id}
    addresses = id_to_address(ref)
    for node in ref.nodes:
        if not node.slots:
            continue
        view = by_id.get(node.id)
        if view is None or view.me is None:
            text = ("Node %s owns %d slots in the map of %s but did not answer, expected every owner to serve its "
                    "slots." % (node.address, node.slot_count(), ref.address))
            problems.append(_f(node.address, "slots_not_served", text, expected="served", seen="unreachable"))
        elif tuple(view.me.slots) != tuple(node.slots) or not view.me.is_primary:
            problems.append(_f(node.address, "slots_not_served", "Node %s serves %d slots itself, expected the %d "
                               "the cluster assigns to it." % (node.address, view.me.slot_count(), node.slot_count()),
                               expected=node.slot_count(), seen=view.me.slot_count()))
    for view in views:
        for slot, state, other in view.open_slots():
            problems.append(_f(view.address, "slot_open", "Node %s: slot %d is %s %s %s, expected no open slot "
                               "(an unfinished reshard)." % (view.address, slot, state,
                                                             "to" if state == "migrating" else "from",
                                                             addresses.get(other, other[:8])),
                               expected="stable", seen="%s %d" % (state, slot)))
    return problems


def judge_nodes(views, ref, expect):
    """Flags, config epochs, primaries count."""
    problems = []
    for view in views:
        for node in view.nodes:
            bad = [f for f in node.flags if f in BAD_FLAGS]
            if bad:
                problems.append(_f(node.address, "node_flags", "Node %s: flagged %s by %s, expected no failure flag."
                                   % (node.address, ",".join(bad), view.address), expected="none", seen=bad))
    epochs = {}
    for node in ref.nodes:
        if node.is_primary and node.slots:
            epochs.setdefault(node.config_epoch, []).append(node.address)
    for epoch, addresses in sorted(epochs.items()):
        if len(addresses) > 1:
            problems.append(_f(", ".join(addresses), "config_epoch_duplicate", "Primaries %s share config epoch %d, "
                               "expected a unique epoch each." % (", ".join(addresses), epoch),
                               expected="unique", seen=epoch))
    serving = [n for n in ref.nodes if n.is_primary and n.slots]
    wanted = expect.primaries if expect.primaries is not None else MIN_PRIMARIES
    if len(serving) >= MIN_PRIMARIES and len(serving) + len(waiting_primaries(ref)) == wanted:
        pass  # new primaries waiting for slots: a note (rebalance_notes), not a fault
    elif (expect.primaries is not None and len(serving) != wanted) or len(serving) < MIN_PRIMARIES:
        problems.append(_f(None, "primary_count", "The cluster has %d primaries serving slots, expected %s%d."
                           % (len(serving), "" if expect.primaries is not None else "at least ", wanted),
                           expected=wanted, seen=len(serving)))
    return problems


def waiting_primaries(ref):
    """Members that are primaries without slots and without a failure flag: new nodes waiting for a rebalance."""
    return [n for n in ref.nodes if n.is_primary and not n.slots and not any(f in BAD_FLAGS for f in n.flags)]


def rebalance_notes(ref, expect):
    """What the gate says but does not fail on: primaries without slots that make up the expected count."""
    serving = [n for n in ref.nodes if n.is_primary and n.slots]
    waiting = waiting_primaries(ref)
    if not waiting or expect.primaries is None or len(serving) + len(waiting) != expect.primaries:
        return []
    return ["Primaries %s hold no slots yet (%d of %d primaries serve slots): move slots to them with "
            "ha.redis.cluster_rebalance (site.yml -e redis_cluster_rebalance=true)."
            % (", ".join(sorted(n.address for n in waiting)), len(serving), expect.primaries)]


def judge_replicas(views, ref, expect):
    """Per primary: replica count, link, lag, and no replica on its primary's inventory host."""
    problems = []
    by_id = {v.id: v for v in views if v.reachable and v.id}
    for primary in (n for n in ref.nodes if n.is_primary and n.slots):
        replicas = [n for n in ref.nodes if n.primary_id == primary.id and not n.is_primary]
        if expect.replicas is not None and len(replicas) != expect.replicas:
            problems.append(_f(primary.address, "replica_count", "Primary %s has %d replicas (%s), expected %d."
                               % (primary.address, len(replicas), ", ".join(r.address for r in replicas) or "none",
                                  expect.replicas), expected=expect.replicas, seen=len(replicas)))
        pview = by_id.get(primary.id)
        primary_offset = to_int(pview.replication.get("master_repl_offset")) if pview else None
        for replica in replicas:
            rview = by_id.get(replica.id)
            if rview is None:
                continue
            if pview is not None and rview.inventory_host == pview.inventory_host:
                problems.append(_f(replica.address, "replica_same_host", "Replica %s runs on inventory host %s like "
                                   "its primary %s, expected another host (anti-affinity)."
                                   % (replica.address, rview.inventory_host, primary.address),
                                   expected="another host", seen=rview.inventory_host))
            link = rview.replication.get("master_link_status")
            if replica.link_state != "connected" or link != "up":
                problems.append(_f(replica.address, "replica_link_down", "Replica %s: link to primary %s is %s, "
                                   "expected up." % (replica.address, primary.address, link or replica.link_state),
                                   expected="up", seen=link or replica.link_state))
                continue
            offset = to_int(rview.replication.get("slave_repl_offset"))
            if primary_offset is not None and offset is not None and primary_offset - offset > expect.max_lag_bytes:
                problems.append(_f(replica.address, "replica_lag_bytes", "Replica %s is %d bytes behind primary %s, "
                                   "expected at most %d." % (replica.address, primary_offset - offset,
                                                             primary.address, expect.max_lag_bytes),
                                   expected=expect.max_lag_bytes, seen=primary_offset - offset))
    return problems


def shards(ref, views=()):
    """[{primary, id, slots, ranges, config_epoch, replicas: [address]}] from the reference view."""
    if ref is None:
        return []
    hosts = {v.id: v.inventory_host for v in views if v.id}
    result = []
    for node in sorted((n for n in ref.nodes if n.is_primary), key=lambda n: (n.slots[:1] or ((SLOTS, 0),), n.address)):
        replicas = sorted(n.address for n in ref.nodes if n.primary_id == node.id and not n.is_primary)
        result.append(dict(primary=node.address, id=node.id, inventory_host=hosts.get(node.id),
                           slots=node.slot_count(), ranges=[list(r) for r in node.slots],
                           config_epoch=node.config_epoch, replicas=replicas))
    return result


def evaluate(views, expect):
    """Run every judge -> dict(problems, reference, shards, report)."""
    problems = judge_reachable(views)
    ref = reference_view(views)
    if ref is None:
        none = _f(None, "no_cluster", "No node answered CLUSTER NODES, expected a cluster.")
        return dict(problems=problems or [none], reference=None, shards=[], report=[], notes=[])
    for judge in (judge_membership, judge_agreement, judge_slots):
        problems += judge(views, ref)
    problems += judge_nodes(views, ref, expect)
    problems += judge_replicas(views, ref, expect)
    found = shards(ref, views)
    notes = rebalance_notes(ref, expect)
    report = ["%s: %d slots (%s), epoch %d, replicas %s" % (s["primary"], s["slots"], ranges_text(s["ranges"]),
                                                            s["config_epoch"], ", ".join(s["replicas"]) or "none")
              for s in found] + ["NOTE: " + n for n in notes]
    return dict(problems=problems, reference=ref.address, shards=found, report=report, notes=notes)


def failure_message(problems, elapsed, attempts):
    return "The cluster check failed after %d attempts in %.1fs: %s" % (
        attempts, elapsed, " ".join(p.message for p in problems))
