# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The safety decisions taken on a :class:`~._topology.Topology`. Pure: no I/O.

Private to the collection: the interface may change between releases.

* who the primary of each group is, from ``ha.redis.sentinel_info``'s answer (:func:`primaries`), and when the
  Sentinels disagree too much to go on (:func:`disagreements`);
* the bootstrap guard: which groups no majority vouches for (:func:`unvouched`), what to probe on each host
  (:func:`guard_probes`) and what the probes forbid (:func:`guard_problems`, :func:`guard_message`);
* a decommission's request check, guard rails, moves and stops (:func:`plan_decommission`, :func:`plan_moves`);
* the order of a rolling upgrade (:func:`upgrade_order`) and the groups to restart (:func:`groups_to_restart`).

Every sentence is the one the roles and playbooks printed when these decisions were Jinja.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from ansible_collections.ha.redis.plugins.module_utils._sentinel_model import address, majority
from ansible_collections.ha.redis.plugins.module_utils._topology import (
    Topology,
    TopologyError,
    parse_names,
    quorum_for,
    to_int,
)
from ansible_collections.ha.redis.plugins.module_utils._topology_clusters import module_nodes

UNVOUCHED_STATUSES = ("unknown", "no_majority")


# --------------------------------------------------------------------------------------------------------------
# What the Sentinels said (the result of ha.redis.sentinel_info)
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GroupAnswer:
    """``groups[<name>]`` of ``ha.redis.sentinel_info``."""

    name: str
    status: str
    votes: Mapping = field(default_factory=dict)
    reachable: int = 0
    total: int = 0
    majority: int = 1
    primary: str | None = None
    primary_host: str | None = None
    primary_port: int | None = None
    replicas: tuple = ()


def unanswered(topo: Topology) -> dict:
    """ha.redis.sentinel_info's answer when no Sentinel could be asked: every Sentinel silent, every group unknown.

    What the preflight topology step decides from when it did not ask (``skipped``): a first deploy in check mode,
    before python3-redis is installed where the Sentinels are asked. The groups are then unvouched, and the bootstrap
    guard probes the hosts as for Sentinels that are down.
    """
    total = len(topo.sentinel_hosts)
    return {"sentinels": [{"reachable": False}] * total,
            "groups": {name: {"status": "unknown", "votes": {}, "reachable": 0, "total": total,
                              "majority": total // 2 + 1, "primary": None, "primary_host": None,
                              "primary_port": None, "replicas": []}
                       for name in topo.group_names}}


def _asked(topo: Topology, sentinel_info: Mapping) -> Mapping:
    """``sentinel_info``, or :func:`unanswered` when the task that asks was skipped."""
    if isinstance(sentinel_info, Mapping) and sentinel_info.get("skipped"):
        return unanswered(topo)
    return sentinel_info or {}


def read_answers(topo: Topology, sentinel_info: Mapping) -> dict[str, GroupAnswer]:
    """Every group's answer (all unknown when the asking task was skipped); raises :class:`TopologyError` when one is
    missing."""
    groups = _asked(topo, sentinel_info).get("groups") or {}
    answers = {}
    for name in topo.group_names:
        raw = groups.get(name)
        if not isinstance(raw, Mapping) or "status" not in raw:
            raise TopologyError("Group %s: ha.redis.sentinel_info gave no answer for it; expected one for every group "
                                "of redis_primary_groups, saw %s." % (name, ", ".join(groups) or "none"))
        answers[name] = GroupAnswer(
            name=name, status=str(raw["status"]), votes=dict(raw.get("votes") or {}),
            reachable=to_int(raw.get("reachable")), total=to_int(raw.get("total")),
            majority=to_int(raw.get("majority"), 1), primary=raw.get("primary"), primary_host=raw.get("primary_host"),
            primary_port=to_int(raw["primary_port"]) if raw.get("primary_port") is not None else None,
            replicas=tuple(raw.get("replicas") or ()))
    return answers


def silent_sentinels(topo: Topology, sentinel_info: Mapping) -> list[str]:
    """Sentinel hosts whose Sentinel did not answer (``sentinels`` keeps the order of the endpoints given)."""
    reachable = [bool(s.get("reachable")) for s in _asked(topo, sentinel_info).get("sentinels") or []]
    return [h for h, ok in zip(topo.sentinel_hosts, reachable) if not ok]


