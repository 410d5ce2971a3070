#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: redis_acl
short_description: Load a node's ACL file at runtime (ACL LOAD) when the running users differ from it
version_added: 1.0.0
description:
  - Runs against one Redis or Valkey data node, or one Sentinel, started with C(aclfile) pointing at O(acl_file);
    or, with O(instances), against several instances of the host that share O(acl_file), in one module run,
    the instances in parallel, each reported under its name in RV(instances). One failed instance does not
    stop the others; the module then fails naming every instance that failed.
  - Reads O(acl_file) and the users the server runs (C(ACL LIST)), and compares, for every user, its name,
    whether it is on, and the SHA-256 of each password it accepts. When they differ, or with O(force=true),
    runs C(ACL LOAD). No restart; when the file has an error the server keeps its previous users and the
    module fails.
  - Rules alone are not compared (the server rewrites them in its own canonical form). Set O(force=true) when
    the file was just changed (for example C(force) set to the C(changed) of the task that wrote it).
  - With O(node_type=sentinel), O(peer_user) and O(peer_password) also set the credentials the Sentinel uses
    towards the other Sentinels (C(SENTINEL CONFIG SET sentinel-user / sentinel-pass)), compared first with
    C(SENTINEL CONFIG GET). These are written by the Sentinel into its own configuration file, so a file managed
    by Ansible cannot change them after the first start.
author:
  - ha.redis contributors (!UNKNOWN)
extends_documentation_fragment:
  - ha.redis.connection.transport
  - ha.redis.connection.data_credentials
  - ha.redis.connection.sentinel_credentials
options:
  login_host:
    description:
      - Address of the node.
    type: str
    default: 127.0.0.1
  login_port:
    description:
      - Port of the node. Default V(6379), or V(26379) with O(node_type=sentinel).
    type: int
  instances:
    description:
      - Several nodes of the host at once (the list form), all started with the same O(acl_file). Mutually
        exclusive with O(login_host) and O(login_port); every other option applies to each node.
    type: list
    elements: dict
    version_added: "1.1.0"
    suboptions:
      name:
        description:
          - Name of the node (for example its group), the key of its result in RV(instances). Unique.
        type: str
        required: true
      login_host:
        description:
          - Address of the node.
        type: str
        default: 127.0.0.1
      login_port:
        description:
          - Port of the node.
        type: int
        required: true
  node_type:
    description:
      - V(redis) for a data node (authenticates with O(login_user) and O(login_password)), V(sentinel) for a
        Sentinel (authenticates with O(sentinel_user) and O(sentinel_password)).
      - The credentials of the other kind of node are refused rather than ignored.
    type: str
    choices: [redis, sentinel]
    default: redis
  acl_file:
    description:
      - Path of the ACL file on the host the module runs on; the server must have been started with the same
        path as its C(aclfile).
    type: path
    required: true
  force:
    description:
      - Run C(ACL LOAD) even when the users' names, states and passwords already match.
    type: bool
    default: false
  peer_user:
    description:
      - Only with O(node_type=sentinel). ACL user the Sentinel authenticates as towards the other Sentinels.
      - Leave unset to leave C(sentinel-user) alone (the C(default) user).
    type: str
  peer_password:
    description:
      - Only with O(node_type=sentinel). Password the Sentinel uses towards the other Sentinels. Never logged.
    type: str
attributes:
  action_group:
    support: full
    membership: [ha.redis.redis]
    description:
      - Each action group this module is in sets some of its options once in C(module_defaults).
      - C(group/ha.redis.redis) sets the connection options (TLS, timeouts).
  check_mode:
    support: full
    description: Reports whether ACL LOAD and SENTINEL CONFIG SET would run; changes nothing.
  diff_mode:
    support: none
    description: Nothing to show; RV(users) and RV(differs) describe the users without secrets.
notes:
  - The report carries user names, states and password counts only; passwords and hashes are never returned.
seealso:
  - module: ha.redis.redis_config
"""

EXAMPLES = r"""
- name: Load the users of the data node on port 6379 when they changed
  ha.redis.redis_acl:
    login_user: admin
    login_password: "{{ redis_password }}"
    acl_file: /etc/redis/users.acl
    force: "{{ users_acl is changed }}"  # the registered result of the task that wrote the file
  no_log: true

- name: Same for a Sentinel, and set the password it uses towards the other Sentinels
  ha.redis.redis_acl:
    node_type: sentinel
    sentinel_user: sentinel-admin
    sentinel_password: "{{ redis_sentinel_password }}"
    acl_file: /etc/redis/sentinel-ha.acl
    peer_user: sentinel-admin
    peer_password: "{{ redis_sentinel_password }}"
  no_log: true

- name: Load the users into two instances of this host that share the file, in one run
  ha.redis.redis_acl:
    login_user: admin
    login_password: "{{ redis_password }}"
    acl_file: /etc/redis/users.acl
    instances:
      - {name: cache, login_port: 6379}
      - {name: queue, login_port: 6380}
  no_log: true
"""

RETURN = r"""
users:
  description: The users of O(acl_file) by name, with C(enabled), C(passwords) (count) and C(nopass).
  returned: always
  type: dict
  sample: {"admin": {"enabled": true, "passwords": 1, "nopass": false}, "default": {"enabled": false,
           "passwords": 0, "nopass": false}}
differs:
  description: Users whose name, state or passwords differed between O(acl_file) and the server before the run.
  returned: when O(instances) is not given
  type: list
  elements: str
  sample: ["replication"]
