#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sentinel_info
short_description: Ask Redis or Valkey Sentinels what they know about their replication groups
version_added: "1.0.0"
description:
  - Queries every listed Sentinel at once (C(SENTINEL MASTERS), C(MASTER), C(REPLICAS), C(SENTINELS),
    C(CKQUORUM), C(MYID)) and returns what each one said.
  - For every group, works out who the primary is by majority vote of all listed Sentinels, so that a play can
    decide between an existing deployment (V(agreed)), a new one (V(unknown)) and a state it must not touch
    (V(split), V(no_majority)).
  - Unreachable Sentinels are reported, not fatal; the module fails only on invalid options.
  - Read-only; never reports a change. Use M(ha.redis.sentinel_quorum) to assert that a deployment is healthy.
author:
  - ha.redis contributors (!UNKNOWN)
extends_documentation_fragment:
  - ha.redis.connection.transport
  - ha.redis.connection.sentinel_credentials
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
    description: The module only reads; it behaves the same in check mode.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  sentinels:
    description:
      - The Sentinels to ask, each as V(host), V(host:port), V([ipv6]:port) or a dictionary with C(host) and
        C(port). The port defaults to 26379.
      - The majority used for O(primary_name) agreement is computed over this list, reachable or not.
    type: list
    elements: raw
    required: true
  primary_name:
    description:
      - Names of the groups (the Sentinel master names) to describe.
      - Default is every group that any reachable Sentinel monitors.
    type: list
    elements: str
    aliases: [master_name]
notes:
  - Sentinels are queried in parallel with the connection timeouts of the C(ha.redis.connection) options, so the
    run time does not grow with the number of Sentinels.
seealso:
  - module: ha.redis.sentinel_quorum
"""

EXAMPLES = r"""
- name: Ask every Sentinel who the primary of main is
  ha.redis.sentinel_info:
    sentinels: [10.0.0.11:26379, 10.0.0.12:26379, 10.0.0.13:26379]
    primary_name: [main]
    sentinel_password: "{{ redis_sentinel_password }}"
  register: sentinel_info
  run_once: true
  no_log: true

- name: Stop when the Sentinels disagree about main
  ansible.builtin.assert:
    that: sentinel_info.groups.main.status in ['agreed', 'unknown']
    fail_msg: "The Sentinels disagree about the primary of main: {{ sentinel_info.groups.main.views }}"

- name: Describe every group that the local Sentinel monitors
  ha.redis.sentinel_info:
    sentinels: [127.0.0.1:26379]
    sentinel_password: "{{ redis_sentinel_password }}"
  no_log: true
"""

RETURN = r"""
sentinels:
  description: What each Sentinel said, in the order of O(sentinels).
  returned: always
  type: list
  elements: dict
  contains:
    address:
      description: The Sentinel, as V(host:port).
      type: str
      sample: 10.0.0.1:26379
    reachable:
      description: Whether the Sentinel answered.
      type: bool
      sample: true
    error:
      description: Why it did not answer (connection refused, authentication failed, timeout), else null.
      type: str
      sample: null
    myid:
      description: The Sentinel's ID (C(SENTINEL MYID)); null when unreachable or not supported.
      type: str
      sample: 5f1c0b0e3b1e4b2a8c6d9e7f0a1b2c3d4e5f6a7b
    version:
      description: The server version the Sentinel reports.
      type: str
      sample: 7.0.15
    monitored:
      description: Every group name this Sentinel monitors.
      type: list
      elements: str
      sample: [main]
    groups:
      description:
        - This Sentinel's view of each requested group, keyed by name.
        - Each value has C(name), C(monitored), C(primary) (V(host:port)), C(flags), C(quorum), C(config_epoch),
          C(num_replicas), C(num_other_sentinels), C(failover_state), C(failover_in_progress), C(replicas) and
          C(sentinels) (lists of C(address), C(flags), C(runid), C(master_link_status), C(primary), C(offset),
          C(priority) and C(info_age_ms)), C(ckquorum_ok), C(ckquorum_message) and C(error).
      type: dict
