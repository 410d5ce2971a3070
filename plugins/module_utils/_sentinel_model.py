# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Sentinels and data nodes say, as plain dataclasses, and who the Sentinels agree is the primary. Pure.

Private to the collection: the interface may change between releases.

* parsing: raw replies (``SENTINEL ...``, ``INFO``) into dicts and lists, whatever redis-py's reply callbacks did;
* model: :class:`InstanceView` (a replica or Sentinel as one Sentinel lists it), :class:`GroupView`,
  :class:`SentinelState`, :class:`DataNodeState`, :class:`Finding`, and the builders from raw replies;
* agreement: ``majority``, ``count_votes``/``decide`` (from ``{sentinel: primary}`` views) and ``agree_primary``.

``_sentinel.py`` collects (I/O) and ``_sentinel_judge.py`` judges; both use this model, as does ``_failover.py``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from ansible_collections.ha.redis.plugins.module_utils._common import describe_error, pairs_to_dict, reply_text

SENTINEL_ERROR_NO_SUCH_MASTER = "No such master with that name"
# Sentinel flags that mean "this instance is not usable right now".
BAD_INSTANCE_FLAGS = frozenset(("s_down", "o_down", "disconnected"))
FAILOVER_FLAGS = frozenset(("failover_in_progress", "promoted", "reconf_sent", "reconf_inprog", "reconf_done"))
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
    priority: int = 100  # replica-priority; 0: Sentinel never promotes it
    info_age_ms: int = -1  # ms since the listing Sentinel's last INFO reply from it; -1: not said

    @property
    def down(self):
        """Sentinel flags it down or disconnected."""
        return bool(BAD_INSTANCE_FLAGS.intersection(self.flags))

    @property
    def healthy(self):
        return not self.down and self.master_link_status in (None, "ok")

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
            priority=to_int(d.get("slave-priority"), 100),
            info_age_ms=to_int(d.get("info-refresh"), -1),
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
        return bool(FAILOVER_FLAGS.intersection(self.flags)) or self.failover_state not in (None, "", "none", "?")

    def as_dict(self):
        d = asdict(self)
        d["failover_in_progress"] = self.failover_in_progress
        return d


@dataclass
class NodeAnswer:
    """Whether a node answered, and the error that kept it from answering."""

    address: str
    reachable: bool = False
    error: str | None = None


@dataclass
class SentinelState(NodeAnswer):
    """Everything one Sentinel said (or the error that kept it from saying anything)."""

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
class DataNodeState(NodeAnswer):
    """INFO replication of one data node."""

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


def group_view_from_replies(name, master, replicas=None, sentinels=None, ckquorum=None):
    """Build a :class:`GroupView` from the raw replies (or exceptions) of one Sentinel to SENTINEL MASTER, REPLICAS,
    SENTINELS and CKQUORUM (``ckquorum`` None: not asked). Pure."""
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
    elif ckquorum is not None:
        view.ckquorum_ok = True
        view.ckquorum_message = str(reply_text(ckquorum)).strip()
    return view


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
        node.good_replicas = to_int(info.get("min_slaves_good_slaves", info.get("min_replicas_good_replicas")))
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
    """Add a ``CONFIG GET min-replicas-*`` reply (raw, dict, or an exception: left unknown) to ``node``. Pure."""
    if isinstance(config, Exception):
        return node
    values = pairs_to_dict(config)
    node.min_replicas_to_write = to_int(values.get("min-replicas-to-write"))
    node.min_replicas_max_lag = to_int(values.get("min-replicas-max-lag"))
    return node


# --------------------------------------------------------------------------------------------------------------
# Agreement (pure)
# --------------------------------------------------------------------------------------------------------------
def majority(total):
    """Votes that make a majority of ``total``: more than half."""
    return total // 2 + 1


def _ranked(votes):
    """``(address, count)`` pairs, most votes first, ties by address."""
    return sorted(votes.items(), key=lambda kv: (-kv[1], kv[0]))


def count_votes(views):
    """``{sentinel: primary address or None}`` -> ``{primary address: how many Sentinels name it}``."""
    votes = {}
    for primary in views.values():
        if primary:
            votes[primary] = votes.get(primary, 0) + 1
    return votes


def decide(votes, total):
    """``(primary, status)`` from the votes of ``total`` Sentinels (status as in :func:`agree_primary`)."""
    if not votes:
        return None, "unknown"
    best, count = _ranked(votes)[0]
    if count >= majority(total):
        return best, "agreed"
    return None, "split" if len(votes) > 1 else "no_majority"


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
    views = {}
    reachable = monitoring = 0
    for state in states:
        view = state.groups.get(name) if state.reachable else None
        reachable += 1 if state.reachable else 0
        monitored = view is not None and view.monitored
        monitoring += 1 if monitored else 0
        views[state.address] = view.primary if monitored else None
    votes = count_votes(views)
    primary, status = decide(votes, total)
    return dict(name=name, primary=primary, status=status, votes=votes, views=views, reachable=reachable,
                monitoring=monitoring, total=total, majority=majority(total))


def leading_primary(agreement):
    """The primary with most votes (ties: lowest address), even without a majority; ``None`` if no votes."""
    if not agreement["votes"]:
        return None
    return _ranked(agreement["votes"])[0][0]
