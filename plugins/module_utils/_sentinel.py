# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Sentinels and data nodes say about a replication group, and the rules that judge it.

Private to the collection: the interface may change between releases.

Three layers, each usable on its own:

* collection (``collect_sentinel``, ``collect_data_node``): one round trip per node, raw replies turned into
  plain dataclasses. Commands are sent as ``SENTINEL <sub>`` / ``INFO`` and parsed here, so the result does not
  depend on the redis-py version's reply callbacks (4.3 to 6.x).
* agreement (``agree_primary``, ``summarize_group``): who the Sentinels say the primary is.
* judging (``judge_group``): pure functions from the collected state and the expectations to a list of
  :class:`Finding` (problems and warnings), each naming the node, the expected and the seen value.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field

from ansible_collections.ha.redis.plugins.module_utils._connection import (
    client_kwargs,
    connect,
    describe_error,
    pairs_to_dict,
    parse_endpoint,
    reply_text,
    run_parallel,
)

try:
    from redis import sentinel as redis_sentinel
except ImportError:  # pragma: no cover - the modules report the missing library through _connection.HAS_REDIS
    redis_sentinel = None

SENTINEL_ERROR_NO_SUCH_MASTER = "No such master with that name"
# Sentinel flags that mean "this instance is not usable right now".
BAD_INSTANCE_FLAGS = ("s_down", "o_down", "disconnected")
FAILOVER_FLAGS = ("failover_in_progress", "promoted", "reconf_sent", "reconf_inprog", "reconf_done")
DEFAULT_MAX_LAG_BYTES = 1048576
DEFAULT_MAX_LAG_SECONDS = 10


# --------------------------------------------------------------------------------------------------------------
# Parsing (pure)
# --------------------------------------------------------------------------------------------------------------
def split_flags(value):
    """Sentinel ``flags`` field (``"master,s_down"``) -> list of flag names."""
    if value is None:
        return []
    if isinstance(value, (list, tuple, set)):
        return sorted(str(f) for f in value)
    return [f for f in str(value).split(",") if f]


def to_int(value, default=None):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def address(host, port):
    """``host:port`` (``[v6]:port`` for IPv6), the form every finding and report uses."""
    host = str(host)
    if ":" in host:
        return "[%s]:%s" % (host, port)
    return "%s:%s" % (host, port)


def parse_kv_line(value):
    """``ip=10.0.0.2,port=6379,state=online`` -> dict (INFO ``slaveN`` lines); dicts pass through."""
    if isinstance(value, dict):
        return {str(k): reply_text(v) for k, v in value.items()}
    result = {}
    for part in str(value).split(","):
        if "=" in part:
            key, _sep, val = part.partition("=")
            result[key] = val
    return result


def parse_info(value):
    """INFO output (raw text or redis-py's parsed dict) -> ``{field: str | dict}``."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    result = {}
    for raw_line in str(reply_text(value) or "").splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        key, _sep, val = line.partition(":")
        result[key] = val
    return result


# --------------------------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------------------------
@dataclass
class InstanceView:
    """A replica or another Sentinel, as one Sentinel lists it."""

    address: str
    flags: list = field(default_factory=list)
    runid: str | None = None
    master_link_status: str | None = None
    primary: str | None = None
    offset: int | None = None

    @property
    def healthy(self):
        return not any(f in self.flags for f in BAD_INSTANCE_FLAGS) and self.master_link_status in (None, "ok")

    @classmethod
    def from_reply(cls, entry):
        d = pairs_to_dict(entry)
        primary = None
        if d.get("master-host") and d.get("master-port"):
            primary = address(d["master-host"], d["master-port"])
        return cls(
            address=address(d.get("ip"), d.get("port")),
            flags=split_flags(d.get("flags")),
            runid=d.get("runid") or None,
            master_link_status=d.get("master-link-status"),
            primary=primary,
            offset=to_int(d.get("slave-repl-offset")),
        )


@dataclass
class GroupView:
    """One Sentinel's view of one monitored group (SENTINEL MASTER / REPLICAS / SENTINELS / CKQUORUM)."""

    name: str
    monitored: bool = False
    primary: str | None = None
    flags: list = field(default_factory=list)
    quorum: int | None = None
    config_epoch: int | None = None
    num_replicas: int | None = None
    num_other_sentinels: int | None = None
    failover_state: str | None = None
    replicas: list = field(default_factory=list)
    sentinels: list = field(default_factory=list)
    ckquorum_ok: bool | None = None
    ckquorum_message: str | None = None
    error: str | None = None

    @property
    def failover_in_progress(self):
        return any(f in self.flags for f in FAILOVER_FLAGS) or (
            self.failover_state not in (None, "", "none", "?"))

    def as_dict(self):
        d = asdict(self)
        d["failover_in_progress"] = self.failover_in_progress
        return d


