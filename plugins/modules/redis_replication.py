#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_replication
short_description: Make a Redis or Valkey data node a replica of a primary, or a primary (REPLICAOF)
version_added: 1.0.0
description:
  - Reads C(INFO replication) and, only when the node is not already as asked, runs C(REPLICAOF host port)
    (O(primary_host) and O(primary_port)) or C(REPLICAOF NO ONE) (O(role=primary)), then C(CONFIG REWRITE).
  - A replica counts as already pointed at the primary when its C(master_host) and C(master_port) equal
    O(primary_host) and O(primary_port); the host is compared as written, so use the address the node was
    given (the same name or IP address everywhere).
  - Meant for bootstrap and for repairing a node that disagrees with the Sentinel majority. With Sentinel in
    charge, use M(ha.redis.sentinel_failover) to move the primary role.
  - Refuses to make a node a replica of itself, and to demote a primary that still has connected replicas
    unless O(force=true).
author:
  - ha.redis contributors (!UNKNOWN)
extends_documentation_fragment:
  - ha.redis.connection.transport
  - ha.redis.connection.data_credentials
  - ha.redis.connection.data_node
options:
  role:
    description:
      - V(replica) makes the node replicate from O(primary_host):O(primary_port).
      - V(primary) makes it a primary (C(REPLICAOF NO ONE)); a node that is a primary already is left alone.
    type: str
    choices: [primary, replica]
    default: replica
  primary_host:
    description:
      - Address of the primary to replicate from. Required with O(role=replica).
    type: str
    aliases: [master_host]
  primary_port:
    description:
      - Port of the primary to replicate from.
    type: int
    default: 6379
    aliases: [master_port]
  force:
    description:
      - Allow demoting a node that is a primary with connected replicas. Their writes since the last sync
        would be lost, and they will follow the node to its new primary.
    type: bool
    default: false
  rewrite:
    description:
      - Run C(CONFIG REWRITE) after a change so that it survives a restart.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reports what would change and the commands that would run; changes nothing.
  diff_mode:
    support: full
    description: The role and primary before and after.
seealso:
  - module: ha.redis.redis_config
  - module: ha.redis.sentinel_failover
"""

EXAMPLES = r"""
- name: Point this node at the bootstrap primary
  ha.redis.redis_replication:
    login_password: "{{ redis_password }}"
    primary_host: 10.0.0.11
    primary_port: 6379
  no_log: true

- name: Make this node a primary
  ha.redis.redis_replication:
    login_password: "{{ redis_password }}"
    role: primary
  no_log: true
"""

RETURN = r"""
before:
  description: Role (V(primary) or V(replica)) and primary (C(host:port), null on a primary) before the run.
  returned: always
  type: dict
  sample: {"role": "primary", "primary": null}
after:
  description: Role and primary after the run (what they would be, in check mode).
  returned: always
  type: dict
  sample: {"role": "replica", "primary": "10.0.0.11:6379"}
commands:
  description: The commands run, or that would run in check mode.
  returned: always
  type: list
  elements: str
  sample: ["REPLICAOF 10.0.0.11 6379", "CONFIG REWRITE"]
diff:
  description: The role and primary before and after, when run with C(--diff).
  returned: when diff mode is on
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.ha.redis.plugins.module_utils._connection import (
    DEFAULT_REDIS_PORT,
    HAS_REDIS,
    REDIS_IMP_ERR,
    ConnectionSettings,
    HaRedisError,
    connect,
    describe_error,
    node_argument_spec,
    parse_endpoint,
)
from ansible_collections.ha.redis.plugins.module_utils._redis_config import (
    config_rewrite,
    plan_replication,
    replication_state,
)


def _summary(state):
    return dict(role=state["role"], primary=state["primary"])


def main():
    argument_spec = node_argument_spec("redis")
    argument_spec.update(
        role=dict(type="str", choices=["primary", "replica"], default="replica"),
        primary_host=dict(type="str", aliases=["master_host"]),
        primary_port=dict(type="int", default=DEFAULT_REDIS_PORT, aliases=["master_port"]),
        force=dict(type="bool", default=False),
        rewrite=dict(type="bool", default=True),
    )
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_if=[("role", "replica", ["primary_host"])],
    )
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMP_ERR)
    params = module.params
    if params["role"] == "primary" and params["primary_host"]:
        module.fail_json(msg="primary_host must not be set with role=primary: a primary replicates from no one.")

    result = dict(changed=False, commands=[], before={}, after={})
    try:
        endpoint = parse_endpoint({"host": params["login_host"], "port": params["login_port"]}, DEFAULT_REDIS_PORT)
        client = connect(endpoint, ConnectionSettings.from_params(params))
        try:
            state = replication_state(client.info("replication"))
        except Exception as exc:
            raise HaRedisError("Cannot read the replication state of %s: %s."
                               % (endpoint, describe_error(exc))) from exc
        result["before"] = _summary(state)
        result["after"] = _summary(state)
        args = plan_replication(state, params["role"], params["primary_host"], params["primary_port"],
                                self_endpoint=(endpoint.host, endpoint.port), force=params["force"])
        if args is not None:
            result["changed"] = True
            result["commands"] = ["REPLICAOF %s %s" % args]
            if params["rewrite"]:
                result["commands"].append("CONFIG REWRITE")
            if args == ("NO", "ONE"):
                result["after"] = dict(role="primary", primary=None)
            else:
                result["after"] = dict(role="replica", primary="%s:%s" % args)
            if not module.check_mode:
                try:
                    client.execute_command("REPLICAOF", *args)
                except Exception as exc:
                    raise HaRedisError("REPLICAOF %s %s failed on %s: %s." % (args[0], args[1], endpoint,
                                                                              describe_error(exc))) from exc
                if params["rewrite"]:
                    config_rewrite(client)
                result["after"] = _summary(replication_state(client.info("replication")))
        if module._diff:
            result["diff"] = dict(before=result["before"], after=result["after"])
    except HaRedisError as exc:
        module.fail_json(msg=str(exc), **dict(result, **exc.details))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