commands:
  description: The commands run, or that would run in check mode (values masked).
  returned: when O(instances) is not given
  type: list
  elements: str
  sample: ["ACL LOAD", "SENTINEL CONFIG SET sentinel-pass ********"]
instances:
  version_added: 1.1.0
  description:
    - With O(instances), the result of each node by name - RV(differs), RV(commands) and C(changed) as in the
      single form (what would run, in check mode), and C(failed) and C(msg) for a node that failed.
  returned: when O(instances) is given
  type: dict
  sample: {"cache": {"changed": true, "differs": ["replication"], "commands": ["ACL LOAD"]},
           "queue": {"changed": false, "differs": [], "commands": []}}
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.ha.redis.plugins.module_utils._acl import (
    MASK,
    acl_differences,
    acl_fingerprint,
    load_acl,
    parse_acl_lines,
    read_peer_auth,
    read_running_acl,
    set_peer_auth,
)
from ansible_collections.ha.redis.plugins.module_utils._connection import (
    CREDENTIAL_OPTIONS,
    DEFAULT_REDIS_PORT,
    DEFAULT_SENTINEL_PORT,
    HAS_REDIS,
    REDIS_IMP_ERR,
    ConnectionSettings,
    HaRedisError,
    connect,
    connection_argument_spec,
    parse_endpoint,
)
from ansible_collections.ha.redis.plugins.module_utils._instances import (
    check_unique,
    entry_options,
    guarded,
    run_entries,
    summarize,
)


def converge(endpoint, settings, wanted, params, check_mode, result):
    """Load the ACL file into one node when it differs (or with force), then the Sentinel's peer credentials."""
    client = connect(endpoint, settings)
    result["differs"] = acl_differences(wanted, read_running_acl(client))
    if result["differs"] or params["force"]:
        result["commands"].append("ACL LOAD")
        if not check_mode:
            load_acl(client)
            result["changed"] = True  # also when a later step fails: the users are loaded
    if settings.kind == "sentinel" and (params["peer_user"] or params["peer_password"]):
        current_user, current_pass = read_peer_auth(client)
        todo = []
        if params["peer_user"] and params["peer_user"] != current_user:
            todo.append(("sentinel-user", params["peer_user"], params["peer_user"]))
        if params["peer_password"] and params["peer_password"] != current_pass:
            todo.append(("sentinel-pass", params["peer_password"], MASK))
        for key, value, shown in todo:
            result["commands"].append("SENTINEL CONFIG SET %s %s" % (key, shown))
            if not check_mode:
                set_peer_auth(client, key, value)
                result["changed"] = True
    result["changed"] = bool(result["commands"])
    return result


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        login_host=dict(type="str", default="127.0.0.1"),
        login_port=dict(type="int"),
        instances=dict(type="list", elements="dict", options=entry_options()),
        node_type=dict(type="str", choices=["redis", "sentinel"], default="redis"),
        acl_file=dict(type="path", required=True),
        force=dict(type="bool", default=False),
        peer_user=dict(type="str"),
        peer_password=dict(type="str", no_log=True),
    )
    return spec


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True,
                           mutually_exclusive=[("instances", "login_host"), ("instances", "login_port")])
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMP_ERR)
    params = module.params
    sentinel = params["node_type"] == "sentinel"
    if not sentinel and (params["peer_user"] or params["peer_password"]):
        module.fail_json(msg="peer_user and peer_password apply to node_type=sentinel only.")
    used, unused = ("sentinel", "redis") if sentinel else ("redis", "sentinel")
    given = [option for option in CREDENTIAL_OPTIONS[unused][:2] if params[option]]
    if given:
        module.fail_json(msg="Option %s is not used with node_type=%s, which authenticates with %s and %s; leave "
                             "it out." % (" and ".join(given), params["node_type"], *CREDENTIAL_OPTIONS[used][:2]))
    default_port = DEFAULT_SENTINEL_PORT if sentinel else DEFAULT_REDIS_PORT
    single = params["instances"] is None
    entries = params["instances"]
    if single:
        entries = [dict(name=None, login_host=params["login_host"], login_port=params["login_port"] or default_port)]

    users = {}
    try:
        check_unique(entries)
        try:
            with open(params["acl_file"], encoding="utf-8") as handle:
                wanted = parse_acl_lines(handle.read().splitlines())
        except OSError as exc:
            raise HaRedisError("Cannot read the ACL file %s: %s." % (params["acl_file"], exc.strerror)) from None
        users = acl_fingerprint(wanted)
        settings = ConnectionSettings.from_params(params, kind="sentinel" if sentinel else "redis")
    except HaRedisError as exc:
        base = dict(changed=False, commands=[], users=users, differs=[]) if single else dict(changed=False)
        module.fail_json(msg=str(exc), **dict(base, **exc.details))

    def run(entry):
        def work(result):
            endpoint = parse_endpoint({"host": entry["login_host"], "port": entry["login_port"]}, default_port)
            converge(endpoint, settings, wanted, params, module.check_mode, result)
        return guarded(dict(changed=False, commands=[], differs=[]), work)

    if single:
        result = dict(run(entries[0]), users=users)
        if result.pop("failed", False):
            module.fail_json(**result)
        module.exit_json(**result)
    results = run_entries(run, entries)
    changed, failure = summarize(results)
    report = dict(changed=changed, users=users, instances=results)
    if failure:
        module.fail_json(msg=failure, **report)
    module.exit_json(**report)


if __name__ == "__main__":
    main()
