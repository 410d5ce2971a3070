# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Move every Redis Cluster primary off some hosts, one ``CLUSTER FAILOVER`` at a time (before those hosts restart).

Private to the collection: the interface may change between releases.

The choices are pure and take the views (``_cluster_model.NodeView``) read first: which declared nodes are "away"
(:func:`away_addresses`), which replica takes over each primary on them (:func:`replica_candidates`,
:func:`plan_failovers`), when every node agrees that one failover is done (:func:`failover_problems`), and the
membership a plan leads to (:func:`predicted_membership`). :func:`move_primaries` does the I/O: it sends one
``CLUSTER FAILOVER`` to the chosen replica, waits until every reachable node agrees, then goes on to the next.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from ansible_collections.ha.redis.plugins.module_utils._cluster_model import (
    DOWN_FLAGS,
    ranges_to_slots,
    reference_view,
    to_int,
)
from ansible_collections.ha.redis.plugins.module_utils._cluster_ops import collect, wait_for
from ansible_collections.ha.redis.plugins.module_utils._connection import (
    DEFAULT_REDIS_PORT,
    Deadline,
    HaRedisError,
    parse_endpoint,
)

MODES = ("default", "force")
# Redis gives up a manual failover after 5 s (CLUSTER_MF_TIMEOUT); the primary's clients wait that long. A replica
# that won an election less than 4 x cluster-node-timeout ago does not hold a new one (it reuses the old, stale
# election and is turned back into a replica; seen with Redis 7.0.15, Valkey has since changed it). Such a failover is
# asked for once more, when the replica holds a new election again: not before 6 s, and 4 x cluster-node-timeout after
# the first command.
RESEND_AFTER = 6.0
DEFAULT_NODE_TIMEOUT_MS = 15000
# Flags that keep a replica from taking over (``nofailover`` does not: it blocks only automatic failovers).
UNFIT_FLAGS = ("fail", "fail?", "handshake", "noaddr")


@dataclass(frozen=True)
class Candidate:
    """A replica of a primary to move, and why it cannot take over (``reasons`` empty: it can)."""

    address: str                 # the declared address, or the CLUSTER NODES address of an undeclared node
    id: str
    inventory_host: str | None
    offset: int | None
    order: int                   # position in option nodes (undeclared: after every declared node)
    reasons: tuple = ()

    @property
    def eligible(self):
        return not self.reasons


@dataclass(frozen=True)
class Step:
    """One planned failover: ``replica`` takes over ``primary``'s slots; ``siblings`` follow it."""

    primary: str                 # declared address
    primary_id: str
    replica: str                 # declared address (the command goes there)
    replica_id: str
    replica_seen_as: str         # the replica's address in CLUSTER NODES (what "replica of" names)
    ranges: tuple                # ((start, end), ...) the primary serves
    siblings: tuple = ()         # declared addresses of the primary's other replicas

    @property
    def slots(self):
        return sum(end - start + 1 for start, end in self.ranges)


def away_addresses(away_from, declared):
    """Option ``away_from`` -> the set of declared addresses on those hosts.

    An entry is an inventory host (every declared node on it) or a declared ``host:port``. An entry that is
    neither is refused: a misspelt host would otherwise leave its primaries in place and report no change.
    """
    hosts = {}
    for node in declared:
        hosts.setdefault(node.inventory_host, set()).add(node.address)
    addresses = {node.address for node in declared}
    result = set()
    for item in away_from or []:
        text = str(item).strip()
        if text in hosts:
            result |= hosts[text]
            continue
        try:
            address = str(parse_endpoint(text, DEFAULT_REDIS_PORT))
        except HaRedisError:
            address = None
        if address not in addresses:
            raise HaRedisError("Option away_from names %s, expected an inventory host (%s) or a host:port of option "
                               "nodes." % (text, ", ".join(sorted(hosts))))
        result.add(address)
    if not result:
        raise HaRedisError("Option away_from is empty, expected the inventory hosts or host:port addresses to move "
                           "the primaries away from.")
    return result


def _by_id(views):
    return {v.id: v for v in views if v.reachable and v.id}


