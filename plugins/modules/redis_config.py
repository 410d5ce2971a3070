#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_config
short_description: Apply runtime settings to a Redis or Valkey data node (CONFIG SET, CONFIG REWRITE)
version_added: 1.0.0
description:
  - Reads the settings named in O(config) with C(CONFIG GET), compares them with the wanted values the way the
    server reports them, and changes only those that differ with C(CONFIG SET), one at a time.
  - Memory sizes are compared in bytes with the server's units (V(100mb) is 104857600, V(1g) is 1000000000),
    booleans as C(yes)/C(no), lists (for example C(save)) as space-separated words, keyspace event flags as sets.
  - Settings that the server refuses to change at runtime (for example C(daemonize), C(databases), C(dir)) are
    not changed; they are returned in RV(restart_required).
  - After a change, C(CONFIG REWRITE) makes it persist in the server's configuration file (O(rewrite)).
  - Secret settings (C(requirepass), C(masterauth), TLS key passphrases) are compared but never returned;
    their values are masked in RV(changes), RV(commands) and the diff.
  - Replication (C(replicaof)) is not managed here; use M(ha.redis.redis_replication).
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
  config:
    description:
      - Settings to apply, name to value, with the names C(CONFIG GET) knows (lower case).
      - Values may be strings, numbers, booleans (sent as C(yes)/C(no)) or lists (joined with spaces).
      - Required unless O(instances) is given; mutually exclusive with it.
    type: dict
  instances:
    description:
      - Several instances of the host at once, each with its own settings (the list form). Mutually exclusive
        with O(config), O(login_host) and O(login_port); the credentials, TLS options and O(rewrite) apply to
        every instance.
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
      config:
        description:
          - Settings to apply to this instance, as O(config).
        type: dict
        required: true
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
    description: Before and after values of the settings in O(config), secrets masked; one diff per instance
      with O(instances).
notes:
  - In check mode, settings that cannot change at runtime are recognised from a table of the Redis 7 and
    Valkey 7/8 immutable settings; outside check mode the server's refusal is detected as well.
seealso:
  - module: ha.redis.redis_replication
"""

EXAMPLES = r"""
- name: Apply memory and persistence settings
  ha.redis.redis_config:
    login_password: "{{ redis_password }}"
    config:
      maxmemory: 512mb
      maxmemory-policy: allkeys-lru
      appendonly: true
      save: ["3600 1", "300 100"]
  no_log: true  # login_password

- name: Rotate the password (the value is never shown)
  ha.redis.redis_config:
    login_password: "{{ redis_old_password }}"
    config:
      requirepass: "{{ redis_password }}"
      masterauth: "{{ redis_password }}"
  no_log: true

- name: Apply the settings of two instances of this host in one run
  ha.redis.redis_config:
    login_password: "{{ redis_password }}"
    instances:
      - name: cache
        login_port: 6379
        config: {maxmemory: 512mb, maxmemory-policy: allkeys-lru}
      - name: queue
        login_port: 6380
        config: {maxmemory: 1gb, maxmemory-policy: noeviction}
  no_log: true  # login_password
"""

RETURN = r"""
changes:
  description: Settings changed (or that would change in check mode), with their values before and after.
  returned: when O(instances) is not given
  type: dict
  sample: {"maxmemory": {"before": "0", "after": "536870912"}}
commands:
  description: The commands run, or that would run in check mode; secret values are masked.
  returned: when O(instances) is not given
  type: list
  elements: str
  sample: ["CONFIG SET maxmemory 512mb", "CONFIG REWRITE"]
restart_required:
  description: Settings that differ but cannot change while the server runs; they were not changed.
  returned: when O(instances) is not given
  type: list
  elements: str
  sample: ["databases"]
diff:
  description:
    - Before and after values of every setting in O(config) when run with C(--diff); secrets masked.
    - With O(instances), a list of such diffs, one per instance, with C(before_header) and C(after_header) naming
      it.
  returned: when diff mode is on
  type: raw
  sample: {"before": {"maxmemory": "0"}, "after": {"maxmemory": "536870912"}}
