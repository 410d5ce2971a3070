#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: sentinel_quorum
short_description: Verify that Redis or Valkey Sentinels agree on a healthy replication group
version_added: "1.0.0"
description:
  - The verification gate of a Sentinel deployment. Asks every listed Sentinel, then every data node of each
    group, all nodes at once.
  - "Sentinels: every one answers, has a unique ID, monitors the group, names the same primary as the majority,
    sees it up (no C(s_down), C(o_down)) with no failover in progress, passes C(SENTINEL CKQUORUM), knows
    O(expected_sentinels) - 1 other Sentinels and O(expected_replicas) replicas and sees none of them down."
  - "Quorum: larger than the number of Sentinels is a problem (no failover could ever be authorised); below a
    majority is a warning (a minority partition could declare the primary down)."
  - "Data nodes: the primary reports role C(master); each replica replicates from it with its link up, is listed
    C(online) by the primary and is at most O(max_lag_bytes) bytes and O(max_lag_seconds) seconds behind."
  - Repeats the check every O(sleep) seconds until it passes or O(timeout) seconds have passed, then fails with one
    message that lists every problem of the last attempt; RV(problems) has the same list in structured form.
  - With O(write_probe=true), after the checks pass, a Sentinel-aware client writes a key to each group's primary,
    waits for the replicas and reads it back from a replica.
  - Never reports a change.
author:
  - ha.redis contributors (!UNKNOWN)
extends_documentation_fragment:
  - ha.redis.connection.transport
  - ha.redis.connection.data_credentials
  - ha.redis.connection.sentinel_credentials
attributes:
  action_group:
    support: full
    membership: [ha.redis.redis, ha.redis.data_nodes, ha.redis.sentinels]
    description:
      - Each action group this module is in sets some of its options once in C(module_defaults).
      - C(group/ha.redis.redis) sets the connection options (TLS, timeouts).
      - C(group/ha.redis.data_nodes) sets the data nodes' credentials (login_user, login_password).
      - C(group/ha.redis.sentinels) sets the Sentinels' credentials (sentinel_user, sentinel_password).
  check_mode:
    support: full
    description: The checks run in check mode too; only the write probe is skipped.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  sentinels:
    description:
      - Every Sentinel of the deployment, each as V(host), V(host:port), V([ipv6]:port) or a dictionary with
        C(host) and C(port). The port defaults to 26379.
      - Majorities are computed over this list, reachable or not.
    type: list
    elements: raw
    required: true
  primary_name:
    description:
      - The group or groups (Sentinel master names) to verify.
    type: list
    elements: str
    required: true
    aliases: [master_name]
  expected_sentinels:
    description:
      - How many Sentinels each Sentinel should know (itself included).
      - Default is the number of addresses in O(sentinels).
    type: int
  expected_replicas:
    description:
      - How many replicas each group should have.
      - An integer applies to every group; a dictionary maps group names to counts (groups missing from it are not
        counted).
      - Default is not to check the count (every replica the Sentinels list is still checked).
    type: raw
  min_replicas_to_write:
    description:
      - The C(min-replicas-to-write) each group's primary should have, as the inventory declares it.
      - An integer applies to every group; a dictionary maps group names to values (groups missing from it are
        treated as undeclared).
      - A primary whose C(min-replicas-to-write) or C(min-replicas-max-lag) is V(0) keeps acknowledging writes
        when it is cut off from its replicas, and a failover then discards them. That is a warning unless this
        option says V(0) for the group (the operator accepted it). A primary with another value than declared is
        a warning too.
      - Whatever this option says, a primary that refuses writes right now (fewer replicas acknowledged within
        C(min-replicas-max-lag) than C(min-replicas-to-write)) is a problem.
    type: raw
  max_lag_bytes:
    description:
      - Largest accepted difference between the primary's replication offset and the offset a replica last
        acknowledged (replicas acknowledge once a second).
      - The default, 1 MiB, tolerates normal write traffic and catches a replica that is falling behind.
    type: int
    default: 1048576
  max_lag_seconds:
    description:
      - Largest accepted time, in seconds, since a replica last acknowledged (the C(lag) field of C(INFO replication)).
    type: int
    default: 10
  timeout:
    description:
      - Seconds to keep repeating the check until it passes. V(0) checks once.
    type: float
    default: 30
  sleep:
    description:
      - Seconds to wait between two attempts.
    type: float
    default: 1
  write_probe:
    description:
      - After the checks pass, write a key with a 60 second TTL through C(redis.sentinel.Sentinel.master_for()),
        C(WAIT) for the expected replicas (or the replicas found) for up to O(probe_wait_ms), read it back through
        C(slave_for()), then delete it. A failed probe is a problem, and the check is repeated.
      - Skipped in check mode.
      - Needs write access to the data nodes with O(login_user) / O(login_password).
    type: bool
    default: false
  probe_wait_ms:
    description:
      - Milliseconds the write probe waits for the replicas to acknowledge its write.
    type: int
    default: 1000