@dataclass
class SentinelState:
    """Everything one Sentinel said (or the error that kept it from saying anything)."""

    address: str
    reachable: bool = False
    error: str | None = None
    myid: str | None = None
    version: str | None = None
    monitored: list = field(default_factory=list)
    groups: dict = field(default_factory=dict)

    def as_dict(self):
        return dict(
            address=self.address,
            reachable=self.reachable,
            error=self.error,
            myid=self.myid,
            version=self.version,
            monitored=list(self.monitored),
            groups={name: view.as_dict() for name, view in self.groups.items()},
        )


@dataclass
class DataNodeState:
    """INFO replication of one data node."""

    address: str
    reachable: bool = False
    error: str | None = None
    role: str | None = None
    primary: str | None = None
    master_link_status: str | None = None
    sync_in_progress: bool = False
    repl_offset: int | None = None
    replicas: list = field(default_factory=list)  # from a primary: dicts address/state/offset/lag
    # Write safety (CONFIG GET min-replicas-*; None where the node did not say): a primary with
    # min_replicas_to_write > 0 refuses writes unless that many replicas acknowledged within max_lag seconds.
    min_replicas_to_write: int | None = None
    min_replicas_max_lag: int | None = None
    good_replicas: int | None = None  # INFO min_slaves_good_slaves: replicas that count for that rule now

    def as_dict(self):
        return asdict(self)

    @property
    def writes_bounded(self):
        """True when a partitioned primary stops acknowledging writes (both settings above 0)."""
        return bool(self.min_replicas_to_write and self.min_replicas_max_lag)


@dataclass
class Finding:
    """A problem or a warning: which check, on which node of which group, expected vs seen."""

    group: str | None
    node: str | None
    check: str
    message: str
    expected: object = None
    seen: object = None

    def as_dict(self):
        return asdict(self)


# --------------------------------------------------------------------------------------------------------------
# Collection (one round trip per node)
# --------------------------------------------------------------------------------------------------------------
def group_view_from_replies(name, master, replicas, sentinels, ckquorum):
    """Build a :class:`GroupView` from the four raw replies (or exceptions) of one Sentinel. Pure."""
    if isinstance(master, Exception):
        text = str(master)
        if SENTINEL_ERROR_NO_SUCH_MASTER.lower() in text.lower():
            return GroupView(name=name, monitored=False)
        return GroupView(name=name, monitored=False, error=describe_error(master))
    m = pairs_to_dict(master)
    view = GroupView(
        name=name,
        monitored=True,
        primary=address(m.get("ip"), m.get("port")),
        flags=split_flags(m.get("flags")),
        quorum=to_int(m.get("quorum")),
        config_epoch=to_int(m.get("config-epoch")),
        num_replicas=to_int(m.get("num-slaves")),
        num_other_sentinels=to_int(m.get("num-other-sentinels")),
        failover_state=m.get("failover-state"),
    )
    if not isinstance(replicas, Exception):
        view.replicas = [InstanceView.from_reply(e) for e in replicas or []]
    if not isinstance(sentinels, Exception):
        view.sentinels = [InstanceView.from_reply(e) for e in sentinels or []]
    if isinstance(ckquorum, Exception):
        view.ckquorum_ok = False
        view.ckquorum_message = str(ckquorum).strip()
    else:
        view.ckquorum_ok = True
        view.ckquorum_message = str(reply_text(ckquorum)).strip()
    return view


def collect_sentinel(client, sentinel_address, names=None):
    """Ask one Sentinel about ``names`` (all monitored groups when ``None``). Raises on connection errors."""
    state = SentinelState(address=sentinel_address)
    pipe = client.pipeline(transaction=False)
    pipe.execute_command("SENTINEL", "MASTERS")
    pipe.execute_command("SENTINEL", "MYID")
    pipe.execute_command("INFO", "server")
    masters, myid, server = pipe.execute(raise_on_error=False)
    if isinstance(masters, Exception):
        raise masters
    state.reachable = True
    state.monitored = sorted(pairs_to_dict(e).get("name") for e in masters or [])
    state.myid = None if isinstance(myid, Exception) else reply_text(myid)
    if not isinstance(server, Exception):
        state.version = parse_info(server).get("redis_version")
        if state.version is not None:
            state.version = str(state.version)
    wanted = list(state.monitored if names is None else names)
    if wanted:
        pipe = client.pipeline(transaction=False)
        for name in wanted:
            pipe.execute_command("SENTINEL", "MASTER", name)
            pipe.execute_command("SENTINEL", "REPLICAS", name)
            pipe.execute_command("SENTINEL", "SENTINELS", name)
            pipe.execute_command("SENTINEL", "CKQUORUM", name)
        replies = pipe.execute(raise_on_error=False)
        for i, name in enumerate(wanted):
            state.groups[name] = group_view_from_replies(name, *replies[i * 4:i * 4 + 4])
    return state


