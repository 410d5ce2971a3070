# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rules that judge what Sentinels and data nodes said about a replication group, and the report. Pure.

Private to the collection: the interface may change between releases.

``judge_*`` functions go from the collected state (``_sentinel_model``) and the :class:`Expectations` to a list
of :class:`Finding` (problems and warnings), each naming the node, the expected and the seen value; ``evaluate``
runs them all for a set of groups.
"""

from __future__ import annotations

from dataclasses import dataclass

from ansible_collections.ha.redis.plugins.module_utils._sentinel_model import (
    BAD_INSTANCE_FLAGS,
    DEFAULT_MAX_LAG_BYTES,
    DEFAULT_MAX_LAG_SECONDS,
    Finding,
    agree_primary,
    leading_primary,
    majority,
)


# --------------------------------------------------------------------------------------------------------------
# Judging (pure)
# --------------------------------------------------------------------------------------------------------------
@dataclass
class Expectations:
    sentinels: int
    replicas: int | None = None
    max_lag_bytes: int = DEFAULT_MAX_LAG_BYTES
    max_lag_seconds: int = DEFAULT_MAX_LAG_SECONDS
    # min-replicas-to-write the inventory declares for the group: None = not declared (a primary that runs without
    # it is warned about), 0 = explicitly unbounded (no warning), N = the value the primary should have.
    min_replicas_to_write: int | None = None


def judge_sentinels_reachable(sentinels):
    """A problem for every Sentinel that did not answer, with the reason (refused, auth, timeout)."""
    problems = []
    for state in sentinels.values():
        if not state.reachable:
            problems.append(Finding(None, state.address, "sentinel_unreachable",
                                    "Sentinel %s: %s, expected it to answer." % (state.address, state.error),
                                    expected="reachable", seen=state.error))
    return problems


def judge_sentinel_ids(sentinels):
    """Two Sentinels with one ID (a copied sentinel.conf) never count as two votes."""
    seen, problems = {}, []
    for state in sentinels.values():
        if state.reachable and state.myid:
            seen.setdefault(state.myid, []).append(state.address)
    for myid, addrs in sorted(seen.items()):
        if len(addrs) > 1:
            problems.append(Finding(None, ", ".join(addrs), "sentinel_duplicate_id",
                                    "Sentinels %s share the ID %s, expected a unique ID each (copied sentinel.conf?)."
                                    % (", ".join(addrs), myid), expected="unique", seen=myid))
    return problems


def judge_group_sentinels(name, sentinels, agreement, expect):
    """Per-Sentinel checks of one group: monitors it, same primary, not down, counts, quorum, CKQUORUM."""
    problems, warnings = [], []
    reachable = [s for s in sentinels.values() if s.reachable]
    if reachable and agreement["monitoring"] == 0:
        problems.append(Finding(name, None, "group_unknown",
                                "Group %s: no Sentinel monitors it (asked %d), expected all %d to."
                                % (name, len(reachable), expect.sentinels),
                                expected=expect.sentinels, seen=0))
        return problems, warnings
    expected_primary = agreement["primary"] or leading_primary(agreement)
    if agreement["status"] in ("split", "no_majority"):
        problems.append(Finding(name, None, "no_primary_majority",
                                "Group %s: no majority of the %d Sentinels agrees on a primary (votes: %s), expected "
                                "at least %d to name the same one."
                                % (name, agreement["total"], _votes_text(agreement["votes"]), agreement["majority"]),
                                expected=agreement["majority"], seen=agreement["votes"]))
    need = majority(expect.sentinels)
    for state in reachable:
        view = state.groups.get(name)
        where = "Group %s, Sentinel %s" % (name, state.address)

        def add(check, text, expected=None, seen=None, warn=False, _where=where, _node=state.address):
            (warnings if warn else problems).append(
                Finding(name, _node, check, "%s: %s" % (_where, text), expected=expected, seen=seen))

        if view is None or not view.monitored:
            detail = " (%s)" % view.error if view is not None and view.error else ""
            add("not_monitored", "does not monitor the group%s, expected it to." % detail,
                expected="monitored", seen="not monitored")
            continue
        if expected_primary and view.primary != expected_primary:
            add("primary_mismatch", "sees primary %s, expected %s (named by %d of %d Sentinels)."
                % (view.primary, expected_primary, agreement["votes"].get(expected_primary, 0), agreement["total"]),
                expected=expected_primary, seen=view.primary)
        if "o_down" in view.flags:
            add("primary_o_down", "primary %s is objectively down (o_down), expected it up."
                % view.primary, expected="up", seen=view.flags)
        elif "s_down" in view.flags:
            add("primary_s_down", "primary %s is subjectively down (s_down), expected it up."
                % view.primary, expected="up", seen=view.flags)
        elif "disconnected" in view.flags:
            add("primary_disconnected", "has no link to primary %s, expected a link." % view.primary,
                expected="connected", seen=view.flags)
        if view.failover_in_progress:
            add("failover_in_progress", "a failover is in progress (state %s, flags %s), expected none."
                % (view.failover_state, ",".join(view.flags)), expected="none", seen=view.failover_state)
        others = view.num_other_sentinels if view.num_other_sentinels is not None else len(view.sentinels)
        if others != expect.sentinels - 1:
            add("sentinel_count", "knows %d other Sentinels, expected %d." % (others, expect.sentinels - 1),
                expected=expect.sentinels - 1, seen=others)
        for other in view.sentinels:
            bad = [f for f in other.flags if f in BAD_INSTANCE_FLAGS]
            if bad:
                add("sentinel_down", "sees Sentinel %s as %s, expected it up." % (other.address, ",".join(bad)),
                    expected="up", seen=other.flags)
        known_replicas = len(view.replicas) if view.replicas or view.num_replicas is None else view.num_replicas
        if expect.replicas is not None and known_replicas != expect.replicas:
            add("replica_count", "knows %d replicas, expected %d." % (known_replicas, expect.replicas),
                expected=expect.replicas, seen=known_replicas)
        for replica in view.replicas:
            bad = [f for f in replica.flags if f in BAD_INSTANCE_FLAGS]
            if bad:
                add("replica_down", "sees replica %s as %s, expected it up." % (replica.address, ",".join(bad)),
                    expected="up", seen=replica.flags)
            elif replica.master_link_status not in (None, "ok"):
                add("replica_link_down", "sees replica %s with link %s to its primary, expected ok."
                    % (replica.address, replica.master_link_status), expected="ok", seen=replica.master_link_status)
        if view.quorum is not None:
            if view.quorum > expect.sentinels:
                add("quorum_too_high", "quorum is %d, more than the %d Sentinels: no failover can ever be agreed."
                    % (view.quorum, expect.sentinels), expected="<= %d" % expect.sentinels, seen=view.quorum)
            elif view.quorum < need:
                add("quorum_below_majority", "quorum is %d, below a majority (%d) of the %d Sentinels: a minority "
                    "partition can declare the primary down." % (view.quorum, need, expect.sentinels),
                    expected=">= %d" % need, seen=view.quorum, warn=True)
        if view.ckquorum_ok is False:
            add("ckquorum", "CKQUORUM failed: %s" % view.ckquorum_message, expected="OK", seen=view.ckquorum_message)
    return problems, warnings


def judge_group_data_nodes(name, primary, replica_addresses, nodes, expect):
    """Checks of the data nodes of one group against the primary the Sentinels agree on."""
    problems = []
    if primary is None:
        return problems, 0
    p = nodes.get(primary)
    primary_offset = None
    listed = {}
    if p is None or not p.reachable:
        error = p.error if p is not None else "not queried"
        problems.append(Finding(name, primary, "primary_unreachable",
                                "Group %s, primary %s: %s, expected it to answer." % (name, primary, error),
                                expected="reachable", seen=error))
    elif p.role != "master":
        problems.append(Finding(name, primary, "primary_role",
                                "Group %s, primary %s: reports role %s, expected master." % (name, primary, p.role),
                                expected="master", seen=p.role))
    else:
        primary_offset = p.repl_offset
        listed = {r["address"]: r for r in p.replicas}
    healthy = 0
    for addr in replica_addresses:
        node = nodes.get(addr)
        where = "Group %s, replica %s" % (name, addr)
        if node is None or not node.reachable:
            error = node.error if node is not None else "not queried"
            problems.append(Finding(name, addr, "replica_unreachable",
                                    "%s: %s, expected it to answer." % (where, error),
                                    expected="reachable", seen=error))
            continue
        if node.role != "slave":
            problems.append(Finding(name, addr, "replica_role", "%s: reports role %s, expected slave of %s."
                                    % (where, node.role, primary), expected="slave", seen=node.role))
            continue
        ok = True
        if node.primary != primary:
            problems.append(Finding(name, addr, "replica_primary", "%s: replicates from %s, expected %s."
                                    % (where, node.primary, primary), expected=primary, seen=node.primary))
            ok = False
        if node.master_link_status != "up":
            problems.append(Finding(name, addr, "replica_link_down", "%s: link to its primary is %s, expected up."
                                    % (where, node.master_link_status), expected="up", seen=node.master_link_status))
            ok = False
        elif node.sync_in_progress:
            problems.append(Finding(name, addr, "replica_syncing", "%s: full sync in progress, expected in sync."
                                    % where, expected="in sync", seen="syncing"))
            ok = False
        entry = listed.get(addr)
        if ok and primary_offset is not None:
            if entry is None:
                problems.append(Finding(name, addr, "replica_not_listed", "%s: the primary %s does not list it as "
                                        "connected, expected it to." % (where, primary), expected="listed",
                                        seen="not listed"))
                ok = False
            else:
                lag_bytes = max(0, primary_offset - (entry.get("offset") or 0))
                entry["lag_bytes"] = lag_bytes
                if entry.get("state") != "online":
                    problems.append(Finding(name, addr, "replica_state", "%s: the primary reports state %s, expected "
                                            "online." % (where, entry.get("state")), expected="online",
                                            seen=entry.get("state")))
                    ok = False
                if lag_bytes > expect.max_lag_bytes:
                    problems.append(Finding(name, addr, "replica_lag_bytes", "%s: %d bytes behind the primary, "
                                            "expected at most %d." % (where, lag_bytes, expect.max_lag_bytes),
                                            expected=expect.max_lag_bytes, seen=lag_bytes))
                    ok = False
                lag = entry.get("lag")
                if lag is not None and lag > expect.max_lag_seconds:
                    problems.append(Finding(name, addr, "replica_lag_seconds", "%s: last acknowledged %d s ago, "
                                            "expected at most %d s." % (where, lag, expect.max_lag_seconds),
                                            expected=expect.max_lag_seconds, seen=lag))
                    ok = False
        if ok:
            healthy += 1
    if expect.replicas is not None and healthy != expect.replicas and not problems:
        problems.append(Finding(name, primary, "healthy_replica_count", "Group %s: %d healthy replicas, expected %d."
                                % (name, healthy, expect.replicas), expected=expect.replicas, seen=healthy))
    return problems, healthy


def judge_write_safety(name, primary, node, expect):
    """Whether a partitioned primary of the group would go on acknowledging writes that a failover then drops.

    Problem: the primary refuses writes now (fewer good replicas than min-replicas-to-write). Warnings: it runs
    without the bound although the inventory did not opt out (min_replicas_to_write 0), or with another value
    than the inventory declares.
    """
    problems, warnings = [], []
    if node is None or not node.reachable or node.role != "master" or node.min_replicas_to_write is None:
        return problems, warnings
    where = "Group %s, primary %s" % (name, primary)
    declared = expect.min_replicas_to_write
    if not node.writes_bounded:
        if declared != 0:
            warnings.append(Finding(
                name, primary, "unbounded_writes",
                "%s: min-replicas-to-write is %s and min-replicas-max-lag %s, so if it is cut off from its replicas "
                "it keeps acknowledging writes that the failover then discards; expected min-replicas-to-write %s "
                "(set min_replicas_to_write: 0 for the group to accept this)."
                % (where, node.min_replicas_to_write, node.min_replicas_max_lag,
                   declared if declared else "of at least 1"),
                expected=declared if declared else ">= 1", seen=node.min_replicas_to_write))
        return problems, warnings
    if declared is not None and declared != node.min_replicas_to_write:
        warnings.append(Finding(
            name, primary, "min_replicas_drift",
            "%s: min-replicas-to-write is %d, expected %d as the inventory declares (changed by hand?)."
            % (where, node.min_replicas_to_write, declared), expected=declared, seen=node.min_replicas_to_write))
    if node.good_replicas is not None and node.good_replicas < node.min_replicas_to_write:
        problems.append(Finding(
            name, primary, "writes_refused",
            "%s: refuses writes: %d replica(s) acknowledged within %d s, expected at least %d "
            "(min-replicas-to-write)." % (where, node.good_replicas, node.min_replicas_max_lag,
                                          node.min_replicas_to_write),
            expected=node.min_replicas_to_write, seen=node.good_replicas))
    return problems, warnings


def group_replica_addresses(name, sentinels, primary, nodes=None):
    """Every replica address any Sentinel lists for ``name`` (plus those the primary lists), sorted."""
    found = set()
    for state in sentinels.values():
        view = state.groups.get(name) if state.reachable else None
        if view is not None and view.monitored and view.primary == primary:
            found.update(r.address for r in view.replicas)
    if nodes and primary in nodes and nodes[primary].reachable:
        found.update(r["address"] for r in nodes[primary].replicas)
    found.discard(primary)
    return sorted(found)


def _votes_text(votes):
    return ", ".join("%s x%d" % (addr, n) for addr, n in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))) \
        or "none"


# --------------------------------------------------------------------------------------------------------------
# Report (pure)
# --------------------------------------------------------------------------------------------------------------
def report_lines(name, agreement, sentinels, nodes, replica_addresses):
    """Compact human-readable lines for one group: primary, replicas with lag, each Sentinel's view."""
    primary = agreement["primary"] or leading_primary(agreement)
    lines = ["%s: primary %s (%s, named by %d/%d Sentinels)"
             % (name, primary or "-", agreement["status"], agreement["votes"].get(primary, 0), agreement["total"])]
    p = nodes.get(primary) if primary else None
    listed = {r["address"]: r for r in p.replicas} if p is not None and p.reachable else {}
    for addr in replica_addresses:
        node = nodes.get(addr)
        entry = listed.get(addr)
        if node is None or not node.reachable:
            state = "unreachable (%s)" % (node.error if node is not None else "not queried")
        elif node.role != "slave":
            state = "role %s, expected a replica of %s" % (node.role, primary)
        else:
            state = "link %s" % node.master_link_status
            if node.primary != primary:
                state += ", replicates from %s" % node.primary
        if entry is not None and p.repl_offset is not None:
            lag_bytes = max(0, p.repl_offset - (entry.get("offset") or 0))
            state += ", %s, lag %d B / %s s" % (entry.get("state"), lag_bytes, entry.get("lag"))
        lines.append("  replica %s: %s" % (addr, state))
    for state in sentinels.values():
        if not state.reachable:
            lines.append("  sentinel %s: unreachable (%s)" % (state.address, state.error))
            continue
        view = state.groups.get(name)
        if view is None or not view.monitored:
            lines.append("  sentinel %s: does not monitor %s" % (state.address, name))
            continue
        lines.append("  sentinel %s: primary %s [%s] quorum %s, %s other sentinels, %s replicas, epoch %s, ckquorum %s"
                     % (state.address, view.primary, ",".join(view.flags), view.quorum, view.num_other_sentinels,
                        view.num_replicas, view.config_epoch, "ok" if view.ckquorum_ok else "FAILED"))
    return lines


