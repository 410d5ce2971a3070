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
  - "Resume: a create that stopped after slots were assigned and before every node met every other (a killed run)
    is finished by the next run when every slot range and replica already set is the one the placement gives
    (RV(created) is true again); other half-made states are refused before any change."
  - "Converge: when a cluster exists, new empty declared nodes are met. The cluster has len(O(nodes)) //
    (O(replicas) + 1) primary seats, never fewer than the primaries that serve slots. New nodes (and member
    primaries without slots or replicas) first become replicas of serving primaries that lack replicas, then fill
    the missing primary seats as empty primaries (on the inventory hosts with the fewest primaries), and the rest
    become replicas of the primary with the fewest replicas. Then, while a primary has fewer than O(replicas)
    replicas and another has more, an existing replica moves (C(CLUSTER REPLICATE) on it, RV(replicas_moved)).
    Every replica runs on another inventory host than its primary; a node that fits nowhere stays an empty
    primary. A replica found on its primary's inventory host (Redis moves the replicas of a drained primary to
    the node that took its last slot) is placed again the same way, where another primary can take it. When
    some primary has no slots, RV(rebalance_needed) is true (use M(ha.redis.cluster_rebalance) to give it
    slots)."
  - "Scale in: the nodes in O(forget) leave the cluster. A leaving node that still serves slots is refused before
    any change (drain it first with M(ha.redis.cluster_rebalance) and O(ha.redis.cluster_rebalance#module:drain)).
    The replicas of a leaving primary, and primaries that lose a replica, are re-homed as above (on staying nodes
    only); then every staying node gets C(CLUSTER FORGET) for each leaving node, all at once, and a leaving node
    that still answers gets C(CLUSTER RESET HARD) (it forgets the cluster and takes a new id; it is not shut
    down, stop its service afterwards). The module waits until no staying node lists it. A leaving node that does
    not answer is forgotten all the same; a node no member knows any more gives no change."
  - Slots are never taken from a node, and roles are never switched back after a failover; a healthy, balanced
    cluster, or one whose roles changed by failover, gives no change.
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
    description: Reads and plans in check mode too; RV(commands) lists what would run, nothing is sent.
  diff_mode:
    support: full
    description: The membership (role and slot count of each node, and of the nodes in O(forget)) before and after.
options:
  forget:
    description:
      - Nodes (C(host:port)) that leave the cluster; O(nodes) lists the nodes that stay. A node may not be in both.
      - Each must serve no slots (as the staying nodes see it); it does not need to answer (a host gone).
    type: list
    elements: str
    default: []
    version_added: "1.1.0"
  replicas:
    description:
      - Replicas per primary. For a new cluster the number of nodes must be a multiple of O(replicas) + 1 with at
        least 3 primaries.
    type: int
    default: 1
  state:
    description:
      - V(present) creates or converges the cluster; nodes are removed with O(forget).
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

- name: Grow by a fourth host with two nodes - one becomes an empty primary, a replica moves to serve it
  ha.redis.redis_cluster:
    nodes:
      - {host: 10.0.0.11, port: 6379, inventory_host: redis-1}
      - {host: 10.0.0.12, port: 6379, inventory_host: redis-2}
      - {host: 10.0.0.13, port: 6379, inventory_host: redis-3}
      - {host: 10.0.0.14, port: 6379, inventory_host: redis-1}
      - {host: 10.0.0.15, port: 6379, inventory_host: redis-2}
      - {host: 10.0.0.16, port: 6379, inventory_host: redis-3}
      - {host: 10.0.0.17, port: 6379, inventory_host: redis-4}
      - {host: 10.0.0.18, port: 6379, inventory_host: redis-4}
    replicas: 1
    login_password: "{{ redis_password }}"
  run_once: true
  register: grown
  no_log: true

- name: Shrink again - drain the fourth host's nodes first, then forget them
  ha.redis.cluster_rebalance:
    nodes: [10.0.0.11:6379, 10.0.0.12:6379, 10.0.0.13:6379, 10.0.0.14:6379, 10.0.0.15:6379, 10.0.0.16:6379,
            10.0.0.17:6379, 10.0.0.18:6379]
    drain: [10.0.0.17:6379, 10.0.0.18:6379]
    login_password: "{{ redis_password }}"
  run_once: true
  no_log: true

- name: Forget the fourth host's nodes (stop their service afterwards)
  ha.redis.redis_cluster:
    nodes:
      - {host: 10.0.0.11, port: 6379, inventory_host: redis-1}
      - {host: 10.0.0.12, port: 6379, inventory_host: redis-2}
      - {host: 10.0.0.13, port: 6379, inventory_host: redis-3}
      - {host: 10.0.0.14, port: 6379, inventory_host: redis-1}
      - {host: 10.0.0.15, port: 6379, inventory_host: redis-2}
      - {host: 10.0.0.16, port: 6379, inventory_host: redis-3}
    forget: [10.0.0.17:6379, 10.0.0.18:6379]
    replicas: 1
    login_password: "{{ redis_password }}"
  run_once: true
  register: shrunk
  no_log: true
"""

RETURN = r"""
created:
  description: Whether a new cluster was created or an interrupted create finished (or would be, in check mode).
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
  description:
    - Node address to primary address, for every node that was not a replica and becomes one (a new cluster's
      replicas, new nodes, empty primaries), by C(CLUSTER REPLICATE) sent (or that would be).
  returned: always
  type: dict
  sample: {"10.0.0.14:6379": "10.0.0.12:6379"}
replicas_moved:
  version_added: 1.1.0
  description:
    - Existing replica address to its new primary's address, for every replica moved (or that would be) to
      balance the replicas over the primaries or to re-home the replica of a leaving node.
  returned: always
  type: dict
  sample: {"10.0.0.16:6379": "10.0.0.17:6379"}
forgotten:
  version_added: 1.1.0
  description:
    - Addresses of option O(forget) that left the cluster in this run (or would), by C(CLUSTER FORGET) on every
      staying node and C(CLUSTER RESET HARD) on the node itself when it answered. A node no member knew is not
      listed.
  returned: always
  type: list
  elements: str
  sample: ["10.0.0.17:6379", "10.0.0.18:6379"]
primaries:
  description: For a new cluster, each primary with its slot range C([start, end]); empty otherwise.
  returned: always
  type: dict
  sample: {"10.0.0.11:6379": [0, 5461]}
empty_primaries:
  description: Members that are primaries without slots (empty primary seats, then nodes that fit nowhere).
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
    interrupted_create,
    leaving_membership,
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
        forget=dict(type="list", elements="str", default=[]),
        state=dict(type="str", choices=["present"], default="present"),
        timeout=dict(type="float", default=60),
    )
    return spec


def predicted(before, created_plan, met, attached, forgotten=()):
    """The membership after the change, as check mode predicts it."""
    after = dict(before)
    if created_plan is not None:
        for address, (start, end) in created_plan.slots.items():
            after[address] = "primary (%d slots)" % (end - start + 1)
    for address in met:
        after[address] = "primary (0 slots)"
    for replica, primary in attached.items():
        after[replica] = "replica of %s" % primary
    for address in forgotten:
        after[address] = "not a member"
    return after


def leaving_declared(declared, items):
    """Option forget -> [DeclaredNode]; a node in both nodes and forget is refused."""
    if not items:
        return []
    leaving = declared_nodes(items, option="forget")
    staying = {n.address for n in declared}
    for node in leaving:
        if node.address in staying:
            raise HaRedisError("Node %s is in option nodes and in option forget, expected each node in one of them "
                               "(nodes lists the nodes that stay)." % node.address)
    return leaving


def run(module, declared, settings):
    p = module.params
    if p["replicas"] < 0:
        raise HaRedisError("Option replicas is %d, expected 0 or more." % p["replicas"])
    leaving = leaving_declared(declared, p["forget"])
    addresses = [n.address for n in leaving]
    deadline = Deadline(p["timeout"])
    views = collect(declared, settings)
    require_reachable(views)
    leaving_views = collect(leaving, settings) if leaving else []
    resume = interrupted_create(declared, views, p["replicas"])
    members, empty = ([], views) if resume else find_cluster(views, addresses)
    before = dict(membership(views), **leaving_membership(views, addresses))
    op = Operator(settings, check_mode=module.check_mode)
    plan, met, attached, moved, empty_primaries, forgotten = None, [], {}, {}, [], []
    if not members:
        plan, attached = create(declared, views, p["replicas"], op, settings, deadline)
    else:
        met, placed, forgotten = converge(declared, views, members, empty, p["replicas"], op, settings, deadline,
                                          leaving=addresses, leaving_views=leaving_views)
        attached, moved, empty_primaries = placed.attached, placed.moved, placed.empty_primaries
    changed = bool(op.commands)
    if module.check_mode or not changed:
        after = predicted(before, plan, met, dict(attached, **moved), forgotten)
    else:
        found = collect(declared, settings)
        after = dict(membership(found), **leaving_membership(found, addresses))
    result = dict(changed=changed, created=plan is not None, met=met, replicas_attached=attached,
                  replicas_moved=moved, forgotten=forgotten,
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