def view_of(node, views, by_id=None):
    """The declared node's view of a CLUSTER NODES entry: by id, else (a node that does not answer) by address."""
    by_id = _by_id(views) if by_id is None else by_id
    return by_id.get(node.id) or next((v for v in views if v.address == node.address), None)


def is_away(node, views, away, by_id=None):
    """A CLUSTER NODES entry runs on an away host: by its declared address, or by its own address."""
    view = view_of(node, views, by_id)
    return (view is not None and view.address in away) or node.address in away


def replica_candidates(primary, ref, views, away, mode="default", order=()):
    """Every replica of ``primary`` (a NodeEntry of ``ref``) as a :class:`Candidate`, the preferred first.

    Eligible: a declared node that answers, is not flagged failing, agrees it replicates ``primary``, does not run on
    an away host and - in mode ``default`` - has its replication link up (``master_link_status:up``). Mode ``force``
    is for a primary that is down, so there the link is not required. Preference: eligible ones first, then the
    highest replication offset (``slave_repl_offset``), then the order of option nodes.
    """
    by_id = _by_id(views)
    order = list(order)
    result = []
    for node in ref.nodes:
        if node.is_primary or node.primary_id != primary.id:
            continue
        view, known = by_id.get(node.id), view_of(node, views, by_id)
        address = known.address if known is not None else node.address
        reasons = []
        if view is None:
            reasons.append("does not answer" if known is not None else "not in option nodes")
        if is_away(node, views, away, by_id):
            reasons.append("on a host named in away_from")
        bad = [f for f in node.flags if f in UNFIT_FLAGS]
        if bad:
            reasons.append("flagged %s" % ",".join(bad))
        offset = None
        if view is not None:
            me = view.me
            if me is None or me.is_primary or me.primary_id != primary.id:
                reasons.append("its own view names another primary")
            link = view.replication.get("master_link_status")
            if mode == "default" and link != "up":
                reasons.append("replication link %s" % (link or "unknown"))
            offset = to_int(view.replication.get("slave_repl_offset"))
        result.append(Candidate(address=address, id=node.id, inventory_host=known.inventory_host if known else None,
                                offset=offset, order=order.index(address) if address in order else len(order),
                                reasons=tuple(reasons)))
    result.sort(key=lambda c: (not c.eligible, -(c.offset if c.offset is not None else -1), c.order, c.address))
    return result


def choose_replica(candidates):
    """The first eligible candidate (they come sorted by preference), or None."""
    return next((c for c in candidates if c.eligible), None)


def primaries_to_move(ref, views, away, order=()):
    """The primaries that serve slots on an away host, in the order of option nodes."""
    by_id = _by_id(views)
    order = list(order)
    found = [n for n in ref.nodes if n.is_primary and n.slots and is_away(n, views, away, by_id)]

    def key(node):
        view = view_of(node, views, by_id)
        address = view.address if view is not None else node.address
        return (order.index(address) if address in order else len(order), address)
    return sorted(found, key=key)


def describe(primary, view):
    host = " on host %s" % view.inventory_host if view is not None and view.inventory_host else ""
    return "Primary %s%s (%d slots)" % (view.address if view is not None else primary.address, host,
                                        primary.slot_count())


