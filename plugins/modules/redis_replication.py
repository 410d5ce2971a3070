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
  - A node that is a primary is demoted the way Sentinel demotes one, in one C(MULTI) - C(REPLICAOF),
    C(CONFIG REWRITE), C(CLIENT KILL TYPE normal) and C(CLIENT KILL TYPE pubsub) - so that its clients are
    disconnected and ask the Sentinels for the primary again instead of getting C(READONLY) from a replica
    (since 1.2.0; RV(clients_disconnected) counts them). A replica pointed at another primary keeps its clients.
  - Refuses to make a node a replica of itself, and to demote a primary that still has connected replicas
    unless O(force=true).
  - With O(instances), does the same for every instance of the list in one module run, the instances in
    parallel, and reports each under its name in RV(instances). One failed instance does not stop the others;
    the module then fails naming every instance that failed.
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
  instances:
    description:
      - Several instances of the host at once, each with its own role and primary (the list form). Mutually
        exclusive with O(role), O(primary_host), O(primary_port), O(login_host) and O(login_port); the
        credentials, TLS options, O(force) and O(rewrite) apply to every instance.
    type: list
    elements: dict
    version_added: "1.1.0"
    suboptions:
      name:
        description:
          - Name of the instance (for example its group), the key of its result in RV(instances). Unique.
        type: str
        required: true
      login_host:
        description:
          - Address of the instance.
        type: str
        default: 127.0.0.1
      login_port:
        description:
          - Port of the instance.
        type: int
        required: true
      role:
        description:
          - As O(role), for this instance.
        type: str
        choices: [primary, replica]
        default: replica
      primary_host:
        description:
          - As O(primary_host), for this instance. Required with O(instances[].role=replica).
        type: str
        aliases: [master_host]
      primary_port:
        description:
          - As O(primary_port), for this instance.
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
  action_group:
    support: full
    membership: [ha.redis.redis, ha.redis.data_nodes]
    description:
      - Each action group this module is in sets some of its options once in C(module_defaults).
      - C(group/ha.redis.redis) sets the connection options (TLS, timeouts).
      - C(group/ha.redis.data_nodes) sets the data nodes' credentials (login_user, login_password).
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

- name: Set the role of two instances of this host in one run
  ha.redis.redis_replication:
    login_password: "{{ redis_password }}"
    instances:
      - name: cache
        login_port: 6379
        primary_host: 10.0.0.11
        primary_port: 6379
      - name: queue
        login_port: 6380
        role: primary
  no_log: true
"""

RETURN = r"""
before:
  description: Role (V(primary) or V(replica)) and primary (C(host:port), null on a primary) before the run.
  returned: when O(instances) is not given
  type: dict
  sample: {"role": "primary", "primary": null}
after:
  description: Role and primary after the run (what they would be, in check mode).
  returned: when O(instances) is not given
  type: dict
  sample: {"role": "replica", "primary": "10.0.0.11:6379"}
commands:
  description: The commands run, or that would run in check mode.
  returned: when O(instances) is not given
  type: list
  elements: str
  sample: ["REPLICAOF 10.0.0.11 6379", "CONFIG REWRITE"]
