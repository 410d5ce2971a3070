#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_backup
short_description: Take a restic snapshot of a replication group from a replica in sync
version_added: 1.2.0
description:
  - Runs on every data node of a group (the same call on each); only the node chosen as the source takes the
    snapshot, the others report RV(is_source=false) and change nothing.
  - The source is chosen from the primary's C(INFO replication), read through the local node - a replica whose
    link is up, acknowledged within O(max_lag_seconds) and behind the primary by at most O(max_lag_bytes), the one
    with the smallest lag (lags within 64 KiB count as equal and the lowest address wins, so every node reaches
    the same choice). Without such a replica the module fails, unless O(allow_primary=true), when the primary
    itself is snapshotted (C(BGSAVE) forks it) with a warning.
  - "The source runs C(BGSAVE SCHEDULE), waits until the save has finished and succeeded, and streams the RDB
    file into C(restic backup --stdin) (file name C(<group>.rdb), restic host C(ha-redis-<group>)), tagged with
    the group, the engine and its version, the RDB format, the replication offset and ID of the data and the
    source. Then, with O(keep), C(restic forget --prune) keeps what the retention says."
  - The repository and its password come from O(env_file) (systemd EnvironmentFile syntax, C(RESTIC_REPOSITORY),
    C(RESTIC_PASSWORD) and any backend variable), never from an option or a command line.
  - The systemd timer of the role M(ha.redis.backup) runs the same code.
author:
  - ha.redis contributors (!UNKNOWN)
extends_documentation_fragment:
  - ha.redis.connection.transport
  - ha.redis.connection.data_credentials
  - ha.redis.connection.data_node
options:
  group:
    description:
      - Name of the group (Sentinel's master name); names the snapshot series.
    type: str
    required: true
  self_address:
    description:
      - This node's C(host:port) as the primary lists its replicas (the announced address), to know whether this
        node is the source.
    type: str
    required: true
  env_file:
    description:
      - Root-only file with C(RESTIC_REPOSITORY), C(RESTIC_PASSWORD) and the backend's variables.
    type: path
    required: true
  keep:
    description:
      - Retention, C(restic forget --keep-<key> <n>) for each of C(last), C(hourly), C(daily), C(weekly),
        C(monthly), C(yearly); empty keeps everything.
    type: dict
    default: {}
  allow_primary:
    description:
      - Snapshot the primary when no replica is in sync (a group without replicas); otherwise the module fails.
    type: bool
    default: false
  max_lag_bytes:
    description:
      - Largest replication lag, in bytes behind the primary's offset, of a replica that counts as in sync.
    type: int
    default: 1048576
  max_lag_seconds:
    description:
      - Largest time since a replica's last acknowledgement for it to count as in sync.
    type: int
    default: 10
  init_repository:
    description:
      - Run C(restic init) first when the repository does not exist yet.
    type: bool
    default: false
  restic:
    description:
      - Path of the restic binary.
    type: path
    default: /usr/bin/restic
  timeout:
    description:
      - Seconds each of BGSAVE, the upload and the retention may take.
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
    description: Chooses the source and reports what it would run; no BGSAVE, nothing sent to restic.
  diff_mode:
    support: none
    description: Returns no diff.
seealso:
  - module: ha.redis.redis_restore
"""

EXAMPLES = r"""
- name: Take a snapshot of group main from a replica in sync (run on every data node of the group)
  ha.redis.redis_backup:
    login_password: "{{ redis_password }}"
    group: main
    self_address: "{{ redis_address }}:6379"
    env_file: /etc/ha-redis/backup/restic.env
    keep: {last: 24, daily: 14}
  no_log: true
"""

RETURN = r"""
group:
  description: The group.
  returned: success
  type: str
  sample: main
source:
  description: The node chosen as the source, C(host:port).
  returned: success
  type: str
  sample: 10.0.0.12:6379
source_role:
  description: V(replica), or V(primary) when O(allow_primary) let the primary be snapshotted.
  returned: success
  type: str
  sample: replica
reason:
  description: Why that node.
  returned: success
  type: str
  sample: replica in sync with the smallest lag (0 bytes)
is_source:
  description: Whether this node is the source (and took, or in check mode would take, the snapshot).
  returned: success
  type: bool
skipped_reason:
  description: Why this node took no snapshot.
  returned: when this node is not the source
  type: str
commands:
  description: What ran (or would run in check mode) on this node.
  returned: success
  type: list
  elements: str
  sample: ["BGSAVE SCHEDULE", "restic backup --stdin", "restic forget --prune"]
snapshot:
  description:
    - The snapshot taken - C(id), C(tags), C(rdb) (format), C(engine), C(version), C(offset) (replication offset
      of the data), C(primary_offset) (the primary's offset when the source was chosen), C(size_bytes),
      C(added_bytes) (new data in the repository). Null when none was taken.
  returned: success
  type: dict
  sample: {"id": "4f1c...", "rdb": 10, "engine": "redis", "version": "7.0.15", "offset": 123456,
           "primary_offset": 123456, "size_bytes": 1048576, "added_bytes": 2048,
           "tags": ["ha-redis", "group=main", "engine=redis", "version=7.0.15", "rdb=10", "offset=123456",
                    "replid=8e1c...", "source=10.0.0.12:6379"]}
forgotten:
  description: Snapshots removed by the retention.
  returned: when a snapshot was taken with O(keep)
  type: int
repository_created:
  description: Whether C(restic init) created the repository.
  returned: when a snapshot was taken with O(init_repository)
  type: bool
elapsed:
  description: Seconds the snapshot took.
  returned: when a snapshot was taken
  type: float
warnings_found:
  description: Warnings (the primary snapshotted).
  returned: success
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.ha.redis.plugins.module_utils._backup import restic_env, take_snapshot
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
        self_address=dict(type="str", required=True),
        env_file=dict(type="path", required=True),
        keep=dict(type="dict", default={}),
        allow_primary=dict(type="bool", default=False),
        max_lag_bytes=dict(type="int", default=1048576),
        max_lag_seconds=dict(type="int", default=10),
        init_repository=dict(type="bool", default=False),
        restic=dict(type="path", default="/usr/bin/restic"),
        timeout=dict(type="float", default=3600),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMP_ERR)
    params = module.params
    try:
        settings = ConnectionSettings.from_params(params)
        local = connect(parse_endpoint({"host": params["login_host"], "port": params["login_port"]},
                                       DEFAULT_REDIS_PORT), settings)
        result = take_snapshot(
            local, lambda host, port: connect(parse_endpoint({"host": host, "port": port}, DEFAULT_REDIS_PORT),
                                              settings),
            params["group"], params["self_address"], params["restic"], restic_env(params["env_file"]),
            keep=params["keep"], allow_primary=params["allow_primary"], max_lag_bytes=params["max_lag_bytes"],
            max_lag_seconds=params["max_lag_seconds"], timeout=params["timeout"], check_mode=module.check_mode,
            init_repository=params["init_repository"])
    except (BackupError, HaRedisError) as exc:
        module.fail_json(msg="Group %s: %s" % (params["group"], exc), **exc.details)
    except Exception as exc:  # noqa: BLE001 - redis-py and OS errors, one sentence
        module.fail_json(msg="Group %s: the backup failed: %s." % (params["group"], describe_error(exc)))
    result["warnings_found"] = result.pop("warnings")
    for warning in result["warnings_found"]:
        module.warn(warning)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
