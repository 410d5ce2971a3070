#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sentinel_failover
short_description: Move the primary of a Sentinel-managed group to a replica without losing writes
version_added: 1.0.0
description:
  - A planned switchover through Sentinel. The Sentinels listed in O(sentinels) are asked who the primary of
    O(primary_name) is; a majority of them must agree.
  - Nothing is done when O(avoid) is given and is not the primary, or when O(target) is the primary already;
    so a task with O(avoid) can be repeated (for example before restarting each node of a rolling upgrade).
  - With O(target), that replica becomes the primary. Because C(SENTINEL FAILOVER) picks its own replica, the
    other replicas get C(replica-priority 0) for the duration (restored afterwards, also on failure), and the
    module waits until the Sentinel that runs the failover has seen that (its next C(INFO) of each replica, up to
    10 seconds). RV(method) is V(target).
  - Without O(target), Sentinel chooses among its candidates (listed replicas that are not down or disconnected
    and have a non-zero C(replica-priority)); nothing is changed on the replicas, so the switchover takes about a
    second. With O(zero_loss=true), EVERY candidate must have the whole replication stream of the paused primary
    before C(SENTINEL FAILOVER) is sent, so whichever one Sentinel promotes holds every acknowledged write.
    RV(method) is V(any_synced_replica). When a candidate is not replicating with its link up before the pause,
    the module warns and uses the O(target) method with the healthy replica that has the lowest non-zero
    C(replica-priority), then the largest offset.
  - With O(zero_loss=true), writes on the primary are paused (C(CLIENT PAUSE WRITE), Redis 6.2 or newer) until
    the new primary has every acknowledged write and has been promoted; the old primary is then made a replica
    of the new one (C(REPLICAOF)) before it is unpaused, so it never accepts a write the new primary lacks.
  - The old primary is demoted the way Sentinel demotes a primary, in one C(MULTI) - C(REPLICAOF),
    C(CONFIG REWRITE), C(CLIENT KILL TYPE normal), C(CLIENT KILL TYPE pubsub) - so that every client connected to
    it, the ones waiting on the write pause included, is disconnected and asks the Sentinels again. Without that,
    a client that does not treat C(READONLY) as a reason to reconnect (most clients but redis-py's Sentinel
    client) would keep writing to a replica. Since 1.2.0; RV(clients_disconnected) counts them.
  - Right after the promotion, the module points every other replica at the new primary (C(REPLICAOF), the command
    Sentinel sends them too), and when there are more of them than the leader's C(parallel-syncs), raises that
    setting on the leader to the number of replicas for the duration (C(SENTINEL SET), restored afterwards, also on
    failure), so that the leader marks them all reconfigured at its next C(INFO) of each, instead of one per second.
  - The module then waits until every listed Sentinel names the new primary and the old primary replicates
    from it with its link up.
  - On any error or timeout, the old primary is unpaused, the priorities are restored and the module fails with
    one message; if C(SENTINEL FAILOVER) was not sent yet, the old primary is still the primary and writable.
author:
  - ha.redis contributors (!UNKNOWN)
extends_documentation_fragment:
  - ha.redis.connection.transport
  - ha.redis.connection.data_credentials
  - ha.redis.connection.sentinel_credentials
  - ha.redis.connection.primary_name
options:
  sentinels:
    description:
      - The Sentinels of the group, as C(host:port) strings or dicts with C(host) and C(port) (default port 26379).
      - The last one that names the agreed primary runs the failover (see the notes on clients).
    type: list
    elements: raw
    required: true
  target:
    description:
      - The replica (C(host:port), as Sentinel lists it) that must become the primary.
    type: str
  avoid:
    description:
      - The data node (C(host:port)) that must not be the primary afterwards. When it is not the primary now,
        nothing is done.
    type: str
  zero_loss:
    description:
      - Pause writes on the primary and wait until the new primary has all of them before the failover.
      - With V(false), C(SENTINEL FAILOVER) is sent at once; writes acknowledged by the old primary but not yet
        replicated can be lost.
    type: bool
    default: true
  timeout:
    description:
      - Seconds the whole switchover may take before the module gives up.
    type: float
    default: 30
  pause_timeout_ms:
    description:
      - Duration of each C(CLIENT PAUSE WRITE); the module renews it while it waits and ends it as soon as the
        old primary is a replica. It bounds how long writes stay paused if the module itself dies.
      - Keep it below the Sentinels' C(down-after-milliseconds).
    type: int
    default: 5000
  align_with_sentinel_info:
    description:
      - Sentinel notices a promotion only in its next C(INFO) reply from the promoted replica, and clients that
        ask it (C(SENTINEL GET-MASTER-ADDR-BY-NAME)) learn the new primary only then. That C(INFO) comes every
        10 seconds, and every second during a failover, counted from the last reply; when the last reply is
        recent the promotion is noticed up to a second late.
      - With V(true), the module first waits (up to 10 seconds, before pausing anything) until the leader's last
        C(INFO) reply from the replica to promote (without O(target), the one Sentinel will most likely choose) is
        about 0.56 s old, so that its next one comes just after the promotion. The time clients wait for the new
        primary's address drops from about a second to a few hundred milliseconds; RV(info_cycle_wait) tells how
        long the module waited.
      - The wait is skipped when it would leave less than half of O(timeout) for the switchover itself.
    type: bool
    default: true