def data_node_from_info(node_address, info):
    """Build a :class:`DataNodeState` from INFO replication (raw text or parsed dict). Pure."""
    info = parse_info(info)
    node = DataNodeState(address=node_address, reachable=True, role=str(info.get("role") or "") or None)
    if node.role == "slave":
        if info.get("master_host"):
            node.primary = address(info.get("master_host"), info.get("master_port"))
        node.master_link_status = info.get("master_link_status")
        node.sync_in_progress = bool(to_int(info.get("master_sync_in_progress"), 0))
        node.repl_offset = to_int(info.get("slave_repl_offset"))
    else:
        node.repl_offset = to_int(info.get("master_repl_offset"))
        good = info.get("min_slaves_good_slaves", info.get("min_replicas_good_replicas"))
        node.good_replicas = to_int(good)
        for key in sorted(info):
            if key.startswith("slave") and key[5:].isdigit():
                r = parse_kv_line(info[key])
                node.replicas.append(dict(
                    address=address(r.get("ip"), r.get("port")),
                    state=r.get("state"),
                    offset=to_int(r.get("offset")),
                    lag=to_int(r.get("lag")),
                ))
    return node


def apply_write_safety(node, config):
    """Add ``CONFIG GET min-replicas-*`` (raw reply, dict, or an exception: left unknown) to ``node``. Pure."""
    if isinstance(config, Exception):
        return node
    values = pairs_to_dict(config)
    node.min_replicas_to_write = to_int(values.get("min-replicas-to-write"))
    node.min_replicas_max_lag = to_int(values.get("min-replicas-max-lag"))
    return node


def collect_data_node(client, node_address):
    pipe = client.pipeline(transaction=False)
    pipe.execute_command("INFO", "replication")
    pipe.execute_command("CONFIG", "GET", "min-replicas-*")
    info, config = pipe.execute(raise_on_error=False)
    if isinstance(info, Exception):
        raise info
    return apply_write_safety(data_node_from_info(node_address, info), config)


def _query_all(func, addresses, default_port, settings, state_cls):
    """Run ``func(client, address)`` on every address at once; failures become unreachable states."""

    def one(addr):
        client = connect(parse_endpoint(addr, default_port), settings)
        try:
            return func(client, addr)
        finally:
            client.close()

    results = {}
    for addr, (result, error) in zip(addresses, run_parallel(one, addresses)):
        if error is None:
            results[addr] = result
        else:
            results[addr] = state_cls(address=addr, reachable=False, error=describe_error(error))
    return results


def collect_sentinels(addresses, settings, names=None, default_port=26379):
    """``{address: SentinelState}`` for every Sentinel address, queried in parallel."""
    return _query_all(lambda c, a: collect_sentinel(c, a, names), addresses, default_port, settings, SentinelState)


def collect_data_nodes(addresses, settings, default_port=6379):
    """``{address: DataNodeState}`` for every data-node address, queried in parallel."""
    return _query_all(collect_data_node, addresses, default_port, settings, DataNodeState)


# --------------------------------------------------------------------------------------------------------------
# Agreement (pure)
# --------------------------------------------------------------------------------------------------------------
def majority(total):
    return total // 2 + 1