groups:
  description: For each group, who the Sentinels say its primary is.
  returned: always
  type: dict
  contains:
    name:
      description: The group (Sentinel master name).
      type: str
      sample: main
    status:
      description:
        - V(agreed) when a majority of all listed Sentinels names the same primary.
        - V(unknown) when no reachable Sentinel monitors the group (a new deployment).
        - V(split) when the monitoring Sentinels name different primaries and none has a majority.
        - V(no_majority) when the monitoring Sentinels agree but are fewer than a majority.
      type: str
      sample: agreed
    primary:
      description: The agreed primary as V(host:port); null unless RV(groups.status=agreed).
      type: str
      sample: 10.0.0.1:6379
    primary_host:
      description: Host part of RV(groups.primary), or null.
      type: str
      sample: 10.0.0.1
    primary_port:
      description: Port part of RV(groups.primary), or null.
      type: int
      sample: 6379
    votes:
      description: How many Sentinels name each primary address.
      type: dict
      sample: {"10.0.0.1:6379": 3}
    views:
      description: Each Sentinel's primary for the group (null when unreachable or not monitoring).
      type: dict
      sample: {"10.0.0.1:26379": "10.0.0.1:6379", "10.0.0.2:26379": null}
    reachable:
      description: How many Sentinels answered.
      type: int
      sample: 3
    monitoring:
      description: How many answering Sentinels monitor the group.
      type: int
      sample: 3
    total:
      description: How many Sentinels were asked.
      type: int
      sample: 3
    majority:
      description: Votes needed for RV(groups.status=agreed).
      type: int
      sample: 2
    quorum:
      description: The quorum configured for the group on the first Sentinel that names the agreed primary.
      type: int
      sample: 2
    replicas:
      description: Replica addresses the agreeing Sentinels list for the group (including ones they see down).
      type: list
      elements: str
      sample: [10.0.0.2:6379, 10.0.0.3:6379]
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.ha.redis.plugins.module_utils._connection import (
    DEFAULT_SENTINEL_PORT,
    HAS_REDIS,
    REDIS_IMP_ERR,
    ConnectionSettings,
    HaRedisError,
    connection_argument_spec,
    parse_endpoint,
)
from ansible_collections.ha.redis.plugins.module_utils._sentinel import (
    agree_primary,
    collect_sentinels,
    group_replica_addresses,
)


def argument_spec():
    spec = connection_argument_spec(data=False)
    spec.update(
        sentinels=dict(type="list", elements="raw", required=True),
        primary_name=dict(type="list", elements="str", aliases=["master_name"]),
    )
    return spec


def describe_groups(names, states):
    groups = {}
    for name in names:
        agreement = agree_primary(name, states)
        primary = agreement["primary"]
        host = port = quorum = None
        if primary:
            endpoint = parse_endpoint(primary, 6379)
            host, port = endpoint.host, endpoint.port
            for state in states.values():
                view = state.groups.get(name) if state.reachable else None
                if view is not None and view.monitored and view.primary == primary:
                    quorum = view.quorum
                    break
        groups[name] = dict(
            agreement,
            primary_host=host,
            primary_port=port,
            quorum=quorum,
            replicas=group_replica_addresses(name, states, primary) if primary else [],
        )
    return groups


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMP_ERR)
    try:
        addresses = []
        for item in module.params["sentinels"]:
            addr = str(parse_endpoint(item, DEFAULT_SENTINEL_PORT))
            if addr not in addresses:
                addresses.append(addr)
        if not addresses:
            raise HaRedisError("Option sentinels is empty, expected at least one Sentinel address.")
        # Read before the first deploy too, when the TLS files may not be on this host yet: each Sentinel is then
        # reported unreachable, with the missing file as the reason.
        settings = ConnectionSettings.from_params(module.params, kind="sentinel", missing_tls_file="report")
    except HaRedisError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    names = module.params["primary_name"]
    states = collect_sentinels(addresses, settings, names=names)
    if names is None:
        names = sorted({n for s in states.values() if s.reachable for n in s.monitored})
    module.exit_json(
        changed=False,
        sentinels=[states[a].as_dict() for a in addresses],
        groups=describe_groups(names, states),
    )


if __name__ == "__main__":
    main()