attributes:
  action_group:
    support: full
    membership: [ha.redis.redis, ha.redis.data_nodes, ha.redis.sentinels]
    description:
      - Each action group this module is in sets some of its options once in C(module_defaults).
      - C(group/ha.redis.redis) sets the connection options (TLS, timeouts).
      - C(group/ha.redis.data_nodes) sets the data nodes' credentials (login_user, login_password).
      - C(group/ha.redis.sentinels) sets the Sentinels' credentials (sentinel_user, sentinel_password).
  check_mode:
    support: full
    description: Reports the primary, the chosen new primary and the commands it would send; changes nothing.
  diff_mode:
    support: none
    description: The switchover is reported in RV(old_primary), RV(new_primary) and RV(commands) instead.
notes:
  - Clients that read C(SENTINEL MASTERS) (redis-py's C(Sentinel) client) get the new primary from the Sentinel
    that leads the failover only once the whole failover has ended; the other Sentinels name it as soon as the
    leader announces the promotion. The module makes the last Sentinel of O(sentinels) the leader, so clients that
    list the Sentinels in the same order (redis-py asks them in turn, the first that answers wins) learn the new
    primary as early as C(GET-MASTER-ADDR-BY-NAME) clients do (about 0.6 s of writes refused in the benchmark,
    against 1.6 s with 2 replicas and 3.7 s with 4 when the first Sentinel led).
  - With O(target), Sentinels see a new C(replica-priority) on their next C(INFO) of the replica (every 10
    seconds), so a switchover takes a few seconds even though the write pause itself is short. Without O(target)
    there is no such wait.
seealso:
  - module: ha.redis.sentinel_monitor
"""

EXAMPLES = r"""
- name: Make sure 10.0.0.11 is not the primary before restarting it
  ha.redis.sentinel_failover:
    sentinels: [10.0.0.11:26379, 10.0.0.12:26379, 10.0.0.13:26379]
    primary_name: main
    avoid: 10.0.0.11:6379
    login_password: "{{ redis_password }}"
    sentinel_password: "{{ redis_sentinel_password }}"
  run_once: true
  no_log: true

- name: Switch the primary over to a chosen replica
  ha.redis.sentinel_failover:
    sentinels: [10.0.0.11:26379, 10.0.0.12:26379, 10.0.0.13:26379]
    primary_name: main
    target: 10.0.0.12:6379
    login_password: "{{ redis_password }}"
    sentinel_password: "{{ redis_sentinel_password }}"
  run_once: true
  no_log: true
"""

RETURN = r"""
old_primary:
  description: The primary before the run.
  returned: always
  type: str
  sample: 10.0.0.11:6379
new_primary:
  description:
    - The primary after the run.
    - In check mode, the one that would be chosen; without O(target), the one Sentinel will most likely choose.
  returned: always
  type: str
  sample: 10.0.0.12:6379
elapsed:
  description: Seconds the switchover took.
  returned: when a switchover was attempted outside check mode
  type: float
  sample: 3.52
write_pause_ms:
  description:
    - Milliseconds from the write pause (or from C(SENTINEL FAILOVER) with O(zero_loss=false)) until the new
      primary reported role master, as measured by the module.
  returned: when a switchover happened
  type: int
  sample: 120
method:
  description:
    - How the new primary was chosen. V(target) when O(target) was given (or when a candidate was out of sync,
      see the description); V(any_synced_replica) when Sentinel chose among replicas that all had every write.
  returned: when a switchover was needed
  type: str
  sample: any_synced_replica
info_cycle_wait:
  description: Seconds waited before the pause for the leader Sentinel's INFO cycle (see O(align_with_sentinel_info)).
  returned: when a switchover happened with O(align_with_sentinel_info=true)
  type: float
  sample: 4.21
synced_replicas:
  description: The replicas that had reached the paused primary's offset before C(SENTINEL FAILOVER).
  returned: when a switchover happened with O(zero_loss=true)
  type: list
  elements: str
  sample: [10.0.0.12:6379, 10.0.0.13:6379]
commands:
  description: Commands sent (or that would be sent in check mode), each prefixed with the node it went to.
  returned: always
  type: list
  elements: str
  sample: ["10.0.0.13:6379: CONFIG SET replica-priority 0", "10.0.0.11:6379: CLIENT PAUSE 5000 WRITE",
           "10.0.0.11:6379: MULTI", "10.0.0.11:6379: REPLICAOF 10.0.0.12 6379", "10.0.0.11:6379: CONFIG REWRITE",
           "10.0.0.11:6379: CLIENT KILL TYPE normal", "10.0.0.11:6379: CLIENT KILL TYPE pubsub",
           "10.0.0.11:6379: EXEC"]
clients_disconnected:
  description:
    - Client connections the old primary closed when it was demoted (C(CLIENT KILL TYPE normal) and C(pubsub)),
      so that they reconnect through the Sentinels. Connections of Sentinels and monitoring count too.
  returned: when a switchover happened
  type: int
  sample: 12
  version_added: 1.2.0
views:
  description: What each Sentinel named as the primary before the run (null when it did not answer).
  returned: always
  type: dict
  sample: {"10.0.0.11:26379": "10.0.0.11:6379"}
msg:
  description: Why nothing was done, when nothing was.
  returned: when changed is false
  type: str
  sample: "Nothing to do: 10.0.0.13:6379 is not the primary (the primary is 10.0.0.11:6379)."
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.ha.redis.plugins.module_utils._connection import (
    HAS_REDIS,
    REDIS_IMP_ERR,
    ConnectionSettings,
    HaRedisError,
    connection_argument_spec,
    describe_error,
    primary_name_option,
)
from ansible_collections.ha.redis.plugins.module_utils._switchover import Switchover

RESULT_KEYS = ("changed", "old_primary", "new_primary", "elapsed", "write_pause_ms", "commands", "views", "msg",
               "method", "synced_replicas", "info_cycle_wait", "clients_disconnected")


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        sentinels=dict(type="list", elements="raw", required=True),
        **primary_name_option(),
        target=dict(type="str"),
        avoid=dict(type="str"),
        zero_loss=dict(type="bool", default=True),
        timeout=dict(type="float", default=30.0),
        pause_timeout_ms=dict(type="int", default=5000),
        align_with_sentinel_info=dict(type="bool", default=True),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMP_ERR)
    params = module.params
    if params["target"] and params["avoid"] and params["target"] == params["avoid"]:
        module.fail_json(msg="target and avoid name the same node %s." % params["target"])
    if params["timeout"] < 1 or params["pause_timeout_ms"] < 100:
        module.fail_json(msg="timeout must be at least 1 s and pause_timeout_ms at least 100 ms.")

    result = dict(changed=False, commands=[])
    job = None
    try:
        job = Switchover(params["sentinels"], params["primary_name"], ConnectionSettings.from_params(params),
                         ConnectionSettings.from_params(params, kind="sentinel"), target=params["target"],
                         avoid=params["avoid"], zero_loss=params["zero_loss"], timeout=params["timeout"],
                         pause_timeout_ms=params["pause_timeout_ms"],
                         align_with_sentinel_info=params["align_with_sentinel_info"])
        plan = job.plan()
        result.update((k, v) for k, v in plan.items() if k in RESULT_KEYS)
        if plan["changed"]:
            result["commands"] = plan["planned"]
            if not module.check_mode:
                done = job.run(plan)
                result.update((k, v) for k, v in done.items() if k in RESULT_KEYS)
                for warning in done.get("warnings", []):
                    module.warn(warning)
    except Exception as exc:  # noqa: BLE001 - every failure becomes one message
        details = dict(exc.details) if isinstance(exc, HaRedisError) else {}
        message = str(exc) if isinstance(exc, HaRedisError) else describe_error(exc)
        if job is not None:
            result["commands"] = job.commands or result["commands"]
            for warning in job.warnings:
                module.warn(warning)
            if any("SENTINEL FAILOVER" in c for c in job.commands):
                result["changed"] = True
        result.update(details)
        module.fail_json(msg="Switchover of %s failed: %s" % (params["primary_name"], message), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
