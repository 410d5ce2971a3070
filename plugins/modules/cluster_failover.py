#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_failover
short_description: Move every Redis Cluster primary off some hosts with coordinated failovers
version_added: "1.1.0"
description:
  - Makes every primary that serves slots on the hosts in O(away_from) a replica, by sending C(CLUSTER FAILOVER) to
    one of its replicas on another host, for example before those hosts' nodes restart in a rolling upgrade.
  - Reads every declared node first and plans every failover before sending anything. For each primary to move it
    picks one replica that answers, is not flagged failing, runs on a host not in O(away_from) and (in mode
    V(default)) has its replication link up (C(master_link_status:up)), preferring the highest replication offset,
    then the order of O(nodes), so the same cluster always gives the same plan.
  - Refuses before any change, with one sentence naming the primary, when a primary has no such replica (for
    example when its only replica runs on a host in O(away_from) too), or, in mode V(default), when a primary to
    move does not answer. The failure result then has C(refused), every such primary with its replicas and the
    reasons each cannot take over.
  - One failover at a time. After each command it waits until every node that answers says C(cluster_state:ok),
    sees the replica as the primary of exactly the old primary's slots and the old primary as its replica, and only
    then goes on with the next primary.
  - In mode V(default) the failover is coordinated by Redis - the primary stops its clients' writes, the replica
    catches up with its replication stream, then takes over and the paused clients are redirected - so no
    acknowledged write is lost. Writes wait for the duration of the switch instead of failing.
  - A replica that won an election less than 4 x C(cluster-node-timeout) ago ignores a coordinated failover (it
    reuses its old election and turns back into a replica; seen with Redis 7.0.15, Valkey has since changed it); the
    primary's clients then wait the 5 s Redis gives a manual failover. When the replica is still a replica, the
    command is sent once more as soon as the replica holds elections again (4 x C(cluster-node-timeout) after the
    first command, read from the replica, at least 6 s), if O(timeout) allows; RV(commands) then lists it twice.
  - With no primary serving slots on those hosts nothing is sent and C(changed) is false, so a repeated run is a
    no-op.
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
    description: Plans in check mode; RV(commands) lists the commands that would be sent, and nothing is sent.
  diff_mode:
    support: full
    description: The membership (role and slot count of each node) before and after (predicted in check mode).