def plan_failovers(views, declared, away, mode="default"):
    """The failovers to run, as [:class:`Step`], or HaRedisError naming the first primary that cannot move.

    Raises before anything is sent when no node answered CLUSTER NODES, when (mode ``default``) a primary to move
    does not answer or is flagged failing, or when a primary has no eligible replica; ``details`` then carry
    ``refused``: every such primary with its replicas and their reasons.
    """
    ref = reference_view(views)
    if ref is None:
        raise HaRedisError("No declared node answered CLUSTER NODES (%s), expected a reachable cluster."
                           % "; ".join("%s: %s" % (v.address, v.error) for v in views))
    order = [n.address for n in declared]
    by_id = _by_id(views)
    steps, refused = [], []
    for primary in primaries_to_move(ref, views, away, order):
        view = view_of(primary, views, by_id)
        name = describe(primary, view)
        if mode == "default":
            down = [f for f in primary.flags if f in DOWN_FLAGS]
            if primary.id not in by_id or down:
                why = "does not answer" if primary.id not in by_id else "is flagged %s" % ",".join(down)
                refused.append(dict(primary=view.address if view else primary.address, replicas=[],
                                    message="%s %s, expected it up for a coordinated failover (mode force is for a "
                                            "primary that is down)." % (name, why)))
                continue
        candidates = replica_candidates(primary, ref, views, away, mode, order)
        chosen = choose_replica(candidates)
        if chosen is None:
            seen = "; ".join("%s: %s" % (c.address, ", ".join(c.reasons)) for c in candidates) or "none"
            expected = "a replica that answers%s and runs on a host not in away_from" % (
                ", has its replication link up" if mode == "default" else "")
            refused.append(dict(primary=view.address if view else primary.address,
                                replicas=[dict(address=c.address, reasons=list(c.reasons)) for c in candidates],
                                message="%s has no replica that can take over (replicas: %s), expected %s."
                                        % (name, seen, expected)))
            continue
        siblings = tuple(c.address for c in candidates if c.id != chosen.id)
        seen_as = next(n.address for n in ref.nodes if n.id == chosen.id)
        steps.append(Step(primary=view.address if view else primary.address, primary_id=primary.id,
                          replica=chosen.address, replica_id=chosen.id, replica_seen_as=seen_as,
                          ranges=tuple(primary.slots), siblings=siblings))
    if refused:
        raise HaRedisError(refused[0]["message"], refused=refused)
    return steps


def failover_problems(views, step, mode="default"):
    """What keeps ``step`` from being done, as seen by the reachable nodes ([] = done).

    Done: every node that answers says ``cluster_state:ok`` and sees the replica as a primary serving exactly the
    old primary's slots and the old primary as a replica of it. In mode ``force`` an old primary that does not answer
    (it is down) only has to serve no slot any more.
    """
    wanted = set(ranges_to_slots(step.ranges))
    old_answers = any(v.reachable and v.id == step.primary_id for v in views)
    problems = []
    for view in views:
        if not view.reachable or not view.nodes:
            continue
        entries = {n.id: n for n in view.nodes}
        new, old = entries.get(step.replica_id), entries.get(step.primary_id)
        if view.state != "ok":
            problems.append("%s says cluster_state %s" % (view.address, view.state))
        if new is None or not new.is_primary or set(ranges_to_slots(new.slots)) != wanted:
            problems.append("%s does not see %s as the primary of the %d slots" % (view.address, step.replica,
                                                                                   step.slots))
        if old is None:
            continue
        if mode == "force" and not old_answers:
            if old.slots:
                problems.append("%s still sees %s serving slots" % (view.address, step.primary))
        elif old.is_primary or old.primary_id != step.replica_id:
            problems.append("%s does not see %s as a replica of %s" % (view.address, step.primary, step.replica))
    return problems


def predicted_membership(before, steps):
    """The membership (``_cluster_converge.membership``) once ``steps`` are done: what check mode shows as after."""
    after = dict(before)
    for step in steps:
        after[step.replica] = "primary (%d slots)" % step.slots
        for address in (step.primary,) + tuple(step.siblings):
            if address in after:
                after[address] = "replica of %s" % step.replica_seen_as
    return after


def resend_delay(node_timeout_ms):
    """Seconds after a failed CLUSTER FAILOVER until the replica holds a new election (Redis' auth retry time)."""
    auth_timeout = max(2 * (node_timeout_ms or DEFAULT_NODE_TIMEOUT_MS), 2000)
    return max(RESEND_AFTER, 2 * auth_timeout / 1000.0 + 0.5)


def node_timeout_ms(op, address):
    """The node's cluster-node-timeout (ms), or None when CONFIG GET is not allowed."""
    try:
        reply = op.client(address).execute_command("CONFIG", "GET", "cluster-node-timeout")
    except Exception:  # noqa: BLE001 - a renamed or forbidden CONFIG: the default is assumed
        return None
    values = list(reply.values()) if isinstance(reply, dict) else list(reply or [])[1:]
    return to_int(values[0]) if values else None


