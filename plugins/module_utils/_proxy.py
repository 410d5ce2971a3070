# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stable primary endpoint (ha.redis.proxy): HAProxy's listeners for the replication groups, its health check,
and the pure judge of what each proxy routes to. No I/O here.

Private to the collection: the interface may change between releases.

* :func:`proxy_listeners` -> one listener per replication group: the port clients use (the group's port + an
  offset), the group's data nodes as servers, and the health check as RESP commands (hex, for HAProxy's
  ``tcp-check send-binary``) with the answers it expects.
* :func:`parse_servers_state` reads HAProxy's ``show servers state``.
* :func:`judge_proxy` decides, for one proxy, whether every group's listener routes to exactly the primary the
  Sentinel majority names (:class:`Finding` per problem, naming the proxy, the backend and what was seen).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping

from ansible_collections.ha.redis.plugins.module_utils._common import HaRedisError
from ansible_collections.ha.redis.plugins.module_utils._sentinel_model import Finding

# The listener of a group takes the group's port + this offset (6379 -> 8379): clear of the data ports, of the
# cluster buses (+10000) and of the exporters (+3000).
DEFAULT_PORT_OFFSET = 2000
BACKEND_PREFIX = "redis_"

# ``show servers state``: srv_op_state (0 stopped, 1 starting, 2 running, 3 stopping); srv_admin_state is a bit
# field (maintenance, drain), 0 when the operator left the server alone.
OP_STATES = {0: "stopped", 1: "starting", 2: "running", 3: "stopping"}
ROUTING_OP_STATES = (1, 2)


class ProxyError(HaRedisError):
    """The proxy settings do not fit the deployment, or HAProxy's answer cannot be read."""


# --------------------------------------------------------------------------------------------------------------
# The listeners (what roles/proxy writes)
# --------------------------------------------------------------------------------------------------------------
def resp_hex(*args: Any) -> str:
    """A Redis command in RESP (an array of bulk strings), as hex: HAProxy's ``tcp-check send-binary`` sends it
    as is, so no character of a password needs escaping."""
    out = b"*%d\r\n" % len(args)
    for arg in args:
        data = str(arg).encode()
        out += b"$%d\r\n%s\r\n" % (len(data), data)
    return out.hex()


def replica_rule(replicas: int, min_replicas_to_write: int, require_replicas: bool) -> str:
    """What the check demands beyond ``role:master`` (a regular expression on ``INFO replication``), or ``""``.

    A primary that was restarted after a failover, or that is cut off from its replicas, still says
    ``role:master``; the primary the Sentinels name has its replicas. With ``min-replicas-to-write`` set, Redis
    reports the replicas that acknowledged within ``min-replicas-max-lag`` (``min_slaves_good_slaves``): the
    same bound under which it accepts writes. Without it, at least one connected replica."""
    if not require_replicas or replicas < 1:
        return ""
    if min_replicas_to_write >= 1:
        return "min_slaves_good_slaves:[1-9]"
    return "connected_slaves:[1-9]"


def _port(value: Any, label: str) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ProxyError("%s is %r, expected a whole number." % (label, value)) from None
    if isinstance(value, bool) or port < 0 or port > 65535:
        raise ProxyError("%s is %r, expected a whole number from 0 to 65535." % (label, value))
    return port


def proxy_listeners(model: Mapping, host: str, offset: Any = DEFAULT_PORT_OFFSET, listen_address: str = "",
                    check_user: str = "", check_password: str = "", require_replicas: bool = True,
                    host_ports: Any = ()) -> list[dict]:
    """One listener per replication group of ``model`` (ha.redis.topology's dict) for the proxy ``host``.

    Each: ``name`` (the HAProxy section, ``redis_<group>``), ``group``, ``bind`` (address:port), ``port``,
    ``servers`` (``name``: the data host, ``address``, ``port``), ``check``: the steps of the health check
    (``send`` hex, ``expect`` the string or ``rstring`` the regular expression of the answer). ``check_user`` empty
    and ``check_password`` set: ``AUTH <password>`` (requirepass); both empty: no AUTH.
    ``host_ports`` are ports already taken on the proxy host (its data and Sentinel ports)."""
    offset = _port(offset, "redis_proxy_port_offset")
    taken = {int(p): "a port of its data nodes or Sentinel" for p in host_ports}
    listeners = []
    for group in model.get("groups", []):
        port = int(group["port"]) + offset
        if port > 65535:
            raise ProxyError("The listener of group %s on %s would take port %d; expected at most 65535 (lower "
                             "redis_proxy_port_offset)." % (group["name"], host, port))
        if port in taken:
            raise ProxyError("The listener of group %s on %s would take port %d, already %s; choose another "
                             "redis_proxy_port_offset." % (group["name"], host, port, taken[port]))
        taken[port] = "the listener of group %s" % group["name"]
        check = []
        if check_password:
            auth = ("AUTH", check_user, check_password) if check_user else ("AUTH", check_password)
            check.append(dict(send=resp_hex(*auth), expect="+OK"))
        check.append(dict(send=resp_hex("INFO", "replication"), expect="role:master"))
        rule = replica_rule(int(group.get("replicas", 0)), int(group.get("min_replicas_to_write") or 0),
                            require_replicas)
        if rule:
            check.append(dict(rstring=rule))
        servers = []
        for data_host in group["hosts"]:
            address, _sep, data_port = group["endpoints"][data_host].rpartition(":")
            servers.append(dict(name=data_host, address=address.strip("[]"), port=int(data_port)))
        bind_host = listen_address or "*"
        listeners.append(dict(name=BACKEND_PREFIX + group["name"], group=group["name"], port=port,
                              bind="%s:%d" % ("[%s]" % bind_host if ":" in bind_host else bind_host, port),
                              servers=servers, check=check, replica_rule=rule))
    return listeners