options:
  away_from:
    description:
      - The inventory hosts (as in the C(inventory_host) of O(nodes); for a V(host:port) item of O(nodes) its host)
        or the V(host:port) addresses of O(nodes) to move the primaries away from. Every primary that serves slots
        on one of them becomes a replica.
      - An entry that names neither an inventory host nor an address of O(nodes) is refused.
    type: list
    elements: str
    required: true
  mode:
    description:
      - V(default) sends C(CLUSTER FAILOVER), a coordinated failover that needs the primary up and loses no
        acknowledged write.
      - V(force) sends C(CLUSTER FAILOVER FORCE), for a primary that is down or unreachable; the replica takes over
        without waiting for the primary (writes the replica had not received are lost), and its replication link
        need not be up. A majority of the primaries must still answer to elect it.
    type: str
    choices: [default, force]
    default: default
  timeout:
    description:
      - Seconds one failover may take, from the command until every node agrees.
      - To let the command be sent a second time (see above), this must be above 4 x C(cluster-node-timeout) plus
        half a second (60.5 s with Redis' default node timeout of 15 s).
    type: float
    default: 30
notes:
  - Clients that follow C(MOVED) redirections (cluster-aware clients) keep working; clients connected to the old
    primary get C(MOVED) once it is a replica.
  - The nodes of the hosts in O(away_from) stay members of the cluster (as replicas); check the cluster with
    M(ha.redis.cluster_check) after they restart.
seealso:
  - module: ha.redis.cluster_check
  - module: ha.redis.redis_cluster
  - module: ha.redis.cluster_rebalance
"""

EXAMPLES = r"""
- name: Show which replicas would take over from the primaries on redis-1
  ha.redis.cluster_failover:
    nodes:
      - {host: 10.0.0.11, port: 6379, inventory_host: redis-1}
      - {host: 10.0.0.12, port: 6379, inventory_host: redis-2}
      - {host: 10.0.0.13, port: 6379, inventory_host: redis-3}
      - {host: 10.0.0.14, port: 6379, inventory_host: redis-1}
      - {host: 10.0.0.15, port: 6379, inventory_host: redis-2}
      - {host: 10.0.0.16, port: 6379, inventory_host: redis-3}
    away_from: [redis-1]
    login_password: "{{ redis_password }}"
  run_once: true
  check_mode: true
  no_log: true

- name: Move every primary off redis-1 before its nodes restart
  ha.redis.cluster_failover:
    nodes:
      - {host: 10.0.0.11, port: 6379, inventory_host: redis-1}
      - {host: 10.0.0.12, port: 6379, inventory_host: redis-2}
      - {host: 10.0.0.13, port: 6379, inventory_host: redis-3}
      - {host: 10.0.0.14, port: 6379, inventory_host: redis-1}
      - {host: 10.0.0.15, port: 6379, inventory_host: redis-2}
      - {host: 10.0.0.16, port: 6379, inventory_host: redis-3}
    away_from: [redis-1]
    login_password: "{{ redis_password }}"
    timeout: 60
  run_once: true
  register: moved
  no_log: true

- name: Verify the cluster after the failovers
  ha.redis.cluster_check:
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
  no_log: true
"""

RETURN = r"""
failovers:
  description:
    - The failovers run (or planned, in check mode), in the order they ran.
  returned: always
  type: list
  elements: dict
  contains:
    primary:
      description: The primary that became a replica (V(host:port) as in O(nodes)).
      type: str
      sample: 10.0.0.11:6379
    replica:
      description: The replica that took over (V(host:port) as in O(nodes)); the command was sent to it.
      type: str
      sample: 10.0.0.15:6379
    slots:
      description: How many slots changed hands.
      type: int
      sample: 5461
    elapsed:
      description: Seconds from the command until every node agreed; null in check mode.
      type: float
      sample: 0.412
  sample: [{"primary": "10.0.0.11:6379", "replica": "10.0.0.15:6379", "slots": 5461, "elapsed": 0.412}]
commands:
  description: The commands sent (or that would be, in check mode), each as the node address, a colon and the
    command.
  returned: always
  type: list
  elements: str
  sample: ["10.0.0.15:6379: CLUSTER FAILOVER"]
elapsed:
  description: Seconds spent, the first reading of every node included.
  returned: always
  type: float
  sample: 0.63
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.ha.redis.plugins.module_utils._cluster_converge import membership
from ansible_collections.ha.redis.plugins.module_utils._cluster_failover import (
    MODES,
    away_addresses,
    move_primaries,
    predicted_membership,
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
        away_from=dict(type="list", elements="str", required=True),
        mode=dict(type="str", choices=list(MODES), default="default"),
        timeout=dict(type="float", default=30),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMP_ERR)
    p = module.params
    deadline = Deadline(0)
    op = None
    try:
        if p["timeout"] <= 0:
            raise HaRedisError("Option timeout is %s, expected a number of seconds above 0." % p["timeout"])
        declared = declared_nodes(p["nodes"])
        away = away_addresses(p["away_from"], declared)
        settings = ConnectionSettings.from_params(p, kind="redis")
        op = Operator(settings, check_mode=module.check_mode)
        views = collect(declared, settings)
        before = membership(views)
        steps, failovers = move_primaries(declared, views, op, settings, away, mode=p["mode"], timeout=p["timeout"])
    except HaRedisError as exc:
        details = dict(exc.details)
        details.setdefault("failovers", [])
        module.fail_json(msg=str(exc), changed=bool(details["failovers"]), commands=op.commands if op else [],
                         elapsed=deadline.elapsed(), **details)
    result = dict(changed=bool(failovers), failovers=failovers, commands=op.commands)
    if module._diff:
        if module.check_mode:
            after = predicted_membership(before, steps)
        else:
            after = membership(collect(declared, settings)) if failovers else before
        result["diff"] = dict(before=before, after=after)
    result["elapsed"] = deadline.elapsed()
    module.exit_json(**result)


if __name__ == "__main__":
    main()
