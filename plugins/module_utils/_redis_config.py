# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Runtime configuration of one data node: compare, plan and apply CONFIG SET / REPLICAOF.

Private to the collection: the interface may change between releases.
The comparison functions are pure (no server) so they can be unit-tested; the ``apply_*`` and
``read_*`` functions take a redis-py client.
"""

from __future__ import annotations

import re

from ansible_collections.ha.redis.plugins.module_utils._connection import HaRedisError, describe_error

MASK = "********"

# Settings whose values are secrets: compared, never returned or logged.
SECRET_SETTINGS = frozenset(["requirepass", "masterauth", "tls-key-file-pass", "tls-client-key-file-pass"])

# Settings CONFIG SET refuses at runtime (IMMUTABLE_CONFIG in Redis 7.x and Valkey 7/8 config.c). Used in
# check mode; outside check mode a refusal for an unlisted name is detected from the server's reply as well.
IMMUTABLE_SETTINGS = frozenset([
    "aclfile", "always-show-logo", "aof_rewrite_cpulist", "appenddirname", "appendfilename", "bgsave_cpulist",
    "bio_cpulist", "cluster-config-file", "cluster-enabled", "cluster-port", "daemonize", "databases",
    "disable-thp", "enable-debug-command", "enable-module-command", "enable-protected-configs", "io-threads",
    "io-threads-do-reads", "logfile", "pidfile", "rdbchecksum", "server_cpulist", "set-proc-title",
    "socket-mark-id", "supervised", "syslog-enabled", "syslog-facility", "syslog-ident", "tcp-backlog",
    "unixsocket", "unixsocketperm",
    # "protected" configs: refused at runtime unless enable-protected-configs allows them
    "dir", "dbfilename",
])

# Replication is changed with REPLICAOF (ha.redis.redis_replication), never with CONFIG SET.
REPLICATION_SETTINGS = frozenset(["replicaof", "slaveof"])

# Settings with named values that Redis reports in lower case.
ENUM_SETTINGS = frozenset([
    "maxmemory-policy", "appendfsync", "loglevel", "supervised", "repl-diskless-load", "sanitize-dump-payload",
    "enable-protected-configs", "enable-debug-command", "enable-module-command", "oom-score-adj",
    "propagation-error-behavior", "shutdown-on-sigint", "shutdown-on-sigterm", "syslog-facility",
    "cluster-preferred-endpoint-type", "tls-auth-clients", "tls-protocols",
])

# Settings whose value is a set of one-letter flags (order does not matter).
FLAG_SETTINGS = frozenset(["notify-keyspace-events"])

_MEMORY_RE = re.compile(r"^(-?\d+)(k|kb|m|mb|g|gb|b)$", re.IGNORECASE)
_MEMORY_UNITS = {
    "b": 1, "k": 1000, "kb": 1024, "m": 1000 ** 2, "mb": 1024 ** 2, "g": 1000 ** 3, "gb": 1024 ** 3,
}
# The flags that the keyspace-events letter ``A`` stands for (Redis 7.0; ``m`` and ``n`` are not included).
_KEYSPACE_ALL = "g$lshzxetd"


def memory_to_bytes(token):
    """``100mb`` -> ``104857600`` (Redis' memtoll units: k=1000, kb=1024, ...); other tokens unchanged."""
    match = _MEMORY_RE.match(token)
    if not match:
        return token
    return str(int(match.group(1)) * _MEMORY_UNITS[match.group(2).lower()])


def to_redis_text(value):
    """Render a desired value the way it is sent to CONFIG SET (booleans as yes/no, lists space-joined)."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return " ".join(to_redis_text(item) for item in value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _keyspace_flags(text):
    flags = set(text)
    if "A" in flags:
        flags.discard("A")
        flags.update(_KEYSPACE_ALL)
    return "".join(sorted(flags))


def normalize(name, value):
    """A canonical string for comparing a desired value with the value CONFIG GET reports."""
    name = name.lower()
    text = to_redis_text(value)
    if name in SECRET_SETTINGS:
        return text
    if name in FLAG_SETTINGS:
        return _keyspace_flags(text)
    tokens = text.split()
    tokens = [memory_to_bytes(token) for token in tokens]
    if name in ENUM_SETTINGS or all(token.lower() in ("yes", "no") for token in tokens):
        tokens = [token.lower() for token in tokens]
    return " ".join(tokens)


def values_equal(name, desired, current):
    return normalize(name, desired) == normalize(name, current)


def display(name, value):
    """What may be shown to the operator for ``name``: secrets are masked (empty stays empty)."""
    if name.lower() in SECRET_SETTINGS:
        return MASK if value not in (None, "") else ""
    return value


def plan_config(desired, current):
    """Compare ``desired`` (name -> value) with ``current`` (name -> reported text).

    Returns ``(to_set, restart_required)``: ``to_set`` is a list of ``(name, text)`` to send to CONFIG SET,
    ``restart_required`` the names that differ but cannot change at runtime. Raises :class:`HaRedisError`
    for a name the server does not know.
    """
    unknown = sorted(name for name in desired if name.lower() not in current)
    if unknown:
        raise HaRedisError("The server does not know the setting(s) %s: expected names that CONFIG GET reports."
                           % ", ".join(unknown), unknown=unknown)
    managed = sorted(name for name in desired if name.lower() in REPLICATION_SETTINGS)
    if managed:
        raise HaRedisError("The setting(s) %s cannot be managed here: use ha.redis.redis_replication."
                           % ", ".join(managed), settings=managed)
    to_set, restart_required = [], []
    for name in sorted(desired):
        key = name.lower()
        if values_equal(key, desired[name], current[key]):
            continue
        if key in IMMUTABLE_SETTINGS:
            restart_required.append(key)
        else:
            to_set.append((key, to_redis_text(desired[name])))
    return to_set, restart_required


def config_command(name, text):
    """The command line for the report, with secrets masked."""
    shown = display(name, text)
    if shown == "" or (" " in str(shown)):
        shown = '"%s"' % shown
    return "CONFIG SET %s %s" % (name, shown)


def read_config(client, names):
    """CONFIG GET each name (lower case); returns name -> text for those the server knows."""
    current = {}
    for name in names:
        reply = client.config_get(name.lower())
        # CONFIG GET takes a glob: keep exact names only.
        for key, value in reply.items():
            if key == name.lower():
                current[key] = value
    return current


def is_immutable_refusal(exc):
    text = str(exc).lower()
    return "immutable" in text or "protected config" in text


def apply_config(client, to_set):
    """CONFIG SET one setting at a time. Returns ``(applied, refused)``; refused are immutable at runtime."""
    applied, refused = [], []
    for name, text in to_set:
        try:
            client.config_set(name, text)
        except Exception as exc:  # redis.ResponseError; redis-py may not be importable at import time
            if is_immutable_refusal(exc):
                refused.append(name)
                continue
            message = describe_error(exc)
            if name in SECRET_SETTINGS:
                message = "the server refused the value"
            raise HaRedisError("CONFIG SET %s failed: %s." % (name, message), setting=name, applied=applied) from exc
        applied.append(name)
    return applied, refused


def config_rewrite(client):
    try:
        client.config_rewrite()
    except Exception as exc:
        raise HaRedisError("CONFIG REWRITE failed, the change is live but not persisted: %s."
                           % describe_error(exc)) from exc


# --- replication --------------------------------------------------------------------------------------------

def replication_state(info):
    """``{role, primary}`` from ``INFO replication``: role ``primary``/``replica``; primary ``host:port`` or None."""
    if info.get("role") == "slave":
        return dict(
            role="replica",
            primary="%s:%s" % (info.get("master_host"), info.get("master_port")),
            primary_host=str(info.get("master_host")),
            primary_port=int(info.get("master_port")),
            link_status=info.get("master_link_status"),
        )
    return dict(role="primary", primary=None, primary_host=None, primary_port=None,
                connected_replicas=int(info.get("connected_slaves", 0)))


def demotion_commands(primary_host, primary_port, rewrite=True):
    """The commands, in order, that turn a primary into a replica of ``primary_host:primary_port``. Pure.

    They are sent in one ``MULTI`` (:func:`demote`), the way Sentinel demotes a primary: ``REPLICAOF``, ``CONFIG
    REWRITE``, then ``CLIENT KILL TYPE normal`` and ``CLIENT KILL TYPE pubsub``. That is Sentinel's contract with
    its clients: every connection to the node that stops being the primary is closed (clients held by a
    ``CLIENT PAUSE`` included), so each client asks the Sentinels again instead of getting ``READONLY`` from a
    replica for as long as its connection lives. The connection that sends them is spared (``SKIPME yes``, the
    default), and replicas are not ``normal`` clients."""
    commands = [("REPLICAOF", str(primary_host), str(int(primary_port)))]
    if rewrite:
        commands.append(("CONFIG", "REWRITE"))
    commands += [("CLIENT", "KILL", "TYPE", "normal"), ("CLIENT", "KILL", "TYPE", "pubsub")]
    return commands


def command_text(command):
    """``('CLIENT', 'KILL', 'TYPE', 'normal')`` as ``CLIENT KILL TYPE normal``, for reports."""
    return " ".join(str(part) for part in command)


def stray_clients(clients, max_age, own_id):
    """The ids of the connections (``CLIENT LIST`` entries, as redis-py parses them) opened at most ``max_age``
    seconds ago, except ``own_id`` and Sentinel's own links (named ``sentinel-...``). Pure."""
    stray = []
    for entry in clients:
        if str(entry.get("id")) == str(own_id) or str(entry.get("name") or "").startswith("sentinel-"):
            continue
        try:
            age = int(entry.get("age"))
        except (TypeError, ValueError):
            continue
        if age <= max_age:
            stray.append(str(entry["id"]))
    return stray


def demote(client, primary_host, primary_port, rewrite=True):
    """Send :func:`demotion_commands` in one transaction on ``client`` (a primary); return ``(disconnected,
    rewrite_error)``: the number of client connections closed, and the reason ``CONFIG REWRITE`` failed (None when
    it succeeded or was not asked for). A refused ``REPLICAOF`` raises; ``EXEC`` runs every queued command all the
    same, so the node's clients were then disconnected too, which costs them a reconnect and nothing else."""
    commands = demotion_commands(primary_host, primary_port, rewrite)
    pipe = client.pipeline(transaction=True)
    for command in commands:
        pipe.execute_command(*command)
    try:
        replies = pipe.execute(raise_on_error=False)
    finally:
        pipe.reset()
    outcome = dict(zip((command_text(c) for c in commands), replies))
    replicaof = outcome[command_text(commands[0])]
    if isinstance(replicaof, Exception):
        reason = describe_error(replicaof)
        raise HaRedisError("REPLICAOF %s %s failed: %s." % (primary_host, primary_port, reason), reason=reason)
    rewrite_error = None
    if rewrite and isinstance(outcome["CONFIG REWRITE"], Exception):
        rewrite_error = describe_error(outcome["CONFIG REWRITE"])
    disconnected = sum(reply for reply in replies[-2:] if isinstance(reply, int))
    return disconnected, rewrite_error


def plan_replication(state, want_role, primary_host=None, primary_port=None, self_endpoint=None, force=False):
    """Decide the REPLICAOF arguments, or None when the node is already as asked.

    ``want_role`` is ``primary`` or ``replica``. Refuses pointing a node at itself and demoting a primary
    that still has connected replicas unless ``force``.
    """
    if want_role == "primary":
        if state["role"] == "primary":
            return None
        return ("NO", "ONE")
    if self_endpoint is not None and primary_host == self_endpoint[0] and int(primary_port) == int(self_endpoint[1]):
        raise HaRedisError("Refusing to make %s:%s a replica of itself." % (primary_host, primary_port))
    wanted = (primary_host, int(primary_port))
    if state["role"] == "replica" and (state["primary_host"], state["primary_port"]) == wanted:
        return None
    if state["role"] == "primary" and state.get("connected_replicas", 0) > 0 and not force:
        raise HaRedisError(
            "Refusing to demote this primary to a replica of %s:%s: it still has %d connected replica(s); "
            "set force=true if that is what you want." % (primary_host, primary_port, state["connected_replicas"]),
            connected_replicas=state["connected_replicas"])
    return (primary_host, str(int(primary_port)))
