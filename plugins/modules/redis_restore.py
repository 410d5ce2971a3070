#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_restore
short_description: Restore a replication group's node from a restic snapshot taken by ha.redis.redis_backup
version_added: 1.2.0
description:
  - One step of a restore on one data node, chosen by O(action); the playbook C(ha.redis.restore) runs them in
    order (the Sentinels held from failing over, the replicas stopped, the primary loaded, the replicas started).
  - "O(action=check): finds the snapshot (O(snapshot), a restic ID or V(latest)) of O(group) and fails when the
    engine of this node cannot load its RDB format (for example RDB 12, written by Redis 7.4 and 8, on Valkey 8 or
    Redis 7.0; RDB 11 on Redis 7.0). Read-only: run it on every node before anything is stopped."
  - "O(action=stop_replica): stops O(service) and removes the node's RDB file and AOF, so that it full-syncs from
    the restored primary when started."
  - "O(action=load): the check, then C(restic dump) of the snapshot into the node's data directory (the RDB
    format of the file checked against its tag), O(service) stopped, the AOF removed, the RDB put in place; with
    C(appendonly yes) the node starts with C(appendonly no) (written in its configuration file, since it would
    otherwise load its AOF and ignore the RDB), and once loaded C(CONFIG SET appendonly yes) rebuilds the AOF from
    memory and C(CONFIG REWRITE) writes it back."
  - The repository and its password come from O(env_file), never from an option or a command line.
author:
  - ha.redis contributors (!UNKNOWN)
extends_documentation_fragment:
  - ha.redis.connection.transport
  - ha.redis.connection.data_credentials
  - ha.redis.connection.data_node
options:
  group:
    description:
      - Name of the group whose snapshot is restored.
    type: str
    required: true
  snapshot:
    description:
      - The snapshot, a restic snapshot ID (or its short form) of the group, or V(latest).
    type: str
    required: true
  action:
    description:
      - The step, see the description.
    type: str
    choices: [check, stop_replica, load]
    default: check
  service:
    description:
      - The systemd unit of the node (for example C(redis-server@main.service)). Required with O(action=load) and
        O(action=stop_replica).
    type: str
  env_file:
    description:
      - Root-only file with C(RESTIC_REPOSITORY), C(RESTIC_PASSWORD) and the backend's variables. Not used by
        O(action=stop_replica).
    type: path
  restic:
    description:
      - Path of the restic binary.
    type: path
    default: /usr/bin/restic
  timeout:
    description:
      - Seconds the download, the load and the AOF rebuild may each take.
    type: float
    default: 3600
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
    description: Runs the check and reports the commands the step would run; stops, removes and writes nothing.
  diff_mode:
    support: none
    description: Returns no diff.
seealso:
  - module: ha.redis.redis_backup
"""

EXAMPLES = r"""
- name: Refuse a snapshot this node cannot load, before anything is stopped
  ha.redis.redis_restore:
    login_password: "{{ redis_password }}"
    group: main
    snapshot: latest
    env_file: /etc/ha-redis/backup/restic.env
  no_log: true

- name: Load snapshot 4f1c2a9b into the primary of group main
  ha.redis.redis_restore:
    login_password: "{{ redis_password }}"
    group: main
    snapshot: 4f1c2a9b
    action: load
    service: redis-server@main.service
    env_file: /etc/ha-redis/backup/restic.env
  no_log: true
"""

RETURN = r"""
snapshot:
  description:
    - The snapshot - C(id), C(short_id), C(time), C(tags) (group, engine, version, rdb, offset, replid, source)
      and C(target) (this node's engine and version).
  returned: with O(action=check) and O(action=load)
  type: dict
  sample: {"id": "4f1c2a9b...", "short_id": "4f1c2a9b", "time": "2026-12-08T04:00:00Z",
           "tags": {"group": "main", "engine": "redis", "version": "7.0.15", "rdb": "10", "offset": "123456"},
           "target": {"engine": "redis", "version": "7.0.15"}}
key_count:
  description: Keys in the node after the load (C(DBSIZE)).
  returned: with O(action=load), outside check mode
  type: int
aof_rebuilt:
  description: Whether the AOF was turned off for the load and rebuilt from memory.
  returned: with O(action=load), outside check mode
  type: bool
commands:
  description: What ran, or would run in check mode.
  returned: success
  type: list
  elements: str
  sample: ["systemctl stop redis-server@main.service", "restic dump 4f1c2a9b",
           "systemctl start redis-server@main.service"]
elapsed:
  description: Seconds the load took.
  returned: with O(action=load), outside check mode
  type: float
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.ha.redis.plugins.module_utils._backup import (
    check_restore,
    load_snapshot,
    restic_env,
    stop_and_wipe,
)
from ansible_collections.ha.redis.plugins.module_utils._backup_plan import BackupError
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


def argument_spec():
    spec = node_argument_spec("redis")
    spec.update(
        group=dict(type="str", required=True),
        snapshot=dict(type="str", required=True),
        action=dict(type="str", choices=["check", "stop_replica", "load"], default="check"),
        service=dict(type="str"),
        env_file=dict(type="path"),
        restic=dict(type="path", default="/usr/bin/restic"),
        timeout=dict(type="float", default=3600),
    )
    return spec


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        required_if=[("action", "load", ("service", "env_file")), ("action", "check", ("env_file",)),
                     ("action", "stop_replica", ("service",))],
    )
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMP_ERR)
    params = module.params
    group, action = params["group"], params["action"]
    try:
        settings = ConnectionSettings.from_params(params)
        endpoint = parse_endpoint({"host": params["login_host"], "port": params["login_port"]}, DEFAULT_REDIS_PORT)
        local = connect(endpoint, settings)
        if action == "stop_replica":
            commands = ["systemctl stop %s" % params["service"], "remove the RDB file and the AOF"]
            if not module.check_mode:
                stop_and_wipe(local, params["service"])
            module.exit_json(changed=True, commands=commands)
        env = restic_env(params["env_file"])
        if action == "check" or module.check_mode:
            picked = check_restore(local, params["restic"], env, group, params["snapshot"])
            commands = [] if action == "check" else [
                "restic dump %s" % picked["short_id"], "systemctl stop %s" % params["service"],
                "systemctl start %s" % params["service"]]
            module.exit_json(changed=action != "check", snapshot=picked, commands=commands)
        result = load_snapshot(local, lambda: connect(endpoint, settings), params["restic"], env, group,
                               params["snapshot"], params["service"], timeout=params["timeout"])
    except (BackupError, HaRedisError) as exc:
        module.fail_json(msg="Group %s: %s" % (group, exc), **exc.details)
    except Exception as exc:  # noqa: BLE001 - redis-py and OS errors, one sentence
        module.fail_json(msg="Group %s: the restore step %s failed: %s." % (group, action, describe_error(exc)))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