def agree_primary(name, sentinels, total=None):
    """Who do the Sentinels say the primary of ``name`` is?

    Returns a dict: ``primary`` (the address a majority of ``total`` Sentinels names, else ``None``),
    ``status`` (``agreed``, ``split``, ``no_majority`` or ``unknown``), ``votes`` ({address: count}),
    ``views`` ({sentinel: address or None}), ``reachable``, ``monitoring``, ``total``, ``majority``.

    * ``agreed``: a majority of all Sentinels names the same primary (dissenters may exist; the gate flags them).
    * ``split``: Sentinels that monitor the group name different primaries and none has a majority.
    * ``no_majority``: the monitoring Sentinels agree, but they are fewer than a majority.
    * ``unknown``: no reachable Sentinel monitors the group (a new deployment: bootstrap from the inventory).
    """
    states = list(sentinels.values()) if isinstance(sentinels, dict) else list(sentinels)
    total = len(states) if total is None else total
    views, votes = {}, {}
    reachable = monitoring = 0
    for state in states:
        if not state.reachable:
            views[state.address] = None
            continue
        reachable += 1
        view = state.groups.get(name)
        if view is None or not view.monitored:
            views[state.address] = None
            continue
        monitoring += 1
        views[state.address] = view.primary
        votes[view.primary] = votes.get(view.primary, 0) + 1
    need = majority(total)
    primary, status = None, "unknown"
    if votes:
        best, count = sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        if count >= need:
            primary, status = best, "agreed"
        elif len(votes) > 1:
            status = "split"
        else:
            status = "no_majority"
    return dict(name=name, primary=primary, status=status, votes=votes, views=views, reachable=reachable,
                monitoring=monitoring, total=total, majority=need)


