#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_rebalance
short_description: Move Redis Cluster slots to new primaries or off leaving ones, under live traffic
version_added: "1.0.0"
description:
  - Reads every declared node first; refuses to move anything when a node does not answer or is flagged failing.
  - First finishes every half-moved slot it finds (a node with the slot C(migrating) or C(importing), left by an
    interrupted reshard), by moving the rest of its keys to the importing node, as C(redis-cli --cluster fix) does.
  - Then plans the moves (pure and deterministic) - every primary gets an even share of the 16384 slots (or a share
    by O(weights)), the primaries in O(drain) get none - and moves one slot at a time. C(CLUSTER SETSLOT IMPORTING)
    on the target, C(MIGRATING) on the source, C(CLUSTER GETKEYSINSLOT) + C(MIGRATE ... KEYS) in batches of
    O(batch_size) keys until the slot is empty, then C(SETSLOT NODE) on the target, the source and every other
    primary. Clients are redirected (C(ASK), then C(MOVED)) and keep working throughout.
  - Slots are taken only from primaries above their share. With nothing drained, nothing moves while every primary
    is within O(threshold) percent of its share.
  - An interrupted run leaves at most one slot open; the next run finishes it first.
author:
  - ha.redis contributors (!UNKNOWN)
extends_documentation_fragment:
  - ha.redis.connection.transport
  - ha.redis.connection.data_credentials
  - ha.redis.connection.cluster_nodes
attributes:
  action_group:
    support: full
    membership: [ha.redis.redis, ha.redis.data_nodes]
    description:
      - Each action group this module is in sets some of its options once in C(module_defaults).
      - C(group/ha.redis.redis) sets the connection options (TLS, timeouts).
      - C(group/ha.redis.data_nodes) sets the data nodes' credentials (login_user, login_password).
  check_mode:
    support: full
    description: Plans in check mode; RV(commands) lists the steps, no slot moves.
  diff_mode:
    support: full
    description: The membership (role and slot count of each node) before and after.
options:
  drain:
    description:
      - Primaries (V(host:port)) to empty of slots, for example before removing them. A member that serves no
        slot is drained already, so a repeated run changes nothing.
      - Redis (C(cluster-allow-replica-migration yes), the default) makes a primary that lost its last slot a
        replica of the node that took it; check anti-affinity afterwards with M(ha.redis.cluster_check).
    type: list
    elements: str
    default: []
  primaries:
    description:
      - How many primaries should hold slots. When more do (after O(drain)), the surplus is emptied too - first
        primaries without slots (they get no share), then those on the inventory host with the most primaries,
        then the ones with the fewest slots, then the last declared. Redis then makes each emptied primary a
        replica; M(ha.redis.redis_cluster) places the replicas (anti-affinity).
      - For example after a host's nodes are retired, when failovers had left more primaries on the staying
        hosts than they have seats for (RV(surplus) names them). Default is not to limit.
    type: int
    version_added: "1.1.0"
  weights:
    description:
      - Relative share of slots per primary address (V(host:port)); primaries not listed weigh 1.
    type: dict
  threshold:
    description:
      - Percent off its share a primary may be before slots move (ignored when O(drain) is set).
    type: float
    default: 2
  batch_size:
    description:
      - Keys per C(MIGRATE) command.
    type: int
    default: 100
  migrate_timeout_ms:
    description:
      - Milliseconds one C(MIGRATE) may take (the source's timeout for the target's reply).
    type: int
    default: 5000
  max_slots:
    description:
      - Move at most this many slots in this run (the rest in later runs); default all.
    type: int
seealso:
  - module: ha.redis.redis_cluster
  - module: ha.redis.cluster_check
"""

EXAMPLES = r"""
- name: Spread the slots evenly over every primary (no change when within 2 %)
  ha.redis.cluster_rebalance:
    nodes: [10.0.0.11:6379, 10.0.0.12:6379, 10.0.0.13:6379, 10.0.0.14:6379, 10.0.0.15:6379, 10.0.0.16:6379]
    login_password: "{{ redis_password }}"
  run_once: true
  register: rebalanced
  no_log: true

- name: Show what emptying a primary would move, without moving it
  ha.redis.cluster_rebalance:
    nodes: [10.0.0.11:6379, 10.0.0.12:6379, 10.0.0.13:6379, 10.0.0.14:6379, 10.0.0.15:6379, 10.0.0.16:6379]
    drain: [10.0.0.13:6379]
    login_password: "{{ redis_password }}"
  run_once: true
  check_mode: true
  no_log: true
