#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: cluster_check
short_description: Verify that a Redis Cluster is healthy
version_added: "1.0.0"
description:
  - The verification gate of a Redis Cluster deployment. Asks every listed node at once.
  - "Every node answers and says C(cluster_state:ok); all 16384 slots are assigned and each owner serves its own
    slots; no slot is open (C(migrating)/C(importing), an unfinished reshard); every node has the same slot map and
    node list; every declared node is a member and every member is declared; primaries have unique config epochs;
    no node is flagged C(fail), C(fail?), C(handshake), C(noaddr) or C(nofailover)."
  - "Replicas: every primary has O(replicas) replicas (when given), each with its link up, at most
    O(max_lag_bytes) behind, and none on the inventory host of its primary (anti-affinity)."
  - Repeats the check every O(sleep) seconds until it passes or O(timeout) seconds have passed, then fails with one
    message that lists every problem of the last attempt; RV(problems) has the same list in structured form.
  - With O(write_probe=true), after the checks pass, a cluster-aware client (C(redis.cluster.RedisCluster)) writes
    and reads back one key on every primary.
  - Never reports a change.
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
    description: The checks run in check mode too; only the write probe is skipped.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  replicas:
    description:
      - How many replicas each primary should have. Default is not to count them.
    type: int
  primaries:
    description:
      - How many primaries should serve slots. Default is at least 3.
      - New primaries that wait for slots (members without slots and without a failure flag) make up the count;
        the check passes and says so in RV(notes), since the cluster is healthy and only a rebalance is due.
    type: int
  max_lag_bytes:
    description:
      - Largest accepted difference between a primary's replication offset and its replica's.
    type: int
    default: 1048576
  timeout:
    description:
      - Seconds to keep repeating the check until it passes. V(0) checks once.
    type: float
    default: 30
  sleep:
    description:
      - Seconds to wait between two attempts.
    type: float
    default: 1
  write_probe:
    description:
      - After the checks pass, write a key with a 60 second TTL to every primary through C(RedisCluster), read it
        back and delete it. A failed probe is a problem, and the check is repeated. Skipped in check mode.
    type: bool
    default: false
seealso:
  - module: ha.redis.cluster_info
  - module: ha.redis.sentinel_quorum
"""

EXAMPLES = r"""
- name: Verify the cluster (three hosts, two nodes each)
  ha.redis.cluster_check:
    nodes:
      - {host: 10.0.0.11, port: 6379, inventory_host: redis-1}
      - {host: 10.0.0.12, port: 6379, inventory_host: redis-2}
      - {host: 10.0.0.13, port: 6379, inventory_host: redis-3}
      - {host: 10.0.0.14, port: 6379, inventory_host: redis-1}
      - {host: 10.0.0.15, port: 6379, inventory_host: redis-2}
      - {host: 10.0.0.16, port: 6379, inventory_host: redis-3}
    replicas: 1
    write_probe: true
    login_password: "{{ redis_password }}"
    timeout: 60
  run_once: true
  no_log: true
"""

RETURN = r"""
elapsed:
  description: Seconds spent, all attempts included.
  returned: always
  type: float
  sample: 0.052
attempts:
  description: How many times the check ran.
  returned: always
  type: int
  sample: 1