def leading_primary(agreement):
    """The primary with most votes (ties: lowest address), even without a majority; ``None`` if no votes."""
    if not agreement["votes"]:
        return None
    return sorted(agreement["votes"].items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


# --------------------------------------------------------------------------------------------------------------
# Judging (pure)
# --------------------------------------------------------------------------------------------------------------
@dataclass
class Expectations:
    sentinels: int
    replicas: int | None = None
    max_lag_bytes: int = DEFAULT_MAX_LAG_BYTES
    max_lag_seconds: int = DEFAULT_MAX_LAG_SECONDS
    # min-replicas-to-write the inventory declares for the group: None = not declared (a primary that runs without
    # it is warned about), 0 = explicitly unbounded (no warning), N = the value the primary should have.
    min_replicas_to_write: int | None = None


def judge_sentinels_reachable(sentinels):
    """A problem for every Sentinel that did not answer, with the reason (refused, auth, timeout)."""
    problems = []
    for state in sentinels.values():
        if not state.reachable:
            problems.append(Finding(None, state.address, "sentinel_unreachable",
                                    "Sentinel %s: %s, expected it to answer." % (state.address, state.error),
                                    expected="reachable", seen=state.error))
    return problems


def judge_sentinel_ids(sentinels):
    """Two Sentinels with one ID (a copied sentinel.conf) never count as two votes."""
    seen, problems = {}, []
    for state in sentinels.values():
        if state.reachable and state.myid:
            seen.setdefault(state.myid, []).append(state.address)
    for myid, addrs in sorted(seen.items()):
        if len(addrs) > 1:
            problems.append(Finding(None, ", ".join(addrs), "sentinel_duplicate_id",
                                    "Sentinels %s share the ID %s, expected a unique ID each (copied sentinel.conf?)."
                                    % (", ".join(addrs), myid), expected="unique", seen=myid))
    return problems


def judge_group_sentinels(name, sentinels, agreement, expect):
    """Per-Sentinel checks of one group: monitors it, same primary, not down, counts, quorum, CKQUORUM."""
    problems, warnings = [], []
    reachable = [s for s in sentinels.values() if s.reachable]
    if reachable and agreement["monitoring"] == 0:
        problems.append(Finding(name, None, "group_unknown",
                                "Group %s: no Sentinel monitors it (asked %d), expected all %d to."
                                % (name, len(reachable), expect.sentinels),
                                expected=expect.sentinels, seen=0))
        return problems, warnings
    expected_primary = agreement["primary"] or leading_primary(agreement)
    if agreement["status"] in ("split", "no_majority"):
        problems.append(Finding(name, None, "no_primary_majority",
                                "Group %s: no majority of the %d Sentinels agrees on a primary (votes: %s), expected "
                                "at least %d to name the same one."
                                % (name, agreement["total"], _votes_text(agreement["votes"]), agreement["majority"]),
                                expected=agreement["majority"], seen=agreement["votes"]))
    need = majority(expect.sentinels)
    for state in reachable:
        view = state.groups.get(name)
        where = "Group %s, Sentinel %s" % (name, state.address)

        def add(check, text, expected=None, seen=None, warn=False, _where=where, _node=state.address):
            (warnings if warn else problems).append(
                Finding(name, _node, check, "%s: %s" % (_where, text), expected=expected, seen=seen))

        if view is None or not view.monitored:
            detail = " (%s)" % view.error if view is not None and view.error else ""
            add("not_monitored", "does not monitor the group%s, expected it to." % detail,
                expected="monitored", seen="not monitored")
            continue
        if expected_primary and view.primary != expected_primary:
            add("primary_mismatch", "sees primary %s, expected %s (named by %d of %d Sentinels)."
                % (view.primary, expected_primary, agreement["votes"].get(expected_primary, 0), agreement["total"]),
                expected=expected_primary, seen=view.primary)
        if "o_down" in view.flags:
            add("primary_o_down", "primary %s is objectively down (o_down), expected it up."
                % view.primary, expected="up", seen=view.flags)
        elif "s_down" in view.flags:
            add("primary_s_down", "primary %s is subjectively down (s_down), expected it up."
                % view.primary, expected="up", seen=view.flags)
        elif "disconnected" in view.flags:
            add("primary_disconnected", "has no link to primary %s, expected a link." % view.primary,
                expected="connected", seen=view.flags)
        if view.failover_in_progress:
            add("failover_in_progress", "a failover is in progress (state %s, flags %s), expected none."
                % (view.failover_state, ",".join(view.flags)), expected="none", seen=view.failover_state)
        others = view.num_other_sentinels if view.num_other_sentinels is not None else len(view.sentinels)
        if others != expect.sentinels - 1:
            add("sentinel_count", "knows %d other Sentinels, expected %d." % (others, expect.sentinels - 1),
                expected=expect.sentinels - 1, seen=others)
        for other in view.sentinels:
            bad = [f for f in other.flags if f in BAD_INSTANCE_FLAGS]
            if bad:
                add("sentinel_down", "sees Sentinel %s as %s, expected it up." % (other.address, ",".join(bad)),
                    expected="up", seen=other.flags)
        known_replicas = len(view.replicas) if view.replicas or view.num_replicas is None else view.num_replicas
        if expect.replicas is not None and known_replicas != expect.replicas:
            add("replica_count", "knows %d replicas, expected %d." % (known_replicas, expect.replicas),
                expected=expect.replicas, seen=known_replicas)
        for replica in view.replicas:
            bad = [f for f in replica.flags if f in BAD_INSTANCE_FLAGS]
            if bad:
                add("replica_down", "sees replica %s as %s, expected it up." % (replica.address, ",".join(bad)),
                    expected="up", seen=replica.flags)
            elif replica.master_link_status not in (None, "ok"):
                add("replica_link_down", "sees replica %s with link %s to its primary, expected ok."
                    % (replica.address, replica.master_link_status), expected="ok", seen=replica.master_link_status)
        if view.quorum is not None:
            if view.quorum > expect.sentinels:
                add("quorum_too_high", "quorum is %d, more than the %d Sentinels: no failover can ever be agreed."
                    % (view.quorum, expect.sentinels), expected="<= %d" % expect.sentinels, seen=view.quorum)
            elif view.quorum < need:
                add("quorum_below_majority", "quorum is %d, below a majority (%d) of the %d Sentinels: a minority "
                    "partition can declare the primary down." % (view.quorum, need, expect.sentinels),
                    expected=">= %d" % need, seen=view.quorum, warn=True)
        if view.ckquorum_ok is False:
            add("ckquorum", "CKQUORUM failed: %s" % view.ckquorum_message, expected="OK", seen=view.ckquorum_message)
    return problems, warnings


def judge_group_data_nodes(name, primary, replica_addresses, nodes, expect):
    """Checks of the data nodes of one group against the primary the Sentinels agree on."""
    problems = []
    if primary is None:
        return problems, 0
    p = nodes.get(primary)
    primary_offset = None
    listed = {}
    if p is None or not p.reachable:
        error = p.error if p is not None else "not queried"
        problems.append(Finding(name, primary, "primary_unreachable",
                                "Group %s, primary %s: %s, expected it to answer." % (name, primary, error),
                                expected="reachable", seen=error))
    elif p.role != "master":
        problems.append(Finding(name, primary, "primary_role",
                                "Group %s, primary %s: reports role %s, expected master." % (name, primary, p.role),
                                expected="master", seen=p.role))
    else:
        primary_offset = p.repl_offset
        listed = {r["address"]: r for r in p.replicas}
    healthy = 0
    for addr in replica_addresses:
        node = nodes.get(addr)
        where = "Group %s, replica %s" % (name, addr)
        if node is None or not node.reachable:
            error = node.error if node is not None else "not queried"
            problems.append(Finding(name, addr, "replica_unreachable",
                                    "%s: %s, expected it to answer." % (where, error),
                                    expected="reachable", seen=error))
            continue
        if node.role != "slave":
            problems.append(Finding(name, addr, "replica_role", "%s: reports role %s, expected slave of %s."
                                    % (where, node.role, primary), expected="slave", seen=node.role))
            continue
        ok = True
        if node.primary != primary:
            problems.append(Finding(name, addr, "replica_primary", "%s: replicates from %s, expected %s."
                                    % (where, node.primary, primary), expected=primary, seen=node.primary))
            ok = False
        if node.master_link_status != "up":
            problems.append(Finding(name, addr, "replica_link_down", "%s: link to its primary is %s, expected up."
                                    % (where, node.master_link_status), expected="up", seen=node.master_link_status))
            ok = False
        elif node.sync_in_progress:
            problems.append(Finding(name, addr, "replica_syncing", "%s: full sync in progress, expected in sync."
                                    % where, expected="in sync", seen="syncing"))
            ok = False
        entry = listed.get(addr)
        if ok and primary_offset is not None:
            if entry is None:
                problems.append(Finding(name, addr, "replica_not_listed", "%s: the primary %s does not list it as "
                                        "connected, expected it to." % (where, primary), expected="listed",
                                        seen="not listed"))
                ok = False
            else:
                lag_bytes = max(0, primary_offset - (entry.get("offset") or 0))
                entry["lag_bytes"] = lag_bytes
                if entry.get("state") != "online":
                    problems.append(Finding(name, addr, "replica_state", "%s: the primary reports state %s, expected "
                                            "online." % (where, entry.get("state")), expected="online",
                                            seen=entry.get("state")))
                    ok = False
                if lag_bytes > expect.max_lag_bytes:
                    problems.append(Finding(name, addr, "replica_lag_bytes", "%s: %d bytes behind the primary, "
                                            "expected at most %d." % (where, lag_bytes, expect.max_lag_bytes),
                                            expected=expect.max_lag_bytes, seen=lag_bytes))
                    ok = False
                lag = entry.get("lag")
                if lag is not None and lag > expect.max_lag_seconds:
                    problems.append(Finding(name, addr, "replica_lag_seconds", "%s: last acknowledged %d s ago, "
                                            "expected at most %d s." % (where, lag, expect.max_lag_seconds),
                                            expected=expect.max_lag_seconds, seen=lag))
                    ok = False
        if ok:
            healthy += 1
    if expect.replicas is not None and healthy != expect.replicas and not problems:
        problems.append(Finding(name, primary, "healthy_replica_count", "Group %s: %d healthy replicas, expected %d."
                                % (name, healthy, expect.replicas), expected=expect.replicas, seen=healthy))
    return problems, healthy


def judge_write_safety(name, primary, node, expect):
    """Whether a partitioned primary of the group would go on acknowledging writes that a failover then drops.

    Problem: the primary refuses writes now (fewer good replicas than min-replicas-to-write). Warnings: it runs
    without the bound although the inventory did not opt out (min_replicas_to_write 0), or with another value
    than the inventory declares.
    """
    problems, warnings = [], []
    if node is None or not node.reachable or node.role != "master" or node.min_replicas_to_write is None:
        return problems, warnings
    where = "Group %s, primary %s" % (name, primary)
    declared = expect.min_replicas_to_write
    if not node.writes_bounded:
        if declared != 0:
            warnings.append(Finding(
                name, primary, "unbounded_writes",
                "%s: min-replicas-to-write is %s and min-replicas-max-lag %s, so if it is cut off from its replicas "
                "it keeps acknowledging writes that the failover then discards; expected min-replicas-to-write %s "
                "(set min_replicas_to_write: 0 for the group to accept this)."
                % (where, node.min_replicas_to_write, node.min_replicas_max_lag,
                   declared if declared else "of at least 1"),
                expected=declared if declared else ">= 1", seen=node.min_replicas_to_write))
        return problems, warnings
    if declared is not None and declared != node.min_replicas_to_write:
        warnings.append(Finding(
            name, primary, "min_replicas_drift",
            "%s: min-replicas-to-write is %d, expected %d as the inventory declares (changed by hand?)."
            % (where, node.min_replicas_to_write, declared), expected=declared, seen=node.min_replicas_to_write))
    if node.good_replicas is not None and node.good_replicas < node.min_replicas_to_write:
        problems.append(Finding(
            name, primary, "writes_refused",
            "%s: refuses writes: %d replica(s) acknowledged within %d s, expected at least %d "
            "(min-replicas-to-write)." % (where, node.good_replicas, node.min_replicas_max_lag,
                                          node.min_replicas_to_write),
            expected=node.min_replicas_to_write, seen=node.good_replicas))
    return problems, warnings


def group_replica_addresses(name, sentinels, primary, nodes=None):
    """Every replica address any Sentinel lists for ``name`` (plus those the primary lists), sorted."""
    found = set()
    for state in sentinels.values():
        view = state.groups.get(name) if state.reachable else None
        if view is not None and view.monitored and view.primary == primary:
            found.update(r.address for r in view.replicas)
    if nodes and primary in nodes and nodes[primary].reachable:
        found.update(r["address"] for r in nodes[primary].replicas)
    found.discard(primary)
    return sorted(found)


def _votes_text(votes):
    return ", ".join("%s x%d" % (addr, n) for addr, n in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))) \
        or "none"