"""

RETURN = r"""
slots_moved:
  description: Slots moved by the plan in this run (or that would be, in check mode); open slots finished first
    are in RV(fixed_open_slots).
  returned: always
  type: int
  sample: 4096
slots_planned:
  description: Slots the whole plan moves (more than RV(slots_moved) when O(max_slots) cut it).
  returned: always
  type: int
  sample: 4096
keys_moved:
  description: Keys moved with C(MIGRATE), open slots included.
  returned: always
  type: int
  sample: 25000
fixed_open_slots:
  description: Half-moved slots found and finished, each with C(slot), C(source), C(target), C(keys).
  returned: always
  type: list
  elements: dict
moves:
  description:
    - V(source -> target) to what moved between them (or would, in check mode) - C(slots), the count, and
      C(ranges), the slots as C([start, end]) ranges.
  returned: always
  type: dict
  sample: {"10.0.0.11:6379 -> 10.0.0.17:6379": {"slots": 1366, "ranges": [[4096, 5461]]}}
surplus:
  version_added: 1.1.0
  description: Primaries emptied because more than O(primaries) held slots (addresses).
  returned: always
  type: list
  elements: str
  sample: ["10.0.0.13:6379"]
before:
  description: Each node's role and slot count before the run.
  returned: always
  type: dict
  sample: {"10.0.0.11:6379": "primary (5462 slots)", "10.0.0.14:6379": "replica of 10.0.0.12:6379"}
commands:
  description:
    - The commands sent or planned, each as the node address, a colon and the command, without secrets
      (MIGRATE batches are summarised, not listed).
  returned: always
  type: list
  elements: str
elapsed:
  description: Seconds spent.
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.ha.redis.plugins.module_utils._cluster_converge import membership, rebalance
from ansible_collections.ha.redis.plugins.module_utils._cluster_model import declared_nodes
from ansible_collections.ha.redis.plugins.module_utils._cluster_ops import Operator, cluster_argument_spec, collect
from ansible_collections.ha.redis.plugins.module_utils._connection import (
    DEFAULT_REDIS_PORT,
    HAS_REDIS,
    REDIS_IMP_ERR,
    ConnectionSettings,
    Deadline,
    HaRedisError,
    parse_endpoint,
)


def argument_spec():
    spec = cluster_argument_spec()
    spec.update(
        drain=dict(type="list", elements="str", default=[]),
        weights=dict(type="dict"),
        threshold=dict(type="float", default=2),
        batch_size=dict(type="int", default=100),
        migrate_timeout_ms=dict(type="int", default=5000),
        max_slots=dict(type="int"),
        primaries=dict(type="int"),
    )
    return spec


def validate(p):
    if p["primaries"] is not None and p["primaries"] < 1:
        raise HaRedisError("Option primaries is %s, expected 1 or more." % p["primaries"])
    for label in ("threshold", "batch_size", "migrate_timeout_ms", "max_slots"):
        if p[label] is not None and p[label] < (0 if label in ("threshold", "max_slots") else 1):
            raise HaRedisError("Option %s is %s, expected %s." % (label, p[label], "0 or more" if label in (
                "threshold", "max_slots") else "1 or more"))
    drain = [str(parse_endpoint(a, DEFAULT_REDIS_PORT)) for a in p["drain"]]
    weights = {}
    for address, weight in (p["weights"] or {}).items():
        try:
            value = float(weight)
        except (TypeError, ValueError):
            value = -1.0
        if value <= 0:
            raise HaRedisError("Option weights gives %s the weight %r, expected a number above 0." % (address, weight))
        weights[str(parse_endpoint(address, DEFAULT_REDIS_PORT))] = value
    return drain, weights


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMP_ERR)
    p = module.params
    deadline = Deadline(0)
    op = None
    try:
        declared = declared_nodes(p["nodes"])
        drain, weights = validate(p)
        settings = ConnectionSettings.from_params(p, kind="redis")
        op = Operator(settings, check_mode=module.check_mode)
        result = rebalance(declared, op, settings, drain=drain, threshold=p["threshold"],
                           batch_size=p["batch_size"], timeout_ms=p["migrate_timeout_ms"], max_slots=p["max_slots"],
                           weights=weights, keep_primaries=p["primaries"])
    except HaRedisError as exc:
        module.fail_json(msg=str(exc), commands=op.commands if op else [], elapsed=deadline.elapsed(),
                         **exc.details)
    result.update(changed=bool(result["slots_moved"] or result["fixed_open_slots"]), commands=op.commands,
                  elapsed=deadline.elapsed())
    if module._diff:
        after = result["before"]
        if result["changed"] and not module.check_mode:
            after = membership(collect(declared, settings))
        result["diff"] = dict(before=result["before"], after=after)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
