# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What Sentinels and data nodes say about a replication group: collection (I/O) and the write probe.

Private to the collection: the interface may change between releases.

Three layers, each usable on its own, in three files:

* collection (here: ``collect_sentinel``, ``collect_data_node``, ``collect_sentinels``, ``collect_data_nodes``,
  ``write_probe``): one round trip per node, raw replies turned into the plain dataclasses of
  ``_sentinel_model.py``. Commands are sent as ``SENTINEL <sub>`` / ``INFO`` and parsed there, so the result does
  not depend on the redis-py version's reply callbacks (4.3 to 6.x).
* model and agreement (``_sentinel_model.py``: ``InstanceView``, ``GroupView``, ``agree_primary``, ``majority``):
  who the Sentinels say the primary is.
* judging (``_sentinel_judge.py``: ``judge_group_sentinels``, ``judge_group_data_nodes``, ``evaluate``): pure
  functions from the collected state and the expectations to a list of ``Finding`` (problems and warnings), each
  naming the node, the expected and the seen value.

The names of all three stay importable from here.
"""

from __future__ import annotations

import uuid

from ansible_collections.ha.redis.plugins.module_utils._connection import (
    client_kwargs,
    connect,
    describe_error,
    pairs_to_dict,
    parse_endpoint,
    reply_text,
    run_parallel,
)
from ansible_collections.ha.redis.plugins.module_utils._sentinel_judge import (
    Expectations,
    evaluate,
    failure_message,
    group_replica_addresses,
    judge_group_data_nodes,
    judge_group_sentinels,
    judge_sentinel_ids,
    judge_sentinels_reachable,
    judge_write_safety,
    report_lines,
)
from ansible_collections.ha.redis.plugins.module_utils._sentinel_model import (
    BAD_INSTANCE_FLAGS,
    DEFAULT_MAX_LAG_BYTES,
    DEFAULT_MAX_LAG_SECONDS,
    FAILOVER_FLAGS,
    SENTINEL_ERROR_NO_SUCH_MASTER,
    DataNodeState,
    Finding,
    GroupView,
    InstanceView,
    SentinelState,
    address,
    agree_primary,
    apply_write_safety,
    count_votes,
    data_node_from_info,
    decide,
    group_view_from_replies,
    leading_primary,
    majority,
    parse_info,
    parse_kv_line,
    split_flags,
    to_int,
)

# Every name of the three layers stays importable from here.
__all__ = [
    "BAD_INSTANCE_FLAGS",
    "DEFAULT_MAX_LAG_BYTES",
    "DEFAULT_MAX_LAG_SECONDS",
    "DataNodeState",
    "Expectations",
    "FAILOVER_FLAGS",
    "Finding",
    "GroupView",
    "InstanceView",
    "SENTINEL_ERROR_NO_SUCH_MASTER",
    "SentinelState",
    "address",
    "agree_primary",
    "apply_write_safety",
    "collect_data_node",
    "collect_data_nodes",
    "collect_sentinel",
    "collect_sentinels",
    "count_votes",
    "data_node_addresses",
    "data_node_from_info",
    "decide",
    "evaluate",
    "failure_message",
    "group_replica_addresses",
    "group_view_from_replies",
    "judge_group_data_nodes",
    "judge_group_sentinels",
    "judge_sentinel_ids",
    "judge_sentinels_reachable",
    "judge_write_safety",
    "leading_primary",
    "majority",
    "parse_info",
    "parse_kv_line",
    "report_lines",
    "split_flags",
    "to_int",
    "write_probe",
]

try:
    from redis import sentinel as redis_sentinel
except ImportError:  # pragma: no cover - the modules report the missing library through _connection.HAS_REDIS
    redis_sentinel = None


# --------------------------------------------------------------------------------------------------------------
# Collection (one round trip per node)
# --------------------------------------------------------------------------------------------------------------
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


def collect_data_node(client, node_address):
    """INFO replication and the write-safety settings of one data node, in one round trip."""
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
# One whole check: which data nodes to collect
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