# --------------------------------------------------------------------------------------------------------------
# Report (pure)
# --------------------------------------------------------------------------------------------------------------
def report_lines(name, agreement, sentinels, nodes, replica_addresses):
    """Compact human-readable lines for one group: primary, replicas with lag, each Sentinel's view."""
    primary = agreement["primary"] or leading_primary(agreement)
    lines = ["%s: primary %s (%s, named by %d/%d Sentinels)"
             % (name, primary or "-", agreement["status"], agreement["votes"].get(primary, 0), agreement["total"])]
    p = nodes.get(primary) if primary else None
    listed = {r["address"]: r for r in p.replicas} if p is not None and p.reachable else {}
    for addr in replica_addresses:
        node = nodes.get(addr)
        entry = listed.get(addr)
        if node is None or not node.reachable:
            state = "unreachable (%s)" % (node.error if node is not None else "not queried")
        elif node.role != "slave":
            state = "role %s, expected a replica of %s" % (node.role, primary)
        else:
            state = "link %s" % node.master_link_status
            if node.primary != primary:
                state += ", replicates from %s" % node.primary
        if entry is not None and p.repl_offset is not None:
            lag_bytes = max(0, p.repl_offset - (entry.get("offset") or 0))
            state += ", %s, lag %d B / %s s" % (entry.get("state"), lag_bytes, entry.get("lag"))
        lines.append("  replica %s: %s" % (addr, state))
    for state in sentinels.values():
        if not state.reachable:
            lines.append("  sentinel %s: unreachable (%s)" % (state.address, state.error))
            continue
        view = state.groups.get(name)
        if view is None or not view.monitored:
            lines.append("  sentinel %s: does not monitor %s" % (state.address, name))
            continue
        lines.append("  sentinel %s: primary %s [%s] quorum %s, %s other sentinels, %s replicas, epoch %s, ckquorum %s"
                     % (state.address, view.primary, ",".join(view.flags), view.quorum, view.num_other_sentinels,
                        view.num_replicas, view.config_epoch, "ok" if view.ckquorum_ok else "FAILED"))
    return lines


