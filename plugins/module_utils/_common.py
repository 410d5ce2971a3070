# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the modules and the controller-side plugins share, without redis-py.

The filter and lookup plugins (the topology model) run in every Ansible worker that templates them, and a worker
imports them afresh: importing redis-py there cost about 60 ms per task. So the pure model code imports from here,
never from ``_connection`` (which imports redis-py and re-exports these names for the modules).
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_REDIS_PORT = 6379
DEFAULT_SENTINEL_PORT = 26379


class HaRedisError(Exception):
    """A domain error: ``str()`` is one sentence for the operator; ``details`` carries the structured rest."""

    def __init__(self, message, **details):
        super().__init__(message)
        self.details = details


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int

    def __str__(self):
        if ":" in self.host:
            return "[%s]:%d" % (self.host, self.port)
        return "%s:%d" % (self.host, self.port)


def reply_text(value):
    """A reply element as text (raw replies may be bytes when a client does not decode)."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def pairs_to_dict(reply):
    """``[k1, v1, k2, v2, ...]`` (a raw SENTINEL or ACL reply entry) or a dict -> ``{k: v}`` of strings."""
    if isinstance(reply, dict):
        return {str(reply_text(k)): reply_text(v) for k, v in reply.items()}
    reply = list(reply or [])
    return {str(reply_text(k)): reply_text(v) for k, v in zip(reply[0::2], reply[1::2])}


def describe_error(exc):
    """One short, secret-free phrase for a redis-py or socket error."""
    text = str(exc).strip() or exc.__class__.__name__
    if getattr(exc, "ha_redis_auth", False):
        return text
    # redis-py's exception classes by name: this file must not import redis-py (see the header).
    kinds = {cls.__name__ for cls in type(exc).__mro__ if cls.__module__.split(".")[0] == "redis"}
    if kinds:
        if "AuthenticationError" in kinds or "WRONGPASS" in text or "invalid password" in text:
            return "authentication failed (%s)" % text.split("\n")[0]
        if "NOAUTH" in text or "Authentication required" in text:
            return "authentication required but no password was given"
        if "TimeoutError" in kinds:
            return "timed out (%s)" % text
        if "ConnectionError" in kinds:
            return "cannot connect (%s)" % text
        if "ResponseError" in kinds:
            return "error reply (%s)" % text
    return text
