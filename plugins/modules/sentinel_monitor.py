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
  - With O(groups), does the same for every group of the list in one module run, the groups in parallel, and
    reports each under its name in RV(groups). One failed group does not stop the others; the module then fails
    naming every group that failed.
author:
  - ha.redis contributors (!UNKNOWN)
extends_documentation_fragment:
  - ha.redis.connection.transport
  - ha.redis.connection.sentinel_credentials
  - ha.redis.connection.sentinel_node
options:
  primary_name:
    description:
      - Name of the replication group (Sentinel's master name).
      - Required unless O(groups) is given; mutually exclusive with it.
    type: str
    aliases: [master_name]
  groups:
    description:
      - Several groups at once (the list form), each with its own primary. Mutually exclusive with
        O(primary_name), O(primary_host) and O(primary_port).
      - O(state), O(config_file), O(update_secrets), the credentials and the TLS options apply to every group;
        O(quorum) and O(settings) too, unless an entry gives its own.
    type: list
    elements: dict
    version_added: "1.1.0"
    suboptions:
      primary_name:
        description:
          - Name of the group, the key of its result in RV(groups). Unique.
        type: str
        required: true
        aliases: [master_name]
      primary_host:
        description:
          - As O(primary_host), for this group.
        type: str
        aliases: [master_host]
      primary_port:
        description:
          - As O(primary_port), for this group.
        type: int
        default: 6379
        aliases: [master_port]
      quorum:
        description:
          - As O(quorum), for this group; O(quorum) when not given.
        type: int
      settings:
        description:
          - As O(settings), for this group (replacing them, not merged); O(settings) when not given.
        type: dict
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
  action_group:
    support: full
    membership: [ha.redis.redis, ha.redis.sentinels]
    description:
      - Each action group this module is in sets some of its options once in C(module_defaults).
      - C(group/ha.redis.redis) sets the connection options (TLS, timeouts).
      - C(group/ha.redis.sentinels) sets the Sentinels' credentials (sentinel_user, sentinel_password).
  check_mode:
    support: full
    description: Reports what would change and the commands that would run; changes nothing.
  diff_mode:
    support: full
    description: Monitored primary, quorum and the asked-for settings before and after; secrets masked; one diff
      per group with O(groups).
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

- name: Monitor two groups in one run, with the same quorum and settings
  ha.redis.sentinel_monitor:
    sentinel_password: "{{ redis_sentinel_password }}"
    quorum: 2
    config_file: /etc/redis/sentinel-ha.conf
    settings:
      down-after-milliseconds: 5000
      auth-pass: "{{ redis_password }}"
    groups:
      - primary_name: cache
        primary_host: 10.0.0.12
        primary_port: 6379
      - primary_name: queue
        primary_host: 10.0.0.13
        primary_port: 6379
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
  returned: when O(groups) is not given
  type: dict
  sample: {"monitored": true, "primary": "10.0.0.11:6379", "quorum": 2,
           "settings": {"down-after-milliseconds": "30000"}}
after:
  description: The group after the run (what it would be, in check mode); C(auth-pass) masked.
  returned: when O(groups) is not given
  type: dict
  sample: {"monitored": true, "primary": "10.0.0.11:6379", "quorum": 2,
           "settings": {"down-after-milliseconds": "5000"}}
commands:
  description: The commands run, or that would run in check mode; secret values masked.
  returned: when O(groups) is not given
  type: list
  elements: str
  sample: ["SENTINEL SET main down-after-milliseconds 5000", "SENTINEL FLUSHCONFIG"]
address_differs:
  description:
    - True when the Sentinel monitors the group at an address other than O(primary_host):O(primary_port)
      (normally after a failover). Nothing is moved.
  returned: when O(groups) is not given
  type: bool
  sample: false
unverified:
  description: Settings from O(settings) that could not be compared and were not set (see O(update_secrets)).
  returned: when O(groups) is not given
  type: list
  elements: str
  sample: ["auth-pass"]
diff:
  description:
    - RV(before) and RV(after) when run with C(--diff).
    - With O(groups), a list of such diffs, one per group, with C(before_header) and C(after_header) naming it.
  returned: when diff mode is on
  type: raw
groups:
  version_added: 1.1.0
  description:
    - With O(groups), the result of each group by name - RV(before), RV(after), RV(commands),
      RV(address_differs), RV(unverified) and C(changed) as in the single form (what would change, in check
      mode), and C(failed) and C(msg) for a group that failed.
  returned: when O(groups) is given
  type: dict
  sample: {"cache": {"changed": false, "before": {"monitored": true, "primary": "10.0.0.11:6379", "quorum": 2,
           "settings": {}}, "after": {"monitored": true, "primary": "10.0.0.11:6379", "quorum": 2, "settings": {}},
           "commands": [], "address_differs": false, "unverified": []}}
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
from ansible_collections.ha.redis.plugins.module_utils._instances import (
    check_unique,
    diff_list,
    guarded,
    run_entries,
    summarize,
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


def converge(endpoint, settings_conn, group, params, config_text, check_mode, want_diff, result):
    """Bring one group on one Sentinel to ``group`` (primary_name, primary_host, primary_port, quorum, settings)."""
    name = group["primary_name"]
    settings = group["settings"]
    client = connect(endpoint, settings_conn)
    current = read_monitor(client, name, config_text)
    plan = plan_monitor(current, params["state"], name, group["primary_host"], group["primary_port"],
                        group["quorum"], settings, compare_unreported=config_text is not None,
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
    if plan["commands"] and not check_mode:
        try:
            apply_monitor(client, plan, name)
        except HaRedisError as exc:
            result["changed"] = bool(exc.details.get("commands_done"))
            raise
        observed = read_monitor(client, name, None)
        if observed is not None and after is not None:
            # keep the values the Sentinel does not report from the prediction
            observed["settings"] = dict(after["settings"], **observed["settings"])
        after = observed
    result["after"] = summary(after, name, keys)
    if want_diff:
        result["diff"] = dict(before=result["before"], after=result["after"])
    return result


def argument_spec():
    spec = node_argument_spec("sentinel")
    spec.update(
        **primary_name_option(),
        groups=dict(type="list", elements="dict", options=dict(
            primary_name=dict(type="str", required=True, aliases=["master_name"]),
            primary_host=dict(type="str", aliases=["master_host"]),
            primary_port=dict(type="int", default=6379, aliases=["master_port"]),
            quorum=dict(type="int"),
            settings=dict(type="dict"),
        )),
        state=dict(type="str", choices=["present", "absent"], default="present"),
        primary_host=dict(type="str", aliases=["master_host"]),
        primary_port=dict(type="int", default=6379, aliases=["master_port"]),
        quorum=dict(type="int"),
        settings=dict(type="dict", default={}),
        config_file=dict(type="path"),
        update_secrets=dict(type="str", choices=["on_create", "always"], default="on_create"),
    )
    # One group (primary_name) or several (groups).
    spec["primary_name"] = dict(spec["primary_name"], required=False)
    return spec


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        required_one_of=[("primary_name", "groups")],
        mutually_exclusive=[("groups", option) for option in ("primary_name", "primary_host", "primary_port")],
    )
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMP_ERR)
    params = module.params
    single = params["groups"] is None
    shared = dict(primary_host=params["primary_host"], primary_port=params["primary_port"], quorum=params["quorum"],
                  settings=params["settings"] or {})
    if single:
        groups = [dict(shared, primary_name=params["primary_name"])]
    else:
        # An entry's quorum and settings replace the shared ones (O(quorum), O(settings)) when it gives them.
        groups = [dict(primary_name=entry["primary_name"], primary_host=entry["primary_host"],
                       primary_port=entry["primary_port"],
                       quorum=entry["quorum"] if entry["quorum"] is not None else shared["quorum"],
                       settings=entry["settings"] if entry["settings"] is not None else shared["settings"])
                  for entry in params["groups"]]
    for group in groups:
        group["settings"] = dict((str(k).lower(), v) for k, v in group["settings"].items())
        for key, value in group["settings"].items():
            if key in SECRET_SETTINGS and value not in (None, ""):
                module.no_log_values.add(str(value))
        if group["quorum"] is not None and group["quorum"] < 1:
            module.fail_json(msg="quorum must be 1 or more, got %d%s." % (
                group["quorum"], "" if single else " for group %s" % group["primary_name"]))

    try:
        check_unique(groups, key="primary_name", option="groups")
        config_text = None
        if params["config_file"]:
            try:
                with open(params["config_file"]) as handle:
                    config_text = handle.read()
            except OSError as exc:
                raise HaRedisError("Cannot read the Sentinel configuration file %s: %s."
                                   % (params["config_file"], exc.strerror or exc)) from exc
        endpoint = parse_endpoint({"host": params["login_host"], "port": params["login_port"]}, DEFAULT_SENTINEL_PORT)
        conn = ConnectionSettings.from_params(params, kind="sentinel")
    except HaRedisError as exc:
        base = dict(changed=False, commands=[], before={}, after={}, address_differs=False, unverified=[])
        module.fail_json(msg=str(exc), **dict(base if single else dict(changed=False), **exc.details))

    def run(group):
        return guarded(dict(changed=False, commands=[], before={}, after={}, address_differs=False, unverified=[]),
                       lambda result: converge(endpoint, conn, group, params, config_text, module.check_mode,
                                               module._diff, result))

    if single:
        result = run(groups[0])
        if result.pop("failed", False):
            module.fail_json(**result)
        module.exit_json(**result)
    results = run_entries(run, groups, key="primary_name")
    changed, failure = summarize(results, noun="group")
    report = dict(changed=changed, groups=results)
    if module._diff:
        report["diff"] = diff_list(results, noun="group")
    if failure:
        module.fail_json(msg=failure, **report)
    module.exit_json(**report)


if __name__ == "__main__":
    main()
