#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: proxy_check
short_description: Verify that an HAProxy routes each replication group to the primary the Sentinels name
version_added: "1.2.0"
description:
  - The gate of the stable primary endpoint (role C(ha.redis.proxy)). Runs on a proxy host, reads HAProxy's own
    runtime state from its stats socket (C(show servers state)), asks every Sentinel for the primary of each group,
    and checks that each group's backend routes to exactly that primary.
  - "A problem, naming the proxy, the backend and what was seen: the Sentinels have no majority for a primary; the
    backend is missing; no server of it is the primary; the primary's server is not up (failing checks, or in
    maintenance or drain); a server other than the primary is up."
  - Repeats the check every O(sleep) seconds until it passes or O(timeout) seconds have passed (HAProxy needs a
    few checks to follow a failover), then fails with one message that lists every problem of the last attempt.
  - Never reports a change.
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
    description: Only reads; runs in check mode as in a normal run.
  diff_mode:
    support: none
    description: Nothing changes, so there is no diff.
options:
  sentinels:
    description:
      - Every Sentinel of the deployment, each as V(host), V(host:port), V([ipv6]:port) or a dictionary with
        C(host) and C(port). The port defaults to 26379.
      - The majority is computed over this list, reachable or not.
    type: list
    elements: raw
    required: true
  primary_name:
    description:
      - The groups (Sentinel master names) the proxy serves; each has the backend O(backend_prefix)C(<group>).
    type: list
    elements: str
    required: true
    aliases: [master_name]
  stats_socket:
    description:
      - HAProxy's stats socket (C(stats socket) in C(haproxy.cfg)) on the host that runs the module.
    type: path
    default: /run/haproxy/admin.sock
  proxy:
    description:
      - The name of this proxy in messages (the inventory host name, for example).
      - Default is the host name of the machine that runs the module.
    type: str
  backend_prefix:
    description:
      - The backend of a group is named this prefix followed by the group's name.
    type: str
    default: redis_
  timeout:
    description:
      - Seconds to keep repeating the check until it passes. V(0) checks once.
    type: float
    default: 15
  sleep:
    description:
      - Seconds to wait between two attempts.
    type: float
    default: 0.5
notes:
  - Needs read access to the stats socket (the role makes it C(0600) root), so run it with C(become) as root.
  - Needs redis-py on the proxy host, to ask the Sentinels.
seealso:
  - module: ha.redis.sentinel_quorum
  - module: ha.redis.sentinel_info
"""

EXAMPLES = r"""
# On each proxy host, as root (the stats socket is root's): for example with become, proxy set to inventory_hostname.
- name: Check that this proxy routes every group to the primary the Sentinels name
  ha.redis.proxy_check:
    sentinels: [10.0.0.11:26379, 10.0.0.12:26379, 10.0.0.13:26379]
    primary_name: [main]
    stats_socket: /run/haproxy/admin.sock
    proxy: proxy-1
    sentinel_password: "{{ redis_sentinel_password }}"
  no_log: true
  register: routes

- name: Print what the proxy routes to
  ansible.builtin.debug:
    msg: "{{ routes.report }}"
"""

RETURN = r"""
elapsed:
  description: Seconds spent, all attempts included.
  returned: always
  type: float
  sample: 0.012
attempts:
  description: How many times the check ran.
  returned: always
  type: int
  sample: 1
proxy:
  description: The name of this proxy, as in the messages.
  returned: always
  type: str
  sample: proxy-1
problems:
  description:
    - What failed on the last attempt; empty when the check passed. The failure message lists the same problems.
  returned: always
  type: list
  elements: dict
  contains:
    group:
      description: The group concerned, or null when the proxy did not answer.
      type: str
      sample: main
    node:
      description: The proxy.
      type: str
      sample: proxy-1
    check:
      description:
        - Short name of the failed check - C(proxy_unreachable), C(no_primary_majority), C(backend_missing),
          C(primary_not_in_backend), C(primary_not_routed), C(other_server_routed).
      type: str
      sample: other_server_routed
    message:
      description: One sentence naming the proxy, the backend, what was expected and what was seen.
      type: str
      sample: >-
        Proxy proxy-1, backend redis_main: routes to redis-2 (10.0.0.12:6379, running), which is not the primary
        10.0.0.11:6379 the Sentinels name; expected no traffic to it.
    expected:
      description: The expected value.
      type: raw
    seen:
      description: The value seen.
      type: raw
primaries:
  description: The primary of each group as the Sentinels named it on the last attempt (null without a majority).
  returned: always
  type: dict
  sample: {"main": "10.0.0.11:6379"}