# --------------------------------------------------------------------------------------------------------------
# The primary of each group (roles/preflight/tasks/topology.yml)
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Primary:
    """Where a group's primary is: Sentinel's agreed answer, or ``initial_primary`` (``bootstrap``)."""

    bootstrap: bool
    primary_address: str
    primary_port: int
    primary_host: str | None  # the data host with that address; None when no inventory host has it


def primaries(topo: Topology, answers: Mapping[str, GroupAnswer]) -> dict[str, Primary]:
    """Agreed: the Sentinels' primary; otherwise (unknown, or a state the guard let through): bootstrap."""
    result = {}
    by_address = topo.address_to_host
    for g in topo.groups:
        answer = answers[g.name]
        if answer.status == "agreed":
            result[g.name] = Primary(False, str(answer.primary_host), to_int(answer.primary_port),
                                     by_address.get(answer.primary_host))
        else:
            result[g.name] = Primary(True, topo.address_of(g.initial_primary), g.port, g.initial_primary)
    return result


def disagreements(topo: Topology, answers: Mapping[str, GroupAnswer]) -> list[str]:
    """One sentence per group whose Sentinels disagree. A minority that monitors the group at ``initial_primary``
    only (a bootstrap that stopped half-way) is not a disagreement."""
    found = []
    for g in topo.groups:
        answer = answers[g.name]
        half_bootstrap = answer.status == "no_majority" and list(answer.votes) == [
            address(topo.address_of(g.initial_primary), g.port)]
        if answer.status not in ("agreed", "unknown") and not half_bootstrap:
            found.append("Group %s: the Sentinels do not agree on a primary (status %s, votes %s, %d of %d Sentinels "
                         "answered). Nothing was changed; repair the Sentinels (or wait for the failover to finish) "
                         "and run again." % (g.name, answer.status, dict(answer.votes), answer.reachable,
                                             answer.total))
    return found


def initial_primaries_down(topo: Topology, answers: Mapping[str, GroupAnswer], down: Iterable[str]) -> list[str]:
    """One sentence per group to create (not agreed) whose ``initial_primary`` did not answer in this run."""
    gone = set(parse_names(list(down or ())))
    return ["Group %s: no Sentinel knows it yet, so it would be created with %s as primary, but that host did not "
            "answer. Nothing was changed; bring the host back or choose another initial_primary."
            % (g.name, g.initial_primary) for g in topo.groups
            if answers[g.name].status != "agreed" and g.initial_primary in gone]


# --------------------------------------------------------------------------------------------------------------
# The bootstrap guard (roles/preflight/tasks/topology_guard.yml)
# --------------------------------------------------------------------------------------------------------------
def unvouched(topo: Topology, answers: Mapping[str, GroupAnswer]) -> list[str]:
    """Groups that no majority names a primary for while fewer than a majority of the Sentinels answered."""
    return [g.name for g in topo.groups
            if answers[g.name].status in UNVOUCHED_STATUSES and answers[g.name].reachable < answers[g.name].majority]


def guard_probes(topo: Topology, groups: Sequence[str]) -> dict[str, list[str]]:
    """Per host, the probe script's arguments: ``d:<group>`` for each of ``groups`` it serves as a data node,
    ``s:<group>`` for each of ``groups`` when it is a Sentinel host."""
    probes = {}
    for host in dict.fromkeys(topo.data_hosts + topo.sentinel_hosts):
        data = [g.name for g in topo.groups if g.name in groups and host in g.hosts]
        sentinel = list(groups) if host in topo.sentinel_hosts else []
        probes[host] = ["d:" + n for n in data] + ["s:" + n for n in sentinel]
    return probes


def guard_problems(topo: Topology, group_name: str, silent: Sequence[str],
                   probe_lines: Mapping[str, Sequence[str] | None]) -> list[str]:
    """Why bootstrapping ``group_name`` from ``initial_primary`` is not safe; empty when it is.

    ``silent``: Sentinel hosts that did not answer; ``probe_lines``: per host of this run, the probe's output
    lines (``seeded G``, ``replicaof G HOST PORT``, ``running G``, ``monitors G``), None when it was not probed.
    """
    g = topo.group(group_name)
    primary_address = topo.address_of(g.initial_primary)
    missing = [h for h in dict.fromkeys(tuple(g.hosts) + tuple(silent)) if probe_lines.get(h) is None]
    problems = ["hosts %s could not be checked in this run" % ", ".join(missing)] if missing else []
    for host in silent:
        if host not in missing and ("monitors " + g.name) in probe_lines[host]:
            problems.append("the Sentinel on %s does not answer but monitors the group (its configuration file says "
                            "so)" % host)
    for host in g.hosts:
        if host in missing:
            continue
        lines = list(probe_lines[host])
        if ("seeded " + g.name) in lines and ("running " + g.name) not in lines:
            problems.append("the data node on %s is deployed but not running (it may be a primary that missed a "
                            "failover)" % host)
        for line in lines:
            if not line.startswith("replicaof %s " % g.name):
                continue
            parts = line.split(" ") + ["", ""]
            if host == g.initial_primary or parts[2] != primary_address or to_int(parts[3]) != g.port:
                problems.append("the data node on %s replicates from %s:%s, not as the bootstrap would have it"
                                % (host, parts[2], parts[3]))
    return problems