# --------------------------------------------------------------------------------------------------------------
# Write probe: what a Sentinel-aware client sees
# --------------------------------------------------------------------------------------------------------------
def write_probe(sentinel_endpoints, name, data_settings, sentinel_settings, replicas, wait_ms=1000, token=None):
    """Write a key through ``master_for(name)``, WAIT for ``replicas``, read it back through ``slave_for(name)``.

    Returns a dict: ``ok``, ``group``, ``primary`` (where the client wrote), ``replicas_acknowledged``,
    ``read_back``, ``error``. Never raises; the key has a 60 s TTL and is deleted afterwards.
    """
    token = token or uuid.uuid4().hex
    key = "ha-redis:probe:%s" % token
    result = dict(group=name, ok=False, primary=None, replicas_acknowledged=None, read_back=False, key=key, error=None)
    sentinel = redis_sentinel.Sentinel([(e.host, e.port) for e in sentinel_endpoints],
                                       sentinel_kwargs=client_kwargs(sentinel_settings),
                                       decode_responses=True, **client_kwargs(data_settings))
    master = replica = None
    try:
        host, port = sentinel.discover_master(name)
        result["primary"] = address(host, port)
        master = sentinel.master_for(name, decode_responses=True, **client_kwargs(data_settings))
        master.set(key, token, ex=60)
        if replicas:
            acknowledged = int(master.execute_command("WAIT", replicas, wait_ms))
            result["replicas_acknowledged"] = acknowledged
            if acknowledged < replicas:
                result["error"] = "%d of %d replicas acknowledged the write within %d ms" % (
                    acknowledged, replicas, wait_ms)
                return result
            replica = sentinel.slave_for(name, decode_responses=True, **client_kwargs(data_settings))
            seen = replica.get(key)
            result["read_back"] = seen == token
            if not result["read_back"]:
                result["error"] = "a replica returned %r for the probe key, expected the written value" % (seen,)
                return result
        else:
            result["replicas_acknowledged"] = 0
            result["read_back"] = master.get(key) == token
        result["ok"] = bool(result["read_back"])
    except Exception as exc:  # noqa: BLE001 - the probe reports, never raises
        result["error"] = describe_error(exc)
    finally:
        for client in (master, replica):
            if client is not None:
                try:
                    if client is master:
                        client.delete(key)
                    client.close()
                except Exception:  # noqa: BLE001 - best effort cleanup
                    pass
        for s in sentinel.sentinels:
            try:
                s.close()
            except Exception:  # noqa: BLE001
                pass
    return result