notes:
  - Every node is queried in parallel with the C(ha.redis.connection) timeouts, so one attempt takes about one
    round trip whether there are 3 or 15 nodes, unless a node times out.
  - Sentinels announce the addresses they use; the data nodes are reached at those addresses, so the host that runs
    this module must reach every Sentinel and every data node.
seealso:
  - module: ha.redis.sentinel_info
"""

EXAMPLES = r"""
- name: Verify the Sentinel quorum of the group main
  ha.redis.sentinel_quorum:
    sentinels: [10.0.0.11:26379, 10.0.0.12:26379, 10.0.0.13:26379]
    primary_name: [main]
    expected_replicas: 2
    login_password: "{{ redis_password }}"
    sentinel_password: "{{ redis_sentinel_password }}"
    timeout: 60
  run_once: true
  register: quorum
  no_log: true

- name: Print the report
  ansible.builtin.debug:
    msg: "{{ quorum.report }}"
  run_once: true

- name: Prove what clients see after a change (writes one short-lived key)
  ha.redis.sentinel_quorum:
    sentinels: [10.0.0.11:26379, 10.0.0.12:26379, 10.0.0.13:26379]
    master_name: [main]
    expected_replicas: {main: 2}  # one count per group
    write_probe: true
    login_password: "{{ redis_password }}"
    sentinel_password: "{{ redis_sentinel_password }}"
  run_once: true
  no_log: true
"""

RETURN = r"""
elapsed:
  description: Seconds spent, all attempts included.
  returned: always
  type: float
  sample: 0.041
attempts:
  description: How many times the check ran.
  returned: always
  type: int
  sample: 1
problems:
  description:
    - What failed on the last attempt; empty when the check passed.
    - The failure message lists the same problems as text.
  returned: always
  type: list
  elements: dict
  contains:
    group:
      description: The group concerned, or null for a Sentinel-wide problem.
      type: str
      sample: main
    node:
      description: The node concerned (V(host:port)), or null for a group-wide problem.
      type: str
      sample: 10.0.0.2:26379
    check:
      description:
        - Short name of the failed check, for example C(sentinel_unreachable), C(not_monitored),
          C(group_unknown), C(primary_mismatch), C(no_primary_majority), C(primary_s_down), C(primary_o_down),
          C(failover_in_progress), C(sentinel_count), C(sentinel_down), C(replica_count), C(replica_down),
          C(quorum_too_high), C(ckquorum), C(primary_unreachable), C(primary_role), C(replica_unreachable),
          C(replica_primary), C(replica_link_down), C(replica_lag_bytes), C(write_probe).
      type: str
      sample: primary_mismatch
    message:
      description: One sentence naming the node, what was expected and what was seen.
      type: str
      sample: >-
        Group main, Sentinel 10.0.0.2:26379: sees primary 10.0.0.9:6379, expected 10.0.0.1:6379
        (named by 2 of 3 Sentinels).
    expected:
      description: The expected value.
      type: raw
      sample: 10.0.0.1:6379
    seen:
      description: The value seen.
      type: raw
      sample: 10.0.0.9:6379
warnings_found:
  description:
    - Findings that do not fail the check (for example a quorum below a majority), same form as RV(problems).
    - They are also emitted as Ansible warnings.
  returned: always
  type: list
  elements: dict
