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
    type: dict
    required: true
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
    description: Before and after values of the settings in O(config), secrets masked.
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
"""

RETURN = r"""
changes:
  description: Settings changed (or that would change in check mode), with their values before and after.
  returned: always
  type: dict
  sample: {"maxmemory": {"before": "0", "after": "536870912"}}
commands:
  description: The commands run, or that would run in check mode; secret values are masked.
  returned: always
  type: list
  elements: str
  sample: ["CONFIG SET maxmemory 512mb", "CONFIG REWRITE"]
restart_required:
  description: Settings that differ but cannot change while the server runs; they were not changed.
  returned: always
  type: list
  elements: str
  sample: ["databases"]
diff:
  description: Before and after values of every setting in O(config) when run with C(--diff); secrets masked.
  returned: when diff mode is on
  type: dict
  sample: {"before": {"maxmemory": "0"}, "after": {"maxmemory": "536870912"}}
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
    SECRET_SETTINGS,
    apply_config,
    config_command,
    config_rewrite,
    display,
    normalize,
    plan_config,
    read_config,
)


def main():
    argument_spec = node_argument_spec("redis")
    argument_spec.update(
        config=dict(type="dict", required=True),
        rewrite=dict(type="bool", default=True),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMP_ERR)

    desired = module.params["config"]
    for name, value in desired.items():
        if name.lower() in SECRET_SETTINGS and value not in (None, ""):
            module.no_log_values.add(str(value))

    result = dict(changed=False, changes={}, commands=[], restart_required=[])
    try:
        endpoint = parse_endpoint({"host": module.params["login_host"], "port": module.params["login_port"]},
                                  DEFAULT_REDIS_PORT)
        client = connect(endpoint, ConnectionSettings.from_params(module.params))
        try:
            current = read_config(client, desired)
        except Exception as exc:
            raise HaRedisError("Cannot read the configuration of %s: %s." % (endpoint, describe_error(exc))) from exc
        to_set, restart_required = plan_config(desired, current)
        result["commands"] = [config_command(name, text) for name, text in to_set]
        if to_set and module.params["rewrite"]:
            result["commands"].append("CONFIG REWRITE")
        applied = [name for name, _text in to_set]
        if to_set and not module.check_mode:
            applied, refused = apply_config(client, to_set)
            restart_required = sorted(set(restart_required) | set(refused))
            result["commands"] = [config_command(name, text) for name, text in to_set if name in applied]
            result["changed"] = bool(applied)
            if applied and module.params["rewrite"]:
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
        if module._diff:
            keys = sorted(name.lower() for name in desired)
            result["diff"] = dict(
                before=dict((k, display(k, current[k])) for k in keys),
                after=dict((k, display(k, after[k])) for k in keys),
            )
    except HaRedisError as exc:
        details = dict(exc.details)
        if details.get("applied"):
            result["changed"] = True
        module.fail_json(msg=str(exc), **dict(result, **details))
    module.exit_json(**result)


if __name__ == "__main__":
    main()