def should_resend(views, step):
    """The replica answers and still replicates the old primary: the failover asked for did not happen."""
    view = next((v for v in views if v.reachable and v.id == step.replica_id), None)
    me = view.me if view is not None else None
    return me is not None and not me.is_primary and me.primary_id == step.primary_id


def _still_fit(views, step, away, mode, order):
    """Re-check a planned step on fresh views, just before its command (an earlier failover took time)."""
    ref = reference_view(views)
    primary = next((n for n in ref.nodes if n.id == step.primary_id), None) if ref else None
    if primary is None or not primary.is_primary or not primary.slots:
        return "%s no longer serves slots" % step.primary
    candidate = next((c for c in replica_candidates(primary, ref, views, away, mode, order)
                      if c.id == step.replica_id), None)
    if candidate is None:
        return "%s is no longer a replica of %s" % (step.replica, step.primary)
    if not candidate.eligible:
        return "%s: %s" % (step.replica, ", ".join(candidate.reasons))
    return None


def _wait_step(declared, settings, step, mode, deadline, until, sleep):
    """Wait until ``step`` is done, ``deadline`` passes or monotonic time ``until`` (None: no limit): (done, views)."""
    left = deadline.remaining() if until is None else min(deadline.remaining(), max(0.0, until - time.monotonic()))
    return wait_for(declared, settings, Deadline(left), lambda found: not failover_problems(found, step, mode),
                    sleep=sleep)


def move_primaries(declared, views, op, settings, away, mode="default", timeout=30.0, sleep=0.05):
    """Plan from ``views``, then run the failovers one at a time. Returns (steps, failovers done).

    In check mode only the commands are recorded. Raises HaRedisError (``details``: ``failovers`` done so far) when a
    node refuses the command or the nodes do not all agree within ``timeout`` seconds of one failover.
    """
    steps = plan_failovers(views, declared, away, mode)
    done = []
    order = [n.address for n in declared]
    command = ("CLUSTER", "FAILOVER", "FORCE") if mode == "force" else ("CLUSTER", "FAILOVER")
    for index, step in enumerate(steps):
        if index and not op.check_mode:
            unfit = _still_fit(collect(declared, settings), step, away, mode, order)
            if unfit:
                raise HaRedisError("Replica %s cannot take over primary %s any more (%s), expected it still fit after "
                                   "the earlier failovers." % (step.replica, step.primary, unfit), failovers=done)
        started, deadline = time.monotonic(), Deadline(timeout)
        try:
            op.run(step.replica, *command)
        except HaRedisError as exc:
            raise HaRedisError(str(exc), failovers=done) from exc
        if op.check_mode:
            done.append(dict(primary=step.primary, replica=step.replica, slots=step.slots, elapsed=None))
            continue
        sent, delay = 1, None
        ok, last = _wait_step(declared, settings, step, mode, deadline, started + RESEND_AFTER, sleep)
        if not ok and not deadline.expired() and should_resend(last, step):
            delay = resend_delay(node_timeout_ms(op, step.replica))
            ok, last = _wait_step(declared, settings, step, mode, deadline, started + delay, sleep)
            if not ok and not deadline.expired() and should_resend(last, step):
                try:
                    op.run(step.replica, *command)
                except HaRedisError as exc:
                    raise HaRedisError(str(exc), failovers=done) from exc
                sent += 1
        if not ok:
            ok, last = _wait_step(declared, settings, step, mode, deadline, None, sleep)
        if not ok:
            problems = failover_problems(last, step, mode)
            text = ("Replica %s did not take over primary %s within %gs of %s (sent %d times), expected every node to "
                    "see it as the primary of the %d slots: %s.")
            hint = ""
            if sent == 1 and delay is not None and delay > timeout:
                hint = (" Redis does not hold a new election on a replica that won one less than 4 x "
                        "cluster-node-timeout ago; a timeout above %.0fs asks it again once it does." % delay)
            raise HaRedisError(text % (step.replica, step.primary, timeout, " ".join(command), sent, step.slots,
                                       "; ".join(problems[:4])) + hint, failovers=done, waiting_for=problems)
        done.append(dict(primary=step.primary, replica=step.replica, slots=step.slots,
                         elapsed=round(time.monotonic() - started, 3)))
    return steps, done