groups:
  description: Summary of each group on the last attempt, keyed by name.
  returned: always
  type: dict
  contains:
    name:
      description: The group.
      type: str
      sample: main
    primary:
      description: The primary named by most Sentinels (V(host:port)), or null.
      type: str
      sample: 10.0.0.1:6379
    status:
      description: V(agreed), V(split), V(no_majority) or V(unknown), as in M(ha.redis.sentinel_info).
      type: str
      sample: agreed
    ok:
      description: Whether the group had no problems.
      type: bool
      sample: true
    votes:
      description: How many Sentinels name each primary address.
      type: dict
      sample: {"10.0.0.1:6379": 3}
    views:
      description: Each Sentinel's primary (null when unreachable or not monitoring).
      type: dict
    quorum:
      description: The quorum configured on a Sentinel that names RV(groups.primary).
      type: int
      sample: 2
    min_replicas_to_write:
      description: The primary's C(min-replicas-to-write) (null when it could not be read).
      type: int
      sample: 1
    min_replicas_max_lag:
      description: The primary's C(min-replicas-max-lag) in seconds (null when it could not be read).
      type: int
      sample: 10
    healthy_replicas:
      description: Replicas that passed every check.
      type: int
      sample: 2
    replicas:
      description: Each replica with C(address), C(reachable), C(replicates_from), C(link), C(state) (as the
        primary lists it), C(lag_bytes) and C(lag_seconds).
      type: list
      elements: dict
sentinels:
  description: Each Sentinel with C(address), C(reachable), C(error), C(myid), C(version) and C(monitored).
  returned: always
  type: list
  elements: dict
report:
  description: Compact human-readable lines per group, the primary, the replicas with lag and each Sentinel's view.
  returned: always
  type: list
  elements: str
  sample:
    - "main: primary 10.0.0.1:6379 (agreed, named by 3/3 Sentinels)"
    - "  replica 10.0.0.2:6379: link up, online, lag 0 B / 0 s"
    - "  sentinel 10.0.0.1:26379: primary 10.0.0.1:6379 [master] quorum 2, 2 other sentinels, 2 replicas, epoch 0,
      ckquorum ok"
probe:
  description:
    - Result of the write probe per group (empty unless O(write_probe=true) and the checks passed).
    - Each value has C(group), C(ok), C(primary) (where the client wrote), C(replicas_acknowledged), C(read_back),
      C(key), C(error); in check mode only C(skipped) and C(reason).
  returned: always
  type: dict
  sample: {"main": {"group": "main", "ok": true, "primary": "10.0.0.1:6379", "replicas_acknowledged": 2,
           "read_back": true, "key": "ha-redis:probe:0f1e", "error": null}}
