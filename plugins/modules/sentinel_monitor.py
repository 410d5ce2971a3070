#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sentinel_monitor
short_description: Make one Redis Sentinel monitor a replication group, tune it, or forget it
version_added: 1.0.0
description:
  - Runs against one Sentinel. Reads C(SENTINEL MASTER) and changes only what differs.
  - O(state=present) and the group is not monitored yet - C(SENTINEL MONITOR) with O(primary_host),
    O(primary_port) and O(quorum), then C(SENTINEL SET) for each of O(settings).
  - O(state=present) and the group is monitored - the monitored primary is B(never moved). If the Sentinel's
    primary differs from O(primary_host):O(primary_port), that is the result of a past failover; it is left
    alone and reported with RV(address_differs=true). Only O(quorum) and O(settings) that differ are set.
  - O(state=absent) - C(SENTINEL REMOVE) when the group is monitored.
  - After any change, C(SENTINEL FLUSHCONFIG) makes sure C(sentinel.conf) is written.
  - C(SENTINEL MASTER) does not report C(auth-pass) and C(auth-user). They are compared with the Sentinel's
    configuration file when O(config_file) is readable; otherwise O(update_secrets) decides.
author:
  - ha.redis contributors (!UNKNOWN)
extends_documentation_fragment:
  - ha.redis.connection.transport
  - ha.redis.connection.sentinel_credentials
  - ha.redis.connection.sentinel_node
  - ha.redis.connection.primary_name
options:
  state:
    description:
      - Whether the Sentinel monitors the group.
    type: str
    choices: [present, absent]
    default: present
  primary_host:
    description:
      - Address of the primary, used only to start monitoring a group the Sentinel does not know yet.
      - Required with O(state=present) when the group is not monitored yet.
    type: str
    aliases: [master_host]
  primary_port:
    description:
      - Port of the primary, used only to start monitoring.
    type: int
    default: 6379
    aliases: [master_port]
  quorum:
    description:
      - Number of Sentinels that must agree that the primary is down before a failover starts.
      - Required with O(state=present) when the group is not monitored yet; changed with C(SENTINEL SET) otherwise.
    type: int
  settings:
    description:
      - Per-group settings for C(SENTINEL SET), name to value, for example C(down-after-milliseconds),
        C(failover-timeout), C(parallel-syncs), C(auth-user), C(auth-pass), C(notification-script).
      - The value of C(auth-pass) is never returned or logged.
    type: dict
    default: {}
  config_file:
    description:
      - Path to the Sentinel's configuration file on the host the module runs on, read (never written) to
        compare C(auth-pass) and C(auth-user), which C(SENTINEL MASTER) does not report.
    type: path
  update_secrets:
    description:
      - What to do with C(auth-pass) and C(auth-user) from O(settings) when O(config_file) is not given.
      - V(on_create) sets them only when the group starts being monitored (they cannot be compared).
      - V(always) sets them on every run, which then always reports a change.
    type: str
    choices: [on_create, always]
    default: on_create
attributes:
  check_mode:
    support: full
    description: Reports what would change and the commands that would run; changes nothing.
  diff_mode:
    support: full
    description: Monitored primary, quorum and the asked-for settings before and after; secrets masked.
notes:
  - Sentinel refuses to change C(notification-script) and C(client-reconfig-script) at runtime unless
    C(sentinel deny-scripts-reconfig no) is set in its configuration file.
seealso:
  - module: ha.redis.sentinel_failover
"""

EXAMPLES = r"""
- name: Monitor the group main (only the first time; never moves it afterwards)
  ha.redis.sentinel_monitor:
    sentinel_password: "{{ redis_sentinel_password }}"
    primary_name: main
    primary_host: 10.0.0.11
    primary_port: 6379
    quorum: 2
    config_file: /etc/redis/sentinel-ha.conf
    settings:
      down-after-milliseconds: 5000
      failover-timeout: 60000
      parallel-syncs: 1
      auth-pass: "{{ redis_password }}"
  no_log: true

- name: Forget a retired group
  ha.redis.sentinel_monitor:
    sentinel_password: "{{ redis_sentinel_password }}"
    primary_name: old
    state: absent
