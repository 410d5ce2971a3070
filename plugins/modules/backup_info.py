#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: backup_info
short_description: Age of each replication group's last snapshot in a restic repository
version_added: 1.2.0
description:
  - Lists the snapshots of the repository in O(env_file) (C(restic snapshots --json)) and reports, for each group of
    O(groups), its newest snapshot taken by M(ha.redis.redis_backup) (restic host C(ha-redis-<group>)) and its age.
  - A group without a snapshot, or whose newest one is older than O(max_age) seconds, is a warning in
    RV(warnings_found); the module does not fail for it (C(playbooks/verify.yml) prints the warnings). It fails when
    the repository cannot be read.
  - Read-only; connects to no Redis node.
author:
  - ha.redis contributors (!UNKNOWN)
options:
  groups:
    description:
      - The groups to report.
    type: list
    elements: str
    required: true
  env_file:
    description:
      - Root-only file with C(RESTIC_REPOSITORY), C(RESTIC_PASSWORD) and the backend's variables.
    type: path
    required: true
  max_age:
    description:
      - Seconds past which a group's newest snapshot is a warning.
    type: int
    default: 7200
  restic:
    description:
      - Path of the restic binary.
    type: path
    default: /usr/bin/restic
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Returns no diff.
seealso:
  - module: ha.redis.redis_backup
"""

EXAMPLES = r"""
- name: Report the age of the last backup of group main
  ha.redis.backup_info:
    groups: [main]
    env_file: /etc/ha-redis/backup/restic.env
    max_age: 7200
"""

RETURN = r"""
groups:
  description: Each group's newest snapshot - C(snapshot) (short ID, null if none), C(time) (Unix time) and
    C(age_seconds) (null if none).
  returned: success
  type: dict
  sample: {"main": {"snapshot": "4f1c2a9b", "time": 1796701200.0, "age_seconds": 1200}}
report:
  description: One line per group.
  returned: success
  type: list
  elements: str
  sample: ["Group main: last backup 1200 s ago."]
warnings_found:
  description: The groups without a snapshot or with one older than O(max_age).
  returned: success
  type: list
  elements: str
"""

import json
import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.ha.redis.plugins.module_utils._backup import restic_env, run_restic
from ansible_collections.ha.redis.plugins.module_utils._backup_plan import (
    SNAPSHOT_TAG,
    BackupError,
    backup_age_findings,
    latest_per_group,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            groups=dict(type="list", elements="str", required=True),
            env_file=dict(type="path", required=True),
            max_age=dict(type="int", default=7200),
            restic=dict(type="path", default="/usr/bin/restic"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    try:
        done = run_restic([params["restic"], "snapshots", "--json", "--tag", SNAPSHOT_TAG],
                          restic_env(params["env_file"]), timeout=300)
        entries = json.loads(done.stdout.decode("utf-8", "replace") or "[]") or []
        latest = latest_per_group(entries, params["groups"])
    except (BackupError, OSError, ValueError) as exc:
        module.fail_json(msg="Cannot read the backup repository: %s" % exc)
    now = time.time()
    report, warnings = backup_age_findings({group: value and value[0] for group, value in latest.items()}, now,
                                           params["max_age"])
    groups = {group: dict(snapshot=value and value[1], time=value and value[0],
                          age_seconds=None if value is None else max(0, int(now - value[0])))
              for group, value in latest.items()}
    module.exit_json(changed=False, groups=groups, report=report, warnings_found=warnings)


if __name__ == "__main__":
    main()