"""

import time

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.ha.redis.plugins.module_utils._connection import (
    DEFAULT_SENTINEL_PORT,
    HAS_REDIS,
    REDIS_IMP_ERR,
    ConnectionSettings,
    Deadline,
    HaRedisError,
    connection_argument_spec,
    parse_endpoint,
)
from ansible_collections.ha.redis.plugins.module_utils._sentinel import (
    DEFAULT_MAX_LAG_BYTES,
    DEFAULT_MAX_LAG_SECONDS,
    Expectations,
    Finding,
    collect_data_nodes,
    collect_sentinels,
    data_node_addresses,
    evaluate,
    failure_message,
    write_probe,
)


def argument_spec():
    spec = connection_argument_spec()
    spec.update(
        sentinels=dict(type="list", elements="raw", required=True),
        primary_name=dict(type="list", elements="str", required=True, aliases=["master_name"]),
        expected_sentinels=dict(type="int"),
        expected_replicas=dict(type="raw"),
        min_replicas_to_write=dict(type="raw"),
        max_lag_bytes=dict(type="int", default=DEFAULT_MAX_LAG_BYTES),
        max_lag_seconds=dict(type="int", default=DEFAULT_MAX_LAG_SECONDS),
        timeout=dict(type="float", default=30),
        sleep=dict(type="float", default=1),
        write_probe=dict(type="bool", default=False),
        probe_wait_ms=dict(type="int", default=1000),
    )
    return spec


def counts_by_group(option, value, names):
    """A per-group count option (None, int or {name: int}) -> ``{name: int or None}``."""
    if value is None or value == "":
        return dict.fromkeys(names)
    if isinstance(value, dict):
        unknown = sorted(set(value) - set(names))
        if unknown:
            raise HaRedisError("Option %s names %s, expected only groups of primary_name (%s)."
                               % (option, ", ".join(unknown), ", ".join(names)))
        result = {}
        for name in names:
            count = value.get(name)
            result[name] = None if count is None else _count("%s[%s]" % (option, name), count)
        return result
    count = _count(option, value)
    return dict.fromkeys(names, count)


def _count(label, value):
    try:
        count = int(value)
    except (TypeError, ValueError):
        raise HaRedisError("Option %s is %r, expected a whole number." % (label, value)) from None
    if count < 0 or str(count) != str(value).strip():
        raise HaRedisError("Option %s is %r, expected a whole number of at least 0." % (label, value))
    return count


def validate(params):
    addresses, endpoints = [], []
    for item in params["sentinels"]:
        endpoint = parse_endpoint(item, DEFAULT_SENTINEL_PORT)
        if str(endpoint) not in addresses:
            addresses.append(str(endpoint))
            endpoints.append(endpoint)
    if not addresses:
        raise HaRedisError("Option sentinels is empty, expected at least one Sentinel address.")
    names = []
    for name in params["primary_name"]:
        if name and name not in names:
            names.append(name)
    if not names:
        raise HaRedisError("Option primary_name is empty, expected at least one group name.")
    expected_sentinels = params["expected_sentinels"] or len(addresses)
    for label in ("timeout", "sleep", "max_lag_bytes", "max_lag_seconds", "probe_wait_ms"):
        if params[label] < 0:
            raise HaRedisError("Option %s is %s, expected 0 or more." % (label, params[label]))
    replicas = counts_by_group("expected_replicas", params["expected_replicas"], names)
    min_replicas = counts_by_group("min_replicas_to_write", params["min_replicas_to_write"], names)
    expectations = {
        name: Expectations(sentinels=expected_sentinels, replicas=replicas[name],
                           max_lag_bytes=params["max_lag_bytes"], max_lag_seconds=params["max_lag_seconds"],
                           min_replicas_to_write=min_replicas[name])
        for name in names
    }
    return addresses, endpoints, names, expectations


def check_once(addresses, names, expectations, sentinel_settings, data_settings):
    sentinels = collect_sentinels(addresses, sentinel_settings, names=names)
    nodes = collect_data_nodes(data_node_addresses(names, sentinels), data_settings)
    outcome = evaluate(names, sentinels, nodes, expectations)
    outcome["sentinels"] = [
        {k: v for k, v in sentinels[a].as_dict().items() if k != "groups"} for a in addresses
    ]
    return outcome


def run_probes(endpoints, names, outcome, expectations, sentinel_settings, data_settings, wait_ms):
    probes, problems = {}, []
    for name in names:
        replicas = expectations[name].replicas
        if replicas is None:
            replicas = outcome["groups"][name]["healthy_replicas"]
        result = write_probe(endpoints, name, data_settings, sentinel_settings, replicas, wait_ms=wait_ms)
        probes[name] = result
        if not result["ok"]:
            problems.append(Finding(name, result["primary"], "write_probe",
                                    "Group %s: the write probe through Sentinel failed: %s, expected the key written "
                                    "to the primary to be read back from a replica." % (name, result["error"]),
                                    expected="read back", seen=result["error"]))
    return probes, problems


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMP_ERR)
    p = module.params
    try:
        addresses, endpoints, names, expectations = validate(p)
        sentinel_settings = ConnectionSettings.from_params(p, kind="sentinel")
        data_settings = ConnectionSettings.from_params(p, kind="redis")
    except HaRedisError as exc:
        module.fail_json(msg=str(exc), **exc.details)

    deadline = Deadline(p["timeout"])
    attempts = 0
    while True:
        attempts += 1
        outcome = check_once(addresses, names, expectations, sentinel_settings, data_settings)
        problems = outcome["problems"]
        probes = {}
        if not problems and p["write_probe"]:
            if module.check_mode:
                probes = {name: dict(skipped=True, reason="check mode") for name in names}
            else:
                probes, problems = run_probes(endpoints, names, outcome, expectations, sentinel_settings,
                                              data_settings, p["probe_wait_ms"])
        if not problems or deadline.expired():
            break
        # Sleeping up to the deadline leaves one last attempt right at it.
        time.sleep(min(p["sleep"], deadline.remaining()))

    for warning in outcome["warnings"]:
        module.warn(warning.message)
    result = dict(
        changed=False,
        elapsed=deadline.elapsed(),
        attempts=attempts,
        problems=[f.as_dict() for f in problems],
        warnings_found=[f.as_dict() for f in outcome["warnings"]],
        groups=outcome["groups"],
        sentinels=outcome["sentinels"],
        report=outcome["report"],
        probe=probes,
    )
    if problems:
        module.fail_json(msg=failure_message(problems, deadline.elapsed(), attempts), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
