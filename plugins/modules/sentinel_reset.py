#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sentinel_reset
short_description: Make one Redis Sentinel forget retired replicas and Sentinels of a group
version_added: 1.0.0
description:
  - Runs against one Sentinel. A Sentinel keeps listing a replica or another Sentinel that was retired (as down)
    until it is told to forget it with C(SENTINEL RESET).
  - Reads C(SENTINEL MASTER), C(SENTINEL REPLICAS) and C(SENTINEL SENTINELS) of O(primary_name). When the
    Sentinel lists more other Sentinels than O(expected_sentinels) - 1 or more replicas than O(expected_replicas)
    (or O(force=true)), sends C(SENTINEL RESET) for that group only (its name escaped as a glob pattern).
  - Then waits until the Sentinel lists exactly O(expected_sentinels) - 1 other Sentinels and
    O(expected_replicas) replicas (it rediscovers replicas from the primary's C(INFO) and Sentinels from their
    hello messages, every 2 seconds) and sees the primary up, for up to O(timeout) seconds. This wait also runs
    when no reset was needed, so a task run on each Sentinel in turn never lets them all forget at once.
  - Refuses to reset while the Sentinel reports a failover in progress for the group.
  - The monitored primary, quorum and settings are kept; only the lists of replicas and Sentinels are rebuilt.
author:
  - ha.redis contributors (!UNKNOWN)
extends_documentation_fragment:
  - ha.redis.connection.transport
  - ha.redis.connection.sentinel_credentials
  - ha.redis.connection.sentinel_node
  - ha.redis.connection.primary_name
options:
  expected_sentinels:
    description:
      - How many Sentinels monitor the group after the change, this one included.
    type: int
    required: true
  expected_replicas:
    description:
      - How many replicas the group has after the change.
    type: int
    required: true
  force:
    description:
      - Reset even when the Sentinel lists no more members than expected.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait until the Sentinel lists the expected members. V(0) checks once.
    type: float
    default: 30
  sleep:
    description:
      - Seconds between two checks while waiting.
    type: float
    default: 0.5
attributes:
  action_group:
    support: full
    membership: [ha.redis.redis, ha.redis.sentinels]
    description:
      - Each action group this module is in sets some of its options once in C(module_defaults).
      - C(group/ha.redis.redis) sets the connection options (TLS, timeouts).
      - C(group/ha.redis.sentinels) sets the Sentinels' credentials (sentinel_user, sentinel_password).
  check_mode:
    support: full
    description: Reports whether a reset would run and the command; sends nothing and does not wait.
  diff_mode:
    support: full
    description: The members the Sentinel listed before and after.
notes:
  - Reset the Sentinels of a deployment one at a time (a task with C(throttle=1) or a C(serial=1) play) so that
    the others keep their knowledge while one rebuilds it.
seealso:
  - module: ha.redis.sentinel_monitor
  - module: ha.redis.sentinel_quorum
"""

EXAMPLES = r"""
- name: Forget the retired hosts, one Sentinel at a time
  ha.redis.sentinel_reset:
    sentinel_password: "{{ redis_sentinel_password }}"
    primary_name: main
    expected_sentinels: 3
    expected_replicas: 2
    timeout: 30
  throttle: 1
  no_log: true
"""

RETURN = r"""
reset:
  description: Whether C(SENTINEL RESET) was sent (or would be, in check mode).
  returned: always
  type: bool
  sample: true
before:
  description: The primary and the other Sentinels and replicas the Sentinel listed before the run.
  returned: always
  type: dict
  sample: {"primary": "10.0.0.13:6379", "sentinels": ["10.0.0.11:26379", "10.0.0.13:26379"],
           "replicas": ["10.0.0.11:6379", "10.0.0.12:6379"]}
after:
  description: The same after the run (equal to RV(before) in check mode).
  returned: always
  type: dict
  sample: {"primary": "10.0.0.13:6379", "sentinels": ["10.0.0.13:26379"], "replicas": ["10.0.0.12:6379"]}
forgotten:
  description: Sentinels and replicas listed before and not after.
  returned: always
  type: dict
  sample: {"sentinels": ["10.0.0.11:26379"], "replicas": ["10.0.0.11:6379"]}
commands:
  description: The commands sent, or that would be sent in check mode.
  returned: always
  type: list
  elements: str
  sample: ["SENTINEL RESET main"]
elapsed:
  description: Seconds spent, the wait included.
  returned: always
  type: float
  sample: 2.6
diff:
  description: RV(before) and RV(after) when run with C(--diff).
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.ha.redis.plugins.module_utils._connection import (
    DEFAULT_SENTINEL_PORT,
    HAS_REDIS,
    REDIS_IMP_ERR,
    ConnectionSettings,
    Deadline,
    HaRedisError,
    connect,
    describe_error,
    node_argument_spec,
    parse_endpoint,
    primary_name_option,
)
from ansible_collections.ha.redis.plugins.module_utils._sentinel_reset import (
    forgotten,
    glob_escape,
    members,
    read_view,
    reset,
    reset_needed,
    wait_settled,
)


def main():
    argument_spec = node_argument_spec("sentinel")
    argument_spec.update(
        **primary_name_option(),
        expected_sentinels=dict(type="int", required=True),
        expected_replicas=dict(type="int", required=True),
        force=dict(type="bool", default=False),
        timeout=dict(type="float", default=30.0),
        sleep=dict(type="float", default=0.5),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMP_ERR)
    params = module.params
    name = params["primary_name"]
    if params["expected_sentinels"] < 1 or params["expected_replicas"] < 0:
        module.fail_json(msg="expected_sentinels must be 1 or more and expected_replicas 0 or more, got %d and %d."
                         % (params["expected_sentinels"], params["expected_replicas"]))

    deadline = Deadline(params["timeout"])
    result = dict(changed=False, reset=False, before={}, after={}, forgotten=dict(sentinels=[], replicas=[]),
                  commands=[], elapsed=0.0)
    try:
        endpoint = parse_endpoint({"host": params["login_host"], "port": params["login_port"]}, DEFAULT_SENTINEL_PORT)
        where = str(endpoint)
        client = connect(endpoint, ConnectionSettings.from_params(params, kind="sentinel"))
        try:
            view = read_view(client, where, name)
            result["before"] = result["after"] = members(view)
            if params["force"] or reset_needed(view, params["expected_sentinels"], params["expected_replicas"]):
                if view.failover_in_progress:
                    raise HaRedisError(
                        "Sentinel %s reports a failover in progress for group %s (state %s); not resetting it now."
                        % (where, name, view.failover_state))
                result["commands"] = ["SENTINEL RESET %s" % glob_escape(name)]
                result["reset"] = result["changed"] = True
                if not module.check_mode:
                    reset(client, name)
            if not module.check_mode:
                view = wait_settled(client, where, name, params["expected_sentinels"], params["expected_replicas"],
                                    deadline, params["sleep"])
                result["after"] = members(view)
                result["forgotten"] = forgotten(result["before"], result["after"])
        except HaRedisError:
            raise
        except Exception as exc:  # noqa: BLE001 - connection and reply errors become one message
            raise HaRedisError("Sentinel %s: %s." % (where, describe_error(exc))) from exc
        finally:
            client.close()
    except HaRedisError as exc:
        result["elapsed"] = deadline.elapsed()
        module.fail_json(msg=str(exc), **dict(result, **exc.details))
    result["elapsed"] = deadline.elapsed()
    if module._diff:
        result["diff"] = dict(before=result["before"], after=result["after"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