def guard_message(topo: Topology, answer: GroupAnswer, problems: Sequence[str]) -> str:
    """The sentence that stops the play for one unvouched group."""
    return ("Group %s: only %d of %d Sentinels answered (a majority is %d) and none vouches for a primary (status %s), "
            "so it is not safe to bootstrap it from initial_primary %s: %s. Nothing was changed. Start the Sentinels "
            "(or repair them) so that a majority answers, then run again."
            % (answer.name, answer.reachable, answer.total, answer.majority, answer.status,
               topo.group(answer.name).initial_primary, "; ".join(problems)))


# --------------------------------------------------------------------------------------------------------------
# Decommission (playbooks/decommission.yml)
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Decommission:
    """A decommission request and what it leaves."""

    hosts: list
    groups: list
    sentinels_left: list
    runner: str | None  # the Sentinel host that runs the one-off calls: the first remaining one
    kept_groups: list
    group_hosts_left: dict  # every group -> its data hosts that remain
    quorum_left: int
    request_error: str  # empty, or why the request cannot be carried out (never skipped)
    refusals: list  # the guard rails it breaks (redis_decommission_force skips them)
    stop: dict  # host -> the groups whose data instance stops there
    stop_sentinel: list  # hosts whose Sentinel stops
    down: list = field(default_factory=list)  # hosts that did not answer (all of them retiring, or an error)
    notes: list = field(default_factory=list)  # what the plan says besides the counts (hosts down, few Sentinels)
    clusters: list = field(default_factory=list)  # ClusterRetirement per cluster with nodes on retiring hosts


@dataclass(frozen=True)
class ClusterRetirement:
    """The nodes a cluster loses with the retiring hosts: ``drain`` (they answer: their slots move to the staying
    primaries with ``ha.redis.cluster_rebalance``), ``forget`` (all of them: ``ha.redis.redis_cluster``), ``nodes``
    the staying nodes in the modules' form, ``drain_nodes`` those plus the ones drained."""

    name: str
    replicas: int
    nodes: list
    drain_nodes: list
    drain: list
    forget: list
    primaries_left: int
    runner: str | None  # the staying host of the cluster that runs its one-off calls: the first that answered


def plan_decommission(topo: Topology, hosts: Any, groups: Any, down: Any = ()) -> Decommission:
    """Check ``-e redis_decommission_hosts=... redis_decommission_groups=...`` against the inventory.

    ``down``: the hosts that did not answer in this run. A retiring host may be down (it is retired from the
    Sentinels' memory only); any other is an error. The count rails refuse only what weakens the live estate:
    fewer than 3 or an even number of Sentinels only when fewer remain than answer now, a kept group without a
    replica only when more than one of its hosts answers now.
    """
    hosts, groups, down = parse_names(hosts), parse_names(groups), parse_names(down)
    now = list(topo.sentinel_hosts)
    left = [h for h in now if h not in hosts]
    kept = [g.name for g in topo.groups if g.name not in groups]
    hosts_left = {g.name: [h for h in g.hosts if h not in hosts] for g in topo.groups}
    quorum_left = quorum_for(topo.quorum_setting, len(left))
    unknown_hosts = [h for h in hosts if h not in topo.data_hosts + topo.sentinel_hosts]
    unknown_groups = [n for n in groups if n not in topo.group_names]
    empty = [n for n in kept if not hosts_left[n]]
    errors = []
    if unknown_hosts:
        errors.append("Unknown hosts: %s." % ", ".join(unknown_hosts))
    if unknown_groups:
        errors.append("Unknown groups: %s (known: %s)." % (", ".join(unknown_groups), ", ".join(topo.group_names)))
    if empty:
        errors.append("Group(s) %s would keep no data node: remove a group with redis_decommission_groups instead."
                      % ", ".join(empty))
    if not left and (kept or now):
        errors.append("No Sentinel would remain.")
    retirements, cluster_errors = _cluster_retirements(topo, hosts, down)
    errors += cluster_errors
    down_kept = [h for h in down if h not in hosts]
    if down_kept:
        errors.append("Hosts %s did not answer and are not being retired: every host that stays must answer (retire "
                      "them too, or bring them back)." % ", ".join(down_kept))
    request_error = ""
    if errors or not (hosts or groups):
        request_error = " ".join(["Nothing was changed. Set redis_decommission_hosts and/or redis_decommission_groups "
                                  "(got hosts %s, groups %s)." % (hosts, groups)] + errors)
    served = {h: [i["name"] for i in topo.host_instances(h)]
              for h in dict.fromkeys(topo.data_hosts + topo.sentinel_hosts)}
    return Decommission(
        hosts=hosts, groups=groups, sentinels_left=left, runner=(left or now or [None])[0], kept_groups=kept,
        group_hosts_left=hosts_left, quorum_left=quorum_left, request_error=request_error,
        refusals=_refusals(topo, now, left, quorum_left, kept, hosts_left, down),
        stop={h: names if h in hosts else [n for n in names if n in groups] for h, names in served.items()},
        stop_sentinel=[h for h in now if h in hosts], down=down, notes=_notes(left, down, bool(now), bool(retirements)),
        clusters=retirements)


