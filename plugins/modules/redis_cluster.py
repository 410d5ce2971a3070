#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_cluster
short_description: Create a Redis Cluster and converge its membership
version_added: "1.0.0"
description:
  - Reads every declared node first and rejects bad input before any node is changed - an unreachable node, a node
    with cluster support off, a node of another cluster, fewer than 3 primaries, replicas that cannot all run on
    another inventory host than their primary.
  - "Create: when no declared node serves slots or knows another node, the nodes are split into primaries and
    replicas (O(replicas) per primary; primaries taken round-robin over the inventory hosts), the 16384 slots are
    split evenly over the primaries (C(CLUSTER ADDSLOTSRANGE)), every node gets its own config epoch, the first node
    meets every other, and once all know each other the replicas C(CLUSTER REPLICATE) a primary on another inventory
    host. The module waits until every node says C(cluster_state:ok) with one slot map."
  - "Converge: when a cluster exists, new empty declared nodes are met, and each becomes a replica of a primary
    that has fewer than O(replicas) replicas and runs on another inventory host; a node that fits nowhere stays an
    empty primary and RV(rebalance_needed) is true (use M(ha.redis.cluster_rebalance) to give it slots)."
  - Slots are never taken from a node, and roles are never switched back after a failover; a healthy cluster, or one
    whose roles changed by failover, gives no change.
author:
  - ha.redis contributors (!UNKNOWN)
extends_documentation_fragment:
  - ha.redis.connection.transport
  - ha.redis.connection.data_credentials
  - ha.redis.connection.cluster_nodes
attributes:
  check_mode:
    support: full
    description: Reads and plans in check mode too; RV(commands) lists what would run, nothing is sent.
  diff_mode:
    support: full
    description: The membership (role and slot count of each node) before and after.
options:
  replicas:
    description:
      - Replicas per primary. For a new cluster the number of nodes must be a multiple of O(replicas) + 1 with at
        least 3 primaries.
    type: int
    default: 1
  state:
    description:
      - V(present) creates or converges the cluster. Removing nodes is not done by this module.
    type: str
    choices: [present]
    default: present
  timeout:
    description:
      - Seconds to wait for the nodes to learn of each other and for the cluster to settle after a change.
    type: float
    default: 60
seealso:
  - module: ha.redis.cluster_check
  - module: ha.redis.cluster_rebalance
"""

EXAMPLES = r"""
- name: Create the cluster, three primaries each with a replica on another host
  ha.redis.redis_cluster:
    nodes:
      - {host: 10.0.0.11, port: 6379, inventory_host: redis-1}
      - {host: 10.0.0.12, port: 6379, inventory_host: redis-2}
      - {host: 10.0.0.13, port: 6379, inventory_host: redis-3}
      - {host: 10.0.0.14, port: 6379, inventory_host: redis-1}
      - {host: 10.0.0.15, port: 6379, inventory_host: redis-2}
      - {host: 10.0.0.16, port: 6379, inventory_host: redis-3}
    replicas: 1
    login_password: "{{ redis_password }}"
  run_once: true
  register: created
  no_log: true

- name: Run it again - nothing changes
  ha.redis.redis_cluster:
    nodes:
      - {host: 10.0.0.11, port: 6379, inventory_host: redis-1}
      - {host: 10.0.0.12, port: 6379, inventory_host: redis-2}
      - {host: 10.0.0.13, port: 6379, inventory_host: redis-3}
      - {host: 10.0.0.14, port: 6379, inventory_host: redis-1}
      - {host: 10.0.0.15, port: 6379, inventory_host: redis-2}
      - {host: 10.0.0.16, port: 6379, inventory_host: redis-3}
    replicas: 1
    login_password: "{{ redis_password }}"
  run_once: true
  register: again
  failed_when: again.changed
  no_log: true
"""

RETURN = r"""
created:
  description: Whether a new cluster was created (or would be, in check mode).
  returned: always
  type: bool
  sample: true