instances:
  version_added: 1.1.0
  description:
    - With O(instances), the result of each instance by name - RV(changes), RV(commands), RV(restart_required)
      and C(changed) as in the single form (what would change, in check mode), and C(failed) and C(msg) for an
      instance that failed.
  returned: when O(instances) is given
  type: dict
  sample: {"cache": {"changed": true, "changes": {"maxmemory": {"before": "0", "after": "536870912"}},
           "commands": ["CONFIG SET maxmemory 512mb", "CONFIG REWRITE"], "restart_required": []},
           "queue": {"changed": false, "changes": {}, "commands": [], "restart_required": []}}
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
    SECRET_SETTINGS,
    apply_config,
    config_command,
    config_rewrite,
    display,
    normalize,
    plan_config,
    read_config,
)


def converge(endpoint, settings, desired, rewrite, check_mode, want_diff, result):
    """Compare and apply ``desired`` on one node; fills ``result`` as it goes (kept when a step fails)."""
    client = connect(endpoint, settings)
    try:
        current = read_config(client, desired)
    except Exception as exc:
        raise HaRedisError("Cannot read the configuration of %s: %s." % (endpoint, describe_error(exc))) from exc
    to_set, restart_required = plan_config(desired, current)
    result["commands"] = [config_command(name, text) for name, text in to_set]
    if to_set and rewrite:
        result["commands"].append("CONFIG REWRITE")
    applied = [name for name, _text in to_set]
    if to_set and not check_mode:
        try:
            applied, refused = apply_config(client, to_set)
        except HaRedisError as exc:
            result["changed"] = bool(exc.details.get("applied"))
            raise
        restart_required = sorted(set(restart_required) | set(refused))
        result["commands"] = [config_command(name, text) for name, text in to_set if name in applied]
        result["changed"] = bool(applied)
        if applied and rewrite:
            result["commands"].append("CONFIG REWRITE")
            config_rewrite(client)
    after = dict(current)
    for name, text in to_set:
        if name in applied:
            after[name] = normalize(name, text)
    result["changes"] = dict(
        (name, dict(before=display(name, current[name]), after=display(name, after[name])))
        for name in applied
    )
    result["restart_required"] = restart_required
    result["changed"] = bool(applied)
    if want_diff:
        keys = sorted(name.lower() for name in desired)
        result["diff"] = dict(
            before=dict((k, display(k, current[k])) for k in keys),
            after=dict((k, display(k, after[k])) for k in keys),
        )
    return result


def new_result():
    return dict(changed=False, changes={}, commands=[], restart_required=[])


def argument_spec():
    spec = node_argument_spec("redis")
    spec.update(
        config=dict(type="dict"),
        instances=dict(type="list", elements="dict", options=entry_options(config=dict(type="dict", required=True))),
        rewrite=dict(type="bool", default=True),
    )
    return spec


def main():
    module = AnsibleModule(
        argument_spec=argument_spec(),
        supports_check_mode=True,
        required_one_of=[("config", "instances")],
        mutually_exclusive=[("config", "instances"), ("login_port", "instances"), ("login_host", "instances")],
    )
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMP_ERR)
    params = module.params
    entries = params["instances"]
    if entries is None:
        entries = [dict(name=None, login_host=params["login_host"], login_port=params["login_port"],
                        config=params["config"])]
    for entry in entries:
        for name, value in entry["config"].items():
            if name.lower() in SECRET_SETTINGS and value not in (None, ""):
                module.no_log_values.add(str(value))
    try:
        check_unique(entries)
        settings = ConnectionSettings.from_params(params)
    except HaRedisError as exc:
        module.fail_json(msg=str(exc), **exc.details)

    def run(entry):
        def work(result):
            endpoint = parse_endpoint({"host": entry["login_host"], "port": entry["login_port"]}, DEFAULT_REDIS_PORT)
            converge(endpoint, settings, entry["config"], params["rewrite"], module.check_mode, module._diff, result)
        return guarded(new_result(), work)

    if params["instances"] is None:
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