"""

RETURN = r"""
before:
  description: The group as the Sentinel saw it before the run; C(auth-pass) masked.
  returned: always
  type: dict
  sample: {"monitored": true, "primary": "10.0.0.11:6379", "quorum": 2,
           "settings": {"down-after-milliseconds": "30000"}}
after:
  description: The group after the run (what it would be, in check mode); C(auth-pass) masked.
  returned: always
  type: dict
  sample: {"monitored": true, "primary": "10.0.0.11:6379", "quorum": 2,
           "settings": {"down-after-milliseconds": "5000"}}
commands:
  description: The commands run, or that would run in check mode; secret values masked.
  returned: always
  type: list
  elements: str
  sample: ["SENTINEL SET main down-after-milliseconds 5000", "SENTINEL FLUSHCONFIG"]
address_differs:
  description:
    - True when the Sentinel monitors the group at an address other than O(primary_host):O(primary_port)
      (normally after a failover). Nothing is moved.
  returned: always
  type: bool
  sample: false
unverified:
  description: Settings from O(settings) that could not be compared and were not set (see O(update_secrets)).
  returned: always
  type: list
  elements: str
  sample: ["auth-pass"]
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
    HaRedisError,
    connect,
    node_argument_spec,
    parse_endpoint,
    primary_name_option,
)
from ansible_collections.ha.redis.plugins.module_utils._sentinel_monitor import (
    SECRET_SETTINGS,
    apply_monitor,
    command_text,
    plan_monitor,
    predict,
    read_monitor,
    summary,
)


def main():
    argument_spec = node_argument_spec("sentinel")
    argument_spec.update(
        **primary_name_option(),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        primary_host=dict(type="str", aliases=["master_host"]),
        primary_port=dict(type="int", default=6379, aliases=["master_port"]),
        quorum=dict(type="int"),
        settings=dict(type="dict", default={}),
        config_file=dict(type="path"),
        update_secrets=dict(type="str", choices=["on_create", "always"], default="on_create"),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMP_ERR)
    params = module.params
    name = params["primary_name"]
    settings = dict((str(k).lower(), v) for k, v in (params["settings"] or {}).items())
    for key, value in settings.items():
        if key in SECRET_SETTINGS and value not in (None, ""):
            module.no_log_values.add(str(value))
    if params["quorum"] is not None and params["quorum"] < 1:
        module.fail_json(msg="quorum must be 1 or more, got %d." % params["quorum"])

    result = dict(changed=False, commands=[], before={}, after={}, address_differs=False, unverified=[])
    try:
        config_text = None
        if params["config_file"]:
            try:
                with open(params["config_file"]) as handle:
                    config_text = handle.read()
            except OSError as exc:
                raise HaRedisError("Cannot read the Sentinel configuration file %s: %s."
                                   % (params["config_file"], exc.strerror or exc)) from exc
        endpoint = parse_endpoint({"host": params["login_host"], "port": params["login_port"]}, DEFAULT_SENTINEL_PORT)
        client = connect(endpoint, ConnectionSettings.from_params(params, kind="sentinel"))
        current = read_monitor(client, name, config_text)
        plan = plan_monitor(current, params["state"], name, params["primary_host"], params["primary_port"],
                            params["quorum"], settings, compare_unreported=config_text is not None,
                            update_secrets=params["update_secrets"])
        keys = sorted(settings)
        result["before"] = summary(current, name, keys)
        result["address_differs"] = plan["address_differs"]
        result["unverified"] = plan["unverified"]
        result["commands"] = [command_text(args) for args in plan["commands"]]
        if plan["commands"]:
            result["changed"] = True
            result["commands"].append("SENTINEL FLUSHCONFIG")
        after = predict(current, plan, settings)
        if plan["commands"] and not module.check_mode:
            apply_monitor(client, plan, name)
            observed = read_monitor(client, name, None)
            if observed is not None and after is not None:
                # keep the values the Sentinel does not report from the prediction
                observed["settings"] = dict(after["settings"], **observed["settings"])
            after = observed
        result["after"] = summary(after, name, keys)
        if module._diff:
            result["diff"] = dict(before=result["before"], after=result["after"])
    except HaRedisError as exc:
        if exc.details.get("commands_done"):
            result["changed"] = True
        module.fail_json(msg=str(exc), **dict(result, **exc.details))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