backends:
  description:
    - Each backend of the groups as HAProxy reported it on the last attempt, keyed by backend name - a list of
      servers with C(backend), C(name), C(address), C(port), C(op_state), C(admin_state), C(state) and C(routing).
  returned: always
  type: dict
report:
  description: One line per backend - where it routes and which primary the Sentinels name.
  returned: always
  type: list
  elements: str
  sample: ["proxy-1 redis_main: routes to 10.0.0.11:6379; Sentinels name 10.0.0.11:6379 (agreed)"]
"""

import socket
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
from ansible_collections.ha.redis.plugins.module_utils._proxy import (
    ProxyError,
    judge_proxy,
    parse_servers_state,
    proxy_report,
)
from ansible_collections.ha.redis.plugins.module_utils._sentinel import agree_primary, collect_sentinels


def argument_spec():
    spec = connection_argument_spec(data=False)
    spec.update(
        sentinels=dict(type="list", elements="raw", required=True),
        primary_name=dict(type="list", elements="str", required=True, aliases=["master_name"]),
        stats_socket=dict(type="path", default="/run/haproxy/admin.sock"),
        proxy=dict(type="str"),
        backend_prefix=dict(type="str", default="redis_"),
        timeout=dict(type="float", default=15),
        sleep=dict(type="float", default=0.5),
    )
    return spec


def ask_haproxy(path, command, timeout=2.0):
    """One command on HAProxy's stats socket; its whole answer (HAProxy closes the socket after it)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(command.encode() + b"\n")
        chunks = []
        while True:
            data = sock.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks).decode(errors="replace")


def check_once(p, addresses, names, settings, proxy):
    states = collect_sentinels(addresses, settings, names=names)
    agreements = {name: agree_primary(name, states, len(addresses)) for name in names}
    backends, error = None, None
    try:
        backends = parse_servers_state(ask_haproxy(p["stats_socket"], "show servers state"))
    except (OSError, ProxyError) as exc:
        error = "%s: %s" % (p["stats_socket"], exc)
    problems = judge_proxy(proxy, names, backends, agreements, p["backend_prefix"], error)
    return problems, agreements, backends


def main():
    module = AnsibleModule(argument_spec=argument_spec(), supports_check_mode=True)
    if not HAS_REDIS:
        module.fail_json(msg=missing_required_lib("redis"), exception=REDIS_IMP_ERR)
    p = module.params
    try:
        addresses = []
        for item in p["sentinels"]:
            addr = str(parse_endpoint(item, DEFAULT_SENTINEL_PORT))
            if addr not in addresses:
                addresses.append(addr)
        if not addresses:
            raise HaRedisError("Option sentinels is empty, expected at least one Sentinel address.")
        names = list(dict.fromkeys(n for n in p["primary_name"] if n))
        if not names:
            raise HaRedisError("Option primary_name is empty, expected at least one group name.")
        for label in ("timeout", "sleep"):
            if p[label] < 0:
                raise HaRedisError("Option %s is %s, expected 0 or more." % (label, p[label]))
        settings = ConnectionSettings.from_params(p, kind="sentinel")
    except HaRedisError as exc:
        module.fail_json(msg=str(exc), **exc.details)
    proxy = p["proxy"] or socket.gethostname()

    deadline = Deadline(p["timeout"])
    attempts = 0
    while True:
        attempts += 1
        problems, agreements, backends = check_once(p, addresses, names, settings, proxy)
        if not problems or deadline.expired():
            break
        time.sleep(min(p["sleep"], deadline.remaining()))

    wanted = {p["backend_prefix"] + name for name in names}
    result = dict(
        changed=False,
        elapsed=deadline.elapsed(),
        attempts=attempts,
        proxy=proxy,
        problems=[f.as_dict() for f in problems],
        primaries={name: agreements[name]["primary"] for name in names},
        backends={b: [s.as_dict() for s in servers] for b, servers in (backends or {}).items() if b in wanted},
        report=proxy_report(proxy, names, backends, agreements, p["backend_prefix"]),
    )
    if problems:
        items = "; ".join("(%d) %s" % (i + 1, f.message) for i, f in enumerate(problems))
        module.fail_json(msg="Proxy check of %s failed after %.1f s (%d attempt%s) with %d problem%s: %s"
                         % (proxy, deadline.elapsed(), attempts, "" if attempts == 1 else "s", len(problems),
                            "" if len(problems) == 1 else "s", items), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