def _cluster_retirements(topo: Topology, hosts: list, down: list) -> tuple:
    """Per cluster with nodes on the retiring hosts: what to drain and forget, and the request errors (what stays
    must keep 3 primaries, each with its replicas on other hosts)."""
    retirements, errors = [], []
    for cluster in topo.clusters:
        going = [h for h in cluster.hosts if h in hosts]
        if not going:
            continue
        staying = [h for h in cluster.hosts if h not in hosts]
        nodes = module_nodes(cluster, topo.address_of)
        kept = [n for n in nodes if n["inventory_host"] in staying]
        leaving = [n for n in nodes if n["inventory_host"] in going]
        live = [n for n in leaving if n["inventory_host"] not in down]
        primaries_left = len(kept) // (cluster.replicas + 1)
        if primaries_left < 3:
            errors.append("Cluster %s would keep %d node(s) on %s, %d primaries with %d replica(s) each; expected at "
                          "least 3 primaries: retire fewer hosts, or add hosts first."
                          % (cluster.name, len(kept), ", ".join(staying) or "no host", primaries_left,
                             cluster.replicas))
        elif cluster.replicas and len(staying) < cluster.replicas + 1:
            errors.append("Cluster %s would keep %d host(s) (%s); expected at least %d, so that each primary's %d "
                          "replica(s) run on other hosts."
                          % (cluster.name, len(staying), ", ".join(staying), cluster.replicas + 1, cluster.replicas))
        retirements.append(ClusterRetirement(
            name=cluster.name, replicas=cluster.replicas, nodes=kept, drain_nodes=kept + live,
            drain=["%s:%d" % (n["host"], n["port"]) for n in live],
            forget=["%s:%d" % (n["host"], n["port"]) for n in leaving], primaries_left=primaries_left,
            runner=next((h for h in staying if h not in down), None)))
    return retirements, errors


def _notes(left: list, down: list, sentinels: bool = True, clusters: bool = False) -> list[str]:
    notes = []
    if down:
        memory = " and ".join((["the Sentinels"] if sentinels else []) + (["the cluster nodes"] if clusters else []))
        notes.append("Hosts that did not answer, retired from the memory of %s only: %s."
                     % (memory or "the others", ", ".join(down)))
    if sentinels and len(left) < 3:
        notes.append("Only %d Sentinels remain: a failover now needs all of them. Add a replacement host (same name "
                     "or another) with site.yml as soon as you can." % len(left))
    return notes