clients_disconnected:
  description: Client connections a demoted primary closed (C(CLIENT KILL TYPE normal) and C(pubsub)).
  returned: when a primary was demoted, outside check mode (with O(instances), in the instance's result)
  type: int
  sample: 3
  version_added: 1.2.0
diff:
  description:
    - The role and primary before and after, when run with C(--diff).
    - With O(instances), a list of such diffs, one per instance, with C(before_header) and C(after_header) naming
      it.
  returned: when diff mode is on
  type: raw
instances:
  version_added: 1.1.0
  description:
    - With O(instances), the result of each instance by name - RV(before), RV(after), RV(commands) and
      C(changed) as in the single form (what would change, in check mode), and C(failed) and C(msg) for an
      instance that failed.
  returned: when O(instances) is given
  type: dict
  sample: {"cache": {"changed": true, "before": {"role": "primary", "primary": null},
           "after": {"role": "replica", "primary": "10.0.0.11:6379"},
           "commands": ["REPLICAOF 10.0.0.11 6379", "CONFIG REWRITE"]},
           "queue": {"changed": false, "before": {"role": "primary", "primary": null},
           "after": {"role": "primary", "primary": null}, "commands": []}}
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
from ansible_collections.ha.redis.plugins.module_utils._instances import (
    check_unique,
    diff_list,
    entry_options,
    guarded,
    run_entries,
    summarize,
)
from ansible_collections.ha.redis.plugins.module_utils._redis_config import (
    command_text,
    config_rewrite,
    demote,
    demotion_commands,
    plan_replication,
    replication_state,
)


def _summary(state):
    return dict(role=state["role"], primary=state["primary"])


def converge(endpoint, settings, want, force, rewrite, check_mode, want_diff, result):
    """Bring one node to ``want`` (role, primary_host, primary_port); fills ``result`` as it goes."""
    client = connect(endpoint, settings)
    try:
        state = replication_state(client.info("replication"))
    except Exception as exc:
        raise HaRedisError("Cannot read the replication state of %s: %s."
                           % (endpoint, describe_error(exc))) from exc
    result["before"] = _summary(state)
    result["after"] = _summary(state)
    args = plan_replication(state, want["role"], want["primary_host"], want["primary_port"],
                            self_endpoint=(endpoint.host, endpoint.port), force=force)
    if args is not None:
        result["changed"] = True
        demoting = state["role"] == "primary" and args != ("NO", "ONE")
        if demoting:
            result["commands"] = (["MULTI"] + [command_text(c) for c in demotion_commands(*args, rewrite=rewrite)]
                                  + ["EXEC"])
        else:
            result["commands"] = ["REPLICAOF %s %s" % args] + (["CONFIG REWRITE"] if rewrite else [])
        if args == ("NO", "ONE"):
            result["after"] = dict(role="primary", primary=None)
        else:
            result["after"] = dict(role="replica", primary="%s:%s" % args)
        if not check_mode:
            if demoting:
                result["clients_disconnected"], rewrite_error = _demote(client, endpoint, args, rewrite)
                if rewrite_error is not None:
                    raise HaRedisError("CONFIG REWRITE failed on %s, the change is live but not persisted: %s."
                                       % (endpoint, rewrite_error))
            else:
                try:
                    client.execute_command("REPLICAOF", *args)
                except Exception as exc:
                    raise HaRedisError("REPLICAOF %s %s failed on %s: %s." % (args[0], args[1], endpoint,
                                                                              describe_error(exc))) from exc
                if rewrite:
                    config_rewrite(client)
            result["after"] = _summary(replication_state(client.info("replication")))
    if want_diff:
        result["diff"] = dict(before=result["before"], after=result["after"])
    return result


def _demote(client, endpoint, args, rewrite):
    """Demote a primary the way Sentinel does (one MULTI that also disconnects its clients)."""
    try:
        return demote(client, args[0], args[1], rewrite=rewrite)
    except Exception as exc:
        reason = exc.details["reason"] if isinstance(exc, HaRedisError) else describe_error(exc)
        raise HaRedisError("REPLICAOF %s %s failed on %s: %s." % (args[0], args[1], endpoint, reason)) from exc


def check_want(want, where):
    """A role and a primary that go together (the spec's required_if, for the entries of O(instances) too)."""
    if want["role"] == "primary" and want["primary_host"]:
        raise HaRedisError("%sprimary_host must not be set with role=primary: a primary replicates from no one."
                           % where)
    if want["role"] == "replica" and not want["primary_host"]:
        raise HaRedisError("%sprimary_host is required with role=replica: the address of the primary to follow."
                           % where)


def argument_spec():
    spec = node_argument_spec("redis")
    spec.update(
        role=dict(type="str", choices=["primary", "replica"], default="replica"),
        primary_host=dict(type="str", aliases=["master_host"]),
        primary_port=dict(type="int", default=DEFAULT_REDIS_PORT, aliases=["master_port"]),
        instances=dict(type="list", elements="dict", options=entry_options(
            role=dict(type="str", choices=["primary", "replica"], default="replica"),
            primary_host=dict(type="str", aliases=["master_host"]),
            primary_port=dict(type="int", default=DEFAULT_REDIS_PORT, aliases=["master_port"]),
        )),
        force=dict(type="bool", default=False),
        rewrite=dict(type="bool", default=True),
    )
    return spec


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        mutually_exclusive=[("instances", option) for option in ("role", "primary_host", "primary_port",
                                                                 "login_host", "login_port")],
    )
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMP_ERR)
    params = module.params
    single = params["instances"] is None
    entries = params["instances"]
    if single:
        entries = [dict(name=None, login_host=params["login_host"], login_port=params["login_port"],
                        role=params["role"], primary_host=params["primary_host"], primary_port=params["primary_port"])]
    try:
        for entry in entries:
            check_want(entry, "" if single else "Instance %s: " % entry["name"])
        check_unique(entries)
        settings = ConnectionSettings.from_params(params)
    except HaRedisError as exc:
        module.fail_json(msg=str(exc), **exc.details)

    def run(entry):
        def work(result):
            endpoint = parse_endpoint({"host": entry["login_host"], "port": entry["login_port"]}, DEFAULT_REDIS_PORT)
            converge(endpoint, settings, entry, params["force"], params["rewrite"], module.check_mode, module._diff,
                     result)
        return guarded(dict(changed=False, commands=[], before={}, after={}), work)

    if single:
        result = run(entries[0])
        if result.pop("failed", False):
            module.fail_json(**result)
        module.exit_json(**result)
    results = run_entries(run, entries)
    changed, failure = summarize(results)
    report = dict(changed=changed, instances=results)
    if module._diff:
        report["diff"] = diff_list(results)
    if failure:
        module.fail_json(msg=failure, **report)
    module.exit_json(**report)


if __name__ == "__main__":
    main()