problems:
  description:
    - What failed on the last attempt; empty when the check passed. The failure message lists the same problems.
  returned: always
  type: list
  elements: dict
  contains:
    group:
      description: Always null (the shape of M(ha.redis.sentinel_quorum)'s problems).
      type: str
    node:
      description: The node concerned (V(host:port)), or null for a cluster-wide problem.
      type: str
      sample: 10.0.0.12:6379
    check:
      description:
        - Short name of the failed check, for example C(node_unreachable), C(cluster_disabled), C(cluster_state),
          C(node_not_member), C(node_not_declared), C(slot_map_mismatch), C(node_list_mismatch),
          C(slots_unassigned), C(slots_not_served), C(slot_open), C(node_flags), C(config_epoch_duplicate),
          C(primary_count), C(replica_count), C(replica_same_host), C(replica_link_down), C(replica_lag_bytes),
          C(write_probe).
      type: str
      sample: slot_open
    message:
      description: One sentence naming the node, what was expected and what was seen.
      type: str
    expected:
      description: The expected value.
      type: raw
    seen:
      description: The value seen.
      type: raw
shards:
  description: Each primary with C(primary), C(id), C(inventory_host), C(slots), C(ranges), C(config_epoch) and
    C(replicas), as the reference node sees them.
  returned: always
  type: list
  elements: dict
reference:
  description: The node whose slot map and node list most nodes share.
  returned: always
  type: str
  sample: 10.0.0.11:6379
report:
  description: One line per primary, then each of RV(notes) prefixed with C(NOTE:).
  returned: always
  type: list
  elements: str
  sample: ["10.0.0.11:6379: 5462 slots (0-5461), epoch 1, replicas 10.0.0.15:6379"]
notes:
  version_added: 1.1.0
  description: What is not a fault but needs an operator - primaries that hold no slots yet and make up the count
    of O(primaries) (a rebalance is due).
  returned: always
  type: list
  elements: str
  sample:
    - "Primaries 10.0.0.17:6379 hold no slots yet (3 of 4 primaries serve slots): move slots to them with
      ha.redis.cluster_rebalance (site.yml -e redis_cluster_rebalance=true)."
probe:
  description: The write probe (empty unless O(write_probe=true) and the checks passed), with C(ok),
    C(primaries) (how many were written), C(error); in check mode C(skipped) and C(reason).
  returned: always
  type: dict
"""

import time
import uuid

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.ha.redis.plugins.module_utils._cluster_judge import (
    DEFAULT_MAX_LAG_BYTES,
    ClusterExpectations,
    evaluate,
    failure_message,
)
from ansible_collections.ha.redis.plugins.module_utils._cluster_model import declared_nodes
from ansible_collections.ha.redis.plugins.module_utils._cluster_ops import cluster_argument_spec, collect
from ansible_collections.ha.redis.plugins.module_utils._connection import (
    HAS_REDIS,
    REDIS_IMP_ERR,
    ConnectionSettings,
    Deadline,
    HaRedisError,
    client_kwargs,
    describe_error,
)
from ansible_collections.ha.redis.plugins.module_utils._sentinel_model import Finding


def argument_spec():
    spec = cluster_argument_spec()
    spec.update(
        replicas=dict(type="int"),
        primaries=dict(type="int"),
        max_lag_bytes=dict(type="int", default=DEFAULT_MAX_LAG_BYTES),
        timeout=dict(type="float", default=30),
        sleep=dict(type="float", default=1),
        write_probe=dict(type="bool", default=False),
    )
    return spec


def write_probe(declared, settings, shards):
    """Write, read back and delete one key per primary through RedisCluster (hash tags pick the slot)."""
    from redis.cluster import ClusterNode, RedisCluster  # noqa: PLC0415 - only the probe needs it
    from redis.crc import key_slot  # noqa: PLC0415

    client = RedisCluster(startup_nodes=[ClusterNode(n.endpoint.host, n.endpoint.port) for n in declared],
                          decode_responses=True, **client_kwargs(settings))
    token = uuid.uuid4().hex[:8]
    written = 0
    try:
        for shard in shards:
            if not shard["ranges"]:
                continue
            start = shard["ranges"][0][0]
            tag = next(str(i) for i in range(1000000) if key_slot(str(i).encode()) == start)
            key = "ha-redis:probe:{%s}:%s" % (tag, token)
            client.set(key, token, ex=60)
            if client.get(key) != token:
                return dict(ok=False, primaries=written, error="read back a different value from %s" % shard["primary"])
            client.delete(key)
            written += 1
    except Exception as exc:  # noqa: BLE001 - a failed probe is a problem
        return dict(ok=False, primaries=written, error=describe_error(exc))
    finally:
        client.close()
    return dict(ok=True, primaries=written, error=None)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMP_ERR)
    p = module.params
    try:
        declared = declared_nodes(p["nodes"])
        settings = ConnectionSettings.from_params(p, kind="redis")
        for label in ("timeout", "sleep", "max_lag_bytes", "replicas", "primaries"):
            if p[label] is not None and p[label] < 0:
                raise HaRedisError("Option %s is %s, expected 0 or more." % (label, p[label]))
    except HaRedisError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    expect = ClusterExpectations(replicas=p["replicas"], primaries=p["primaries"], max_lag_bytes=p["max_lag_bytes"])
    deadline = Deadline(p["timeout"])
    attempts = 0
    while True:
        attempts += 1
        outcome = evaluate(collect(declared, settings), expect)
        problems, probe = outcome["problems"], {}
        if not problems and p["write_probe"]:
            if module.check_mode:
                probe = dict(skipped=True, reason="check mode")
            else:
                probe = write_probe(declared, settings, outcome["shards"])
                if not probe["ok"]:
                    problems = [Finding(None, None, "write_probe", "The write probe through a cluster client failed: "
                                        "%s, expected every primary to take a write." % probe["error"],
                                        expected="written", seen=probe["error"])]
        if not problems or deadline.expired():
            break
        time.sleep(min(p["sleep"], deadline.remaining()))
    result = dict(changed=False, elapsed=deadline.elapsed(), attempts=attempts,
                  problems=[f.as_dict() for f in problems], shards=outcome["shards"],
                  reference=outcome["reference"], report=outcome["report"], notes=outcome["notes"], probe=probe)
    if problems:
        module.fail_json(msg=failure_message(problems, deadline.elapsed(), attempts), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