def _refusals(topo: Topology, now: list, left: list, quorum_left: int, kept: list, hosts_left: dict,
              down: list) -> list[str]:
    """The guard rails. Retiring hosts that are down already weakens nothing: the Sentinel count rails apply
    only when fewer Sentinels remain than answer now, the replica rail only to a group with more than one live
    host now."""
    refusals = []
    if not now:  # only Redis Clusters: no Sentinel to count
        return refusals
    live_now = len([h for h in now if h not in down])
    if len(left) < 3 and len(left) < live_now:
        refusals.append("Only %d Sentinel(s) would remain (%s): at least 3 are needed so that losing one still leaves "
                        "a majority that can authorise a failover." % (len(left), ", ".join(left)))
    if len(left) < majority(len(now)):
        refusals.append("%d of the %d Sentinels would remain, fewer than a majority (%d) of the Sentinels they know "
                        "until they are reset: no failover could be authorised in between. Retire fewer Sentinels "
                        "per run." % (len(left), len(now), majority(len(now))))
    if len(left) % 2 == 0 and left and not topo.allow_even and len(left) < live_now:
        refusals.append("An even number of Sentinels (%d) would remain: a partition into two halves could elect no "
                        "leader (redis_sentinel_allow_even=true accepts it)." % len(left))
    if quorum_left > len(left):
        refusals.append("redis_sentinel_quorum is %d, more than the %d Sentinels that would remain."
                        % (quorum_left, len(left)))
    for g in topo.groups:
        live = [h for h in g.hosts if h not in down]
        if g.name in kept and len(hosts_left[g.name]) == 1 and len(live) > 1:
            refusals.append("Group %s would keep no replica (only %s): losing that node would lose the data and no "
                            "failover would be possible." % (g.name, hosts_left[g.name][0]))
    return refusals


@dataclass(frozen=True)
class Move:
    """A switchover for ``ha.redis.sentinel_failover``: ``avoid`` the primary when one host of the group retires;
    with several, ``target`` a remaining replica the Sentinels list (None: none is listed)."""

    group: str
    avoid: str | None = None
    target: str | None = None


def plan_moves(topo: Topology, plan: Decommission, answers: Mapping[str, GroupAnswer],
               silent: Sequence[str]) -> tuple:
    """``(moves, answers_error)``: the primaries to move off retiring hosts, and why the Sentinels' answer does not
    allow the decommission (a kept group's primary on a host that is down, kept groups not agreed, remaining
    Sentinels silent), empty when it does."""
    retiring = {topo.addresses[h] for h in plan.hosts if h in topo.addresses}
    dead = {topo.addresses[h] for h in plan.down if h in topo.addresses}
    moves = []
    for g in topo.groups:
        answer = answers[g.name]
        if g.name not in plan.kept_groups or answer.primary_host not in retiring:
            continue
        here = [h for h in g.hosts if h in plan.hosts]
        target = next((e for e in (topo.endpoint(g, h) for h in plan.group_hosts_left[g.name])
                       if e in answer.replicas), None)
        moves.append(Move(g.name, avoid=answer.primary if len(here) == 1 else None,
                          target=target if len(here) > 1 else None))
    dead_primaries = [n for n in plan.kept_groups if answers[n].primary_host in dead]
    not_agreed = [n for n in plan.kept_groups if answers[n].status != "agreed"]
    silent_left = [h for h in silent if h in plan.sentinels_left]
    errors = []
    if dead_primaries:
        errors.append("The Sentinels still name a primary on a host that did not answer for %s: they fail it over by "
                      "themselves once it is down for down-after-milliseconds and a quorum agrees; check with "
                      "verify.yml and run again when they name another primary." % ", ".join(dead_primaries))
    if not_agreed:
        errors.append("The Sentinels do not agree on the primary of %s: repair them (or wait for the failover to "
                      "finish) first." % ", ".join(not_agreed))
    if silent_left:
        errors.append("The Sentinels on %s do not answer; they must, to rebuild their view after the change."
                      % ", ".join(silent_left))
    return moves, " ".join(["Nothing was changed."] + errors) if errors else ""


# --------------------------------------------------------------------------------------------------------------
# Rolling upgrade and restarts (playbooks/rolling_upgrade.yml, roles/server/vars/main.yml)
# --------------------------------------------------------------------------------------------------------------
def upgrade_order(topo: Topology, primary_hosts: Mapping[str, str | None]) -> list[str]:
    """Data hosts, those holding fewer primaries first, else in inventory order. ``primary_hosts``: group ->
    the data host of its primary."""
    held = {h: sum(1 for p in primary_hosts.values() if p == h) for h in topo.data_hosts}
    return sorted(topo.data_hosts, key=lambda h: (held[h], topo.data_hosts.index(h)))


def groups_to_restart(group_names: Iterable[str], changed_paths: Iterable[str], conf_base: str,
                      dropin: str) -> list[str]:
    """Groups whose start-time settings changed: all of them when the unit drop-in changed, else those whose
    Ansible-owned file (``<conf_base><group>.d/ansible.conf``) changed."""
    changed = set(changed_paths)
    return [n for n in group_names if dropin in changed or "%s%s.d/ansible.conf" % (conf_base, n) in changed]