def evaluate(names, sentinels, nodes, expectations):
    """Judge collected state. ``expectations``: ``{name: Expectations}``. Pure.

    Returns ``dict(problems=[Finding], warnings=[Finding], groups={name: summary}, report=[str])``.
    """
    problems = judge_sentinels_reachable(sentinels) + judge_sentinel_ids(sentinels)
    warnings, groups, report = [], {}, []
    for name in names:
        expect = expectations[name]
        agreement = agree_primary(name, sentinels, total=len(sentinels))
        primary = agreement["primary"] or leading_primary(agreement)
        group_problems, group_warnings = judge_group_sentinels(name, sentinels, agreement, expect)
        replica_addrs = group_replica_addresses(name, sentinels, primary, nodes) if primary else []
        node_problems, healthy = judge_group_data_nodes(name, primary, replica_addrs, nodes, expect)
        safety_problems, safety_warnings = judge_write_safety(name, primary, nodes.get(primary) if primary else None,
                                                              expect)
        node_problems += safety_problems
        problems += group_problems + node_problems
        warnings += group_warnings + safety_warnings
        quorum = None
        for state in sentinels.values():
            view = state.groups.get(name) if state.reachable else None
            if view is not None and view.monitored and view.primary == primary:
                quorum = view.quorum
                break
        p = nodes.get(primary) if primary else None
        listed = {r["address"]: r for r in p.replicas} if p is not None and p.reachable else {}
        replicas = []
        for addr in replica_addrs:
            node = nodes.get(addr)
            entry = listed.get(addr) or {}
            lag_bytes = None
            if entry and p.repl_offset is not None and entry.get("offset") is not None:
                lag_bytes = max(0, p.repl_offset - entry["offset"])
            replicas.append(dict(
                address=addr,
                reachable=bool(node is not None and node.reachable),
                replicates_from=node.primary if node is not None else None,
                link=node.master_link_status if node is not None else None,
                state=entry.get("state"),
                lag_bytes=lag_bytes,
                lag_seconds=entry.get("lag"),
            ))
        groups[name] = dict(
            name=name,
            primary=primary,
            status=agreement["status"],
            votes=agreement["votes"],
            views=agreement["views"],
            quorum=quorum,
            healthy_replicas=healthy,
            replicas=replicas,
            min_replicas_to_write=p.min_replicas_to_write if p is not None else None,
            min_replicas_max_lag=p.min_replicas_max_lag if p is not None else None,
            ok=not (group_problems or node_problems),
        )
        report += report_lines(name, agreement, sentinels, nodes, replica_addrs)
    return dict(problems=problems, warnings=warnings, groups=groups, report=report)


def failure_message(problems, elapsed, attempts):
    """One message listing every problem (the last attempt's)."""
    items = "; ".join("(%d) %s" % (i + 1, p.message) for i, p in enumerate(problems))
    return "Sentinel quorum check failed after %.1f s (%d attempt%s) with %d problem%s: %s" % (
        elapsed, attempts, "" if attempts == 1 else "s", len(problems), "" if len(problems) == 1 else "s", items)
