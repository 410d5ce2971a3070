#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_info
short_description: Ask every node of a Redis Cluster what it sees
version_added: "1.0.0"
description:
  - Asks every listed node at once for C(CLUSTER INFO), C(CLUSTER NODES), C(INFO replication) and C(DBSIZE) and
    returns each node's own view, the member list and the shards (each primary with its slots and replicas) as the
    majority of the nodes sees them.
  - Unreachable nodes are reported, not fatal; the module fails only on invalid options.
  - Read-only; never reports a change. Use M(ha.redis.cluster_check) to assert that a cluster is healthy.
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
    description: The module only reads; it behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options: {}
seealso:
  - module: ha.redis.cluster_check
  - module: ha.redis.redis_cluster
"""

EXAMPLES = r"""
- name: Read the cluster
  ha.redis.cluster_info:
    nodes: [10.0.0.11:6379, 10.0.0.12:6379, 10.0.0.13:6379, 10.0.0.14:6379, 10.0.0.15:6379, 10.0.0.16:6379]
    login_password: "{{ redis_password }}"
  run_once: true
  register: cluster
  no_log: true

- name: Print the shards
  ansible.builtin.debug:
    msg: "{{ cluster.shards }}"
  run_once: true
"""

RETURN = r"""
cluster:
  description: The cluster as most nodes see it.
  returned: always
  type: dict
  contains:
    reference:
      description: The node whose slot map and node list most reachable nodes share (null when none answered).
      type: str
      sample: 10.0.0.11:6379
    state:
      description: C(cluster_state) of the reference node (V(ok), V(fail)), null when none answered.
      type: str
      sample: ok
    agreed:
      description: Whether every reachable node has the reference slot map and node list.
      type: bool
      sample: true
    slots_assigned:
      description: Slots with an owner in the reference map (16384 when complete).
      type: int
      sample: 16384
    known_nodes:
      description: Members in the reference node list.
      type: int
      sample: 6
    open_slots:
      description: Every slot some node has C(migrating) or C(importing), with C(node), C(slot), C(state), C(other).
      type: list
      elements: dict
nodes:
  description:
    - Each declared node's own view, in the order of O(nodes), with C(address), C(inventory_host), C(reachable),
      C(error), C(id), C(cluster_state), C(role) (V(primary) or V(replica)), C(primary_id), C(slots) (ranges),
      C(slot_count), C(flags), C(config_epoch), C(current_epoch), C(known_nodes), C(open_slots) and C(keys).
  returned: always
  type: list
  elements: dict
members:
  description:
    - The reference node's C(CLUSTER NODES), one entry per member with C(id), C(address), C(flags),
      C(primary_id), C(config_epoch), C(link_state), C(slots), C(migrating) and C(importing).
  returned: always
  type: list
  elements: dict
shards:
  description: Each primary with C(primary), C(id), C(inventory_host), C(slots) (count), C(ranges), C(config_epoch) and
    C(replicas) (addresses).
  returned: always
  type: list
  elements: dict
  sample: [{"primary": "10.0.0.11:6379", "id": "9f1c...", "inventory_host": "redis-1", "slots": 5462,
            "ranges": [[0, 5461]], "config_epoch": 1, "replicas": ["10.0.0.15:6379"]}]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.ha.redis.plugins.module_utils._cluster_judge import shards
from ansible_collections.ha.redis.plugins.module_utils._cluster_model import declared_nodes, reference_view
from ansible_collections.ha.redis.plugins.module_utils._cluster_ops import cluster_argument_spec, collect
from ansible_collections.ha.redis.plugins.module_utils._connection import (
    HAS_REDIS,
    REDIS_IMP_ERR,
    ConnectionSettings,
    HaRedisError,
)


def argument_spec():
    return cluster_argument_spec()


def describe(views):
    ref = reference_view(views)
    open_slots = [dict(node=v.address, slot=s, state=k, other=o) for v in views for s, k, o in v.open_slots()]
    if ref is None:
        cluster = dict(reference=None, state=None, agreed=False, slots_assigned=0, known_nodes=0,
                       open_slots=open_slots)
        return cluster, []
    agreed = all(v.slot_map() == ref.slot_map() and v.known_ids() == ref.known_ids()
                 for v in views if v.reachable and v.nodes)
    cluster = dict(reference=ref.address, state=ref.state, agreed=agreed,
                   slots_assigned=sum(e - s + 1 for s, e, _o in ref.slot_map()),
                   known_nodes=len(ref.known_ids()), open_slots=open_slots)
    return cluster, [n.as_dict() for n in ref.nodes]


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMP_ERR)
    try:
        declared = declared_nodes(module.params["nodes"])
        settings = ConnectionSettings.from_params(module.params, kind="redis", missing_tls_file="report")
    except HaRedisError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    views = collect(declared, settings)
    cluster, members = describe(views)
    module.exit_json(changed=False, cluster=cluster, nodes=[v.as_dict() for v in views], members=members,
                     shards=shards(reference_view(views), views))


if __name__ == "__main__":
    main()