# --------------------------------------------------------------------------------------------------------------
# One whole check: collection (IO) + evaluation (pure)
# --------------------------------------------------------------------------------------------------------------
def data_node_addresses(names, sentinels):
    """Every data node worth asking: the leading primary of each group and every replica the Sentinels list."""
    wanted = []
    for name in names:
        agreement = agree_primary(name, sentinels)
        primary = agreement["primary"] or leading_primary(agreement)
        if primary is None:
            continue
        for addr in [primary] + group_replica_addresses(name, sentinels, primary):
            if addr not in wanted:
                wanted.append(addr)
    return wanted


def evaluate(names, sentinels, nodes, expectations):
    """Judge collected state. ``expectations``: ``{name: Expectations}``. Pure.

    Returns ``dict(problems=[Finding], warnings=[Finding], groups={name: summary}, report=[str])``.
    """
    problems = judge_sentinels_reachable(sentinels) + judge_sentinel_ids(sentinels)
    warnings, groups, report = [], {}, []
    for name in names:
        expect = expectations[name]
        agreement = agree_primary(name, sentinels, total=len(sentinels))
        primary = agreement["primary"] or leading_primary(agreement)
        group_problems, group_warnings = judge_group_sentinels(name, sentinels, agreement, expect)
        replica_addrs = group_replica_addresses(name, sentinels, primary, nodes) if primary else []
        node_problems, healthy = judge_group_data_nodes(name, primary, replica_addrs, nodes, expect)
        safety_problems, safety_warnings = judge_write_safety(name, primary, nodes.get(primary) if primary else None,
                                                              expect)
        node_problems += safety_problems
        problems += group_problems + node_problems
        warnings += group_warnings + safety_warnings
        quorum = None
        for state in sentinels.values():
            view = state.groups.get(name) if state.reachable else None
            if view is not None and view.monitored and view.primary == primary:
                quorum = view.quorum
                break
        p = nodes.get(primary) if primary else None
        listed = {r["address"]: r for r in p.replicas} if p is not None and p.reachable else {}
        replicas = []
        for addr in replica_addrs:
            node = nodes.get(addr)
            entry = listed.get(addr) or {}
            lag_bytes = None
            if entry and p.repl_offset is not None and entry.get("offset") is not None:
                lag_bytes = max(0, p.repl_offset - entry["offset"])
            replicas.append(dict(
                address=addr,
                reachable=bool(node is not None and node.reachable),
                replicates_from=node.primary if node is not None else None,
                link=node.master_link_status if node is not None else None,
                state=entry.get("state"),
                lag_bytes=lag_bytes,
                lag_seconds=entry.get("lag"),
            ))
        groups[name] = dict(
            name=name,
            primary=primary,
            status=agreement["status"],
            votes=agreement["votes"],
            views=agreement["views"],
            quorum=quorum,
            healthy_replicas=healthy,
            replicas=replicas,
            min_replicas_to_write=p.min_replicas_to_write if p is not None else None,
            min_replicas_max_lag=p.min_replicas_max_lag if p is not None else None,
            ok=not (group_problems or node_problems),
        )
        report += report_lines(name, agreement, sentinels, nodes, replica_addrs)
    return dict(problems=problems, warnings=warnings, groups=groups, report=report)


def failure_message(problems, elapsed, attempts):
    """One message listing every problem (the last attempt's)."""
    items = "; ".join("(%d) %s" % (i + 1, p.message) for i, p in enumerate(problems))
    return "Sentinel quorum check failed after %.1f s (%d attempt%s) with %d problem%s: %s" % (
        elapsed, attempts, "" if attempts == 1 else "s", len(problems), "" if len(problems) == 1 else "s", items)