# --------------------------------------------------------------------------------------------------------------
# HAProxy's runtime state
# --------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProxyServer:
    """One server of a backend as HAProxy sees it now."""

    backend: str
    name: str
    address: str
    port: int | None
    op_state: int
    admin_state: int

    @property
    def routing(self) -> bool:
        """HAProxy would send a new connection here: checks passing, not in maintenance or drain."""
        return self.op_state in ROUTING_OP_STATES and self.admin_state == 0

    @property
    def endpoint(self) -> str:
        return "%s:%s" % ("[%s]" % self.address if ":" in self.address else self.address, self.port)

    def describe(self) -> str:
        state = OP_STATES.get(self.op_state, str(self.op_state))
        if self.admin_state:
            state += ", admin state %d (maintenance or drain)" % self.admin_state
        return "%s (%s, %s)" % (self.name, self.endpoint, state)

    def as_dict(self) -> dict:
        return dict(asdict(self), routing=self.routing, state=OP_STATES.get(self.op_state, str(self.op_state)))


def parse_servers_state(text: str) -> dict[str, list[ProxyServer]]:
    """``show servers state`` -> ``{backend: [ProxyServer]}``. The header line names the columns."""
    columns, backends = None, {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            columns = line.lstrip("#").split()
            continue
        if columns is None:
            continue  # the format version ("1")
        row = dict(zip(columns, line.split()))
        try:
            server = ProxyServer(backend=row["be_name"], name=row["srv_name"], address=row["srv_addr"],
                                 port=int(row["srv_port"]) if row.get("srv_port", "-").isdigit() else None,
                                 op_state=int(row["srv_op_state"]), admin_state=int(row["srv_admin_state"]))
        except (KeyError, ValueError):
            raise ProxyError("HAProxy's 'show servers state' line %r does not have the expected columns (%s)."
                             % (line, " ".join(columns))) from None
        backends.setdefault(server.backend, []).append(server)
    if columns is None and not text.strip().isdigit():
        raise ProxyError("HAProxy's 'show servers state' answered %r, expected a header line and servers."
                         % text.strip()[:200])
    return backends


# --------------------------------------------------------------------------------------------------------------
# Judging (pure)
# --------------------------------------------------------------------------------------------------------------
def judge_proxy(proxy: str, groups: list[str], backends: Mapping[str, list[ProxyServer]] | None,
                agreements: Mapping[str, Mapping], prefix: str = BACKEND_PREFIX, error: str | None = None):
    """Problems of one proxy: for every group, its backend routes to exactly the primary a majority of the
    Sentinels names. ``backends`` None (with ``error``): HAProxy did not answer. ``agreements``: each group's
    :func:`agree_primary` result."""
    problems = []
    if backends is None:
        problems.append(Finding(None, proxy, "proxy_unreachable",
                                "Proxy %s: its runtime API did not answer (%s), expected the state of its servers."
                                % (proxy, error), expected="answer", seen=error))
        return problems
    for group in groups:
        backend = prefix + group
        where = "Proxy %s, backend %s" % (proxy, backend)
        agreement = agreements.get(group) or {}
        primary = agreement.get("primary")
        if agreement.get("status") != "agreed" or not primary:
            problems.append(Finding(group, proxy, "no_primary_majority",
                                    "%s: no majority of the Sentinels names a primary of group %s (votes: %s), "
                                    "expected one to compare the proxy with."
                                    % (where, group, agreement.get("votes") or {}),
                                    expected="agreed", seen=agreement.get("status")))
            continue
        servers = backends.get(backend)
        if servers is None:
            problems.append(Finding(group, proxy, "backend_missing",
                                    "%s: HAProxy has no such backend (it has %s), expected one for group %s."
                                    % (where, ", ".join(sorted(backends)) or "none", group),
                                    expected=backend, seen=sorted(backends)))
            continue
        routing = [s for s in servers if s.routing]
        matching = [s for s in servers if s.endpoint == primary]
        if not matching:
            problems.append(Finding(group, proxy, "primary_not_in_backend",
                                    "%s: no server is the primary %s (servers: %s), expected it among them."
                                    % (where, primary, ", ".join(s.endpoint for s in servers) or "none"),
                                    expected=primary, seen=[s.endpoint for s in servers]))
        for server in matching:
            if not server.routing:
                problems.append(Finding(group, proxy, "primary_not_routed",
                                        "%s: the primary %s is %s, expected it up and routed to."
                                        % (where, primary, server.describe()),
                                        expected="running", seen=server.as_dict()))
        for server in routing:
            if server.endpoint != primary:
                problems.append(Finding(group, proxy, "other_server_routed",
                                        "%s: routes to %s, which is not the primary %s the Sentinels name; "
                                        "expected no traffic to it." % (where, server.describe(), primary),
                                        expected=primary, seen=server.as_dict()))
    return problems


def proxy_report(proxy: str, groups: list[str], backends: Mapping[str, list[ProxyServer]] | None,
                 agreements: Mapping[str, Mapping], prefix: str = BACKEND_PREFIX) -> list[str]:
    """Compact lines: per backend, where it routes and where the Sentinels say the primary is."""
    lines = []
    for group in groups:
        backend = prefix + group
        servers = (backends or {}).get(backend, [])
        routed = [s.endpoint for s in servers if s.routing]
        lines.append("%s %s: routes to %s; Sentinels name %s (%s)"
                     % (proxy, backend, ", ".join(routed) or "nothing", (agreements.get(group) or {}).get("primary"),
                        (agreements.get(group) or {}).get("status")))
    return lines