met:
  description: Nodes met into an existing cluster (or that would be).
  returned: always
  type: list
  elements: str
  sample: ["10.0.0.17:6379"]
replicas_attached:
  description: Replica address to primary address, for every C(CLUSTER REPLICATE) sent (or that would be).
  returned: always
  type: dict
  sample: {"10.0.0.14:6379": "10.0.0.12:6379"}
primaries:
  description: For a new cluster, each primary with its slot range C([start, end]); empty otherwise.
  returned: always
  type: dict
  sample: {"10.0.0.11:6379": [0, 5461]}
empty_primaries:
  description: Members that are primaries without slots and without a primary to replicate.
  returned: always
  type: list
  elements: str
rebalance_needed:
  description: Whether some member is a primary without slots (give it slots with M(ha.redis.cluster_rebalance)).
  returned: always
  type: bool
  sample: false
commands:
  description:
    - The commands sent (or, in check mode, that would be), each as the node address, a colon and the
      command, without secrets.
  returned: always
  type: list
  elements: str
  sample: ["10.0.0.11:6379: CLUSTER ADDSLOTSRANGE 0 5461", "10.0.0.11:6379: CLUSTER MEET 10.0.0.12 6379"]
elapsed:
  description: Seconds spent.
  returned: always
  type: float
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.ha.redis.plugins.module_utils._cluster_converge import (
    converge,
    create,
    find_cluster,
    membership,
    require_reachable,
)
from ansible_collections.ha.redis.plugins.module_utils._cluster_model import declared_nodes
from ansible_collections.ha.redis.plugins.module_utils._cluster_ops import Operator, cluster_argument_spec, collect
from ansible_collections.ha.redis.plugins.module_utils._connection import (
    HAS_REDIS,
    REDIS_IMP_ERR,
    ConnectionSettings,
    Deadline,
    HaRedisError,
)


def argument_spec():
    spec = cluster_argument_spec()
    spec.update(
        replicas=dict(type="int", default=1),
        state=dict(type="str", choices=["present"], default="present"),
        timeout=dict(type="float", default=60),
    )
    return spec


def predicted(before, created_plan, met, attached):
    """The membership after the change, as check mode predicts it."""
    after = dict(before)
    if created_plan is not None:
        for address, (start, end) in created_plan.slots.items():
            after[address] = "primary (%d slots)" % (end - start + 1)
    for address in met:
        after[address] = "primary (0 slots)"
    for replica, primary in attached.items():
        after[replica] = "replica of %s" % primary
    return after


def run(module, declared, settings):
    p = module.params
    if p["replicas"] < 0:
        raise HaRedisError("Option replicas is %d, expected 0 or more." % p["replicas"])
    deadline = Deadline(p["timeout"])
    views = collect(declared, settings)
    require_reachable(views)
    members, empty = find_cluster(views)
    before = membership(views)
    op = Operator(settings, check_mode=module.check_mode)
    plan, met, attached, empty_primaries = None, [], {}, []
    if not members:
        plan, attached = create(declared, views, p["replicas"], op, settings, deadline)
    else:
        met, attached, empty_primaries = converge(declared, views, members, empty, p["replicas"], op, settings,
                                                  deadline)
    changed = bool(op.commands)
    if module.check_mode or not changed:
        after = predicted(before, plan, met, attached)
    else:
        after = membership(collect(declared, settings))
    result = dict(changed=changed, created=plan is not None, met=met, replicas_attached=attached,
                  primaries={} if plan is None else {a: list(r) for a, r in plan.slots.items()},
                  empty_primaries=empty_primaries, rebalance_needed=bool(empty_primaries),
                  commands=op.commands, elapsed=deadline.elapsed())
    if module._diff:
        result["diff"] = dict(before=before, after=after)
    return result


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMP_ERR)
    try:
        declared = declared_nodes(module.params["nodes"])
        settings = ConnectionSettings.from_params(module.params, kind="redis")
        result = run(module, declared, settings)
    except HaRedisError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
