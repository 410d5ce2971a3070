# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Compare an ACL file with the users a running Redis, Valkey or Sentinel has loaded; ACL LOAD.

Private to the collection: the interface may change between releases.
``parse_acl_lines``, ``acl_fingerprint`` and ``acl_differences`` are pure; ``read_running_acl``,
``load_acl``, ``read_peer_auth`` and ``set_peer_auth`` take a redis-py client.

Only what identifies a user is compared: its name, whether it is on, and the SHA-256 of each password it
accepts. Rules are not compared (the server rewrites them into a canonical form); a change of rules alone is
loaded when the caller says the file changed (``force``).
"""

from __future__ import annotations

import hashlib

from ansible_collections.ha.redis.plugins.module_utils._connection import HaRedisError, describe_error

MASK = "********"


def parse_acl_lines(lines):
    """``{user: {"on": bool, "hashes": set}}`` from ACL file lines or ``ACL LIST`` replies. Pure.

    Plain passwords (``>secret``) are turned into their SHA-256, as the server stores them; ``nopass`` is
    recorded as the hash ``"nopass"``.
    """
    users = {}
    for raw in lines:
        line = str(raw).strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if parts[0].lower() != "user" or len(parts) < 2:
            raise HaRedisError("ACL line %r is not valid: expected 'user <name> <rules...>'." % _masked(line))
        name = parts[1]
        state = users.setdefault(name, {"on": False, "hashes": set()})
        for token in parts[2:]:
            low = token.lower()
            if low == "on":
                state["on"] = True
            elif low == "off":
                state["on"] = False
            elif low in ("nopass",):
                state["hashes"] = {"nopass"}
            elif low == "resetpass":
                state["hashes"] = set()
            elif token.startswith(">"):
                state["hashes"].add(hashlib.sha256(token[1:].encode("utf-8")).hexdigest())
            elif token.startswith("#"):
                state["hashes"].add(token[1:].lower())
            elif token.startswith("<"):
                state["hashes"].discard(hashlib.sha256(token[1:].encode("utf-8")).hexdigest())
            elif token.startswith("!"):
                state["hashes"].discard(token[1:].lower())
    return users


def _masked(line):
    return " ".join(MASK if t[:1] in (">", "<") else t for t in str(line).split())


def acl_fingerprint(users):
    """A secret-free summary for the report: user names, on/off and the number of passwords. Pure."""
    return dict((name, dict(enabled=state["on"], passwords=len(state["hashes"] - {"nopass"}),
                            nopass="nopass" in state["hashes"]))
                for name, state in sorted(users.items()))


def acl_differences(wanted, running):
    """Names of the users whose identity differs between the file and the server. Pure."""
    names = sorted(set(wanted) | set(running))
    return [n for n in names if wanted.get(n) != running.get(n)]


def read_running_acl(client):
    try:
        return parse_acl_lines(client.execute_command("ACL", "LIST"))
    except HaRedisError:
        raise
    except Exception as exc:
        raise HaRedisError("Cannot read the running ACL (ACL LIST): %s." % describe_error(exc)) from exc


def load_acl(client):
    try:
        client.execute_command("ACL", "LOAD")
    except Exception as exc:
        raise HaRedisError("ACL LOAD failed; the server keeps its previous users: %s." % describe_error(exc)) from exc
    # The server disconnects the clients of every user the load changed, ours included, just after its reply: a
    # next command on the same connection raced that close (a flaky "connection closed"). Start afresh instead.
    client.connection_pool.disconnect()


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def read_peer_auth(client):
    """``(user, password)`` a Sentinel uses towards the other Sentinels (SENTINEL CONFIG GET)."""
    found = {}
    for key in ("sentinel-user", "sentinel-pass"):
        try:
            reply = client.execute_command("SENTINEL", "CONFIG", "GET", key)
        except Exception as exc:
            raise HaRedisError("Cannot read %s from the Sentinel (SENTINEL CONFIG GET): %s."
                               % (key, describe_error(exc))) from exc
        if isinstance(reply, dict):
            found[key] = _text(reply.get(key, ""))
        else:
            reply = list(reply or [])
            found[key] = _text(reply[1]) if len(reply) > 1 else ""
    return found["sentinel-user"], found["sentinel-pass"]


def set_peer_auth(client, key, value):
    try:
        client.execute_command("SENTINEL", "CONFIG", "SET", key, value)
    except Exception as exc:
        raise HaRedisError("SENTINEL CONFIG SET %s failed: %s." % (key, describe_error(exc))) from exc
