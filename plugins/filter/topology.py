# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The topology filters: the deployment model and its safety decisions (module_utils/_topology*.py) for Jinja.

Each filter is documented in the ``<name>.yml`` file next to this one. ``ha.redis.topology`` builds the model from
the inventory; the others take its result and return plain data, so a role or playbook only formats and asserts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict

from ansible.errors import AnsibleFilterError
from ansible_collections.ha.redis.plugins.module_utils import _topology_decisions as decide
from ansible_collections.ha.redis.plugins.module_utils._common import HaRedisError
from ansible_collections.ha.redis.plugins.module_utils._topology import (
    DEFAULT_MIN_REPLICAS_MAX_LAG,
    HOST_KEYS,
    Topology,
    build_topology,
    parse_names,
)


def _host_vars(hostvars, hosts):
    """The few variables the model reads, for each of ``hosts`` the inventory knows."""
    subset = {}
    for host in hosts:
        if host in hostvars:
            found = hostvars[host]
            subset[host] = {key: found[key] for key in HOST_KEYS if key in found}
    return subset


def _model(value):
    if isinstance(value, Topology):
        return value
    if not isinstance(value, Mapping):
        raise AnsibleFilterError("Expected the result of ha.redis.topology, got %s." % type(value).__name__)
    return Topology.from_dict(value)


def _domain_errors(func):
    """One clear AnsibleFilterError for a domain error, with the filter's name."""
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except HaRedisError as exc:
            raise AnsibleFilterError("ha.redis.%s: %s" % (func.__name__, exc)) from None
    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


@_domain_errors
def topology(groups, hostvars, primary_groups=None, quorum="", allow_even=False, exclude_hosts=None,
             exclude_groups=None, min_replicas_to_write=0, min_replicas_max_lag=DEFAULT_MIN_REPLICAS_MAX_LAG,
             clusters=None):
    """The deployment model of the inventory (what remains without ``exclude_hosts`` and ``exclude_groups``)."""
    named = list(groups.get("redis") or []) + list(groups.get("redis_sentinel") or [])
    for group in primary_groups or []:
        if isinstance(group, Mapping) and group.get("hosts") is not None:
            named += parse_names(group["hosts"])
    topo = build_topology(groups, _host_vars(hostvars, dict.fromkeys(named)), primary_groups, quorum=quorum,
                          allow_even=allow_even, min_replicas_to_write=min_replicas_to_write,
                          min_replicas_max_lag=min_replicas_max_lag, clusters=clusters)
    return topo.without(parse_names(exclude_hosts), parse_names(exclude_groups)).to_dict()


@_domain_errors
def topology_verdict(model, sentinel_info, down=None):
    """Primaries, disagreements, unvouched groups and the bootstrap guard's probes, from sentinel_info's result;
    ``down``: the hosts that did not answer in this run."""
    topo = _model(model)
    answers = decide.read_answers(topo, sentinel_info)
    doubtful = decide.unvouched(topo, answers)
    return dict(
        primaries={name: asdict(p) for name, p in decide.primaries(topo, answers).items()},
        disagreements=decide.disagreements(topo, answers),
        initial_primaries_down=decide.initial_primaries_down(topo, answers, down or ()),
        unvouched=doubtful,
        probes=decide.guard_probes(topo, doubtful) if doubtful else {},
    )


@_domain_errors
def topology_guard(model, sentinel_info, hostvars, play_hosts, probe="__redis_guard_probe"):
    """One sentence per unvouched group that is not safe to bootstrap, from the probes registered as ``probe``."""
    topo = _model(model)
    answers = decide.read_answers(topo, sentinel_info)
    silent = decide.silent_sentinels(topo, sentinel_info)
    lines = {}
    for host in play_hosts or []:
        result = hostvars[host].get(probe) if host in hostvars else None
        if isinstance(result, Mapping) and result.get("stdout_lines") is not None:
            lines[host] = list(result["stdout_lines"])
    messages = []
    for name in decide.unvouched(topo, answers):
        problems = decide.guard_problems(topo, name, silent, lines)
        if problems:
            messages.append(decide.guard_message(topo, answers[name], problems))
    return messages


@_domain_errors
def decommission_plan(model, hosts, groups, sentinel_info=None, down=None):
    """The request check, guard rails and stops of a decommission; with sentinel_info's result, the moves too.
    ``down``: the hosts that did not answer in this run."""
    topo = _model(model)
    plan = decide.plan_decommission(topo, hosts, groups, down or ())
    result = asdict(plan)
    result["expected_sentinels"] = len(plan.sentinels_left)
    result["expected_replicas"] = {n: len(plan.group_hosts_left[n]) - 1 for n in plan.kept_groups}
    result.update(moves=[], answers_error="")
    if sentinel_info and topo.groups:
        answers = decide.read_answers(topo, sentinel_info)
        moves, error = decide.plan_moves(topo, plan, answers, decide.silent_sentinels(topo, sentinel_info))
        result.update(moves=[asdict(m) for m in moves], answers_error=error)
    return result


@_domain_errors
def upgrade_order(model, topology_primaries):
    """Data hosts for a rolling upgrade: those holding fewer primaries first, else in inventory order."""
    hosts = {name: (p or {}).get("primary_host") for name, p in (topology_primaries or {}).items()}
    return decide.upgrade_order(_model(model), hosts)


@_domain_errors
def restart_groups(group_names, changed_paths, conf_base, dropin):
    """Groups whose start-time settings changed in this run (ha.redis.server's handlers restart only these)."""
    return decide.groups_to_restart(parse_names(group_names), changed_paths or [], conf_base, dropin)


class FilterModule:
    def filters(self):
        return {
            "topology": topology,
            "topology_verdict": topology_verdict,
            "topology_guard": topology_guard,
            "decommission_plan": decommission_plan,
            "upgrade_order": upgrade_order,
            "restart_groups": restart_groups,
            "parse_names": _domain_errors(parse_names),
        }
