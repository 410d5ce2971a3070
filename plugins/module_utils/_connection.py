# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options and helpers shared by every ha.redis module.

Private to the collection: the interface may change between releases.
The options are documented once, in the ``ha.redis.connection`` doc fragment.
"""

from __future__ import annotations

import os
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

# Redis-free definitions, shared with the controller-side plugins (re-exported here for the modules).
from ansible_collections.ha.redis.plugins.module_utils._common import (  # noqa: F401 (re-exported)
    DEFAULT_REDIS_PORT,
    DEFAULT_SENTINEL_PORT,
    Endpoint,
    HaRedisError,
    describe_error,
    pairs_to_dict,
    reply_text,
)

REDIS_IMP_ERR = None
try:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    HAS_REDIS = True
except ImportError:  # pragma: no cover - exercised only where redis-py is missing
    redis = None
    HAS_REDIS = False
    REDIS_IMP_ERR = traceback.format_exc()

# The options that carry the credentials of each kind of node, and what the node is called in messages.
CREDENTIAL_OPTIONS = {
    "redis": ("login_user", "login_password", "data node"),
    "sentinel": ("sentinel_user", "sentinel_password", "Sentinel"),
}
TLS_FILE_OPTIONS = ("ca_certs", "client_cert_file", "client_key_file")


def transport_options():
    """TLS and timeouts: every module that connects (doc fragment ``ha.redis.connection.transport``)."""
    return dict(
        tls=dict(type="bool", default=False),
        validate_certs=dict(type="bool", default=True),
        ca_certs=dict(type="path"),
        client_cert_file=dict(type="path"),
        client_key_file=dict(type="path"),
        connect_timeout=dict(type="float", default=1.0),
        command_timeout=dict(type="float", default=2.0),
    )


def credential_options(kind):
    """The user and password options for ``kind`` ('redis' or 'sentinel'); fragments ``*_credentials``."""
    user, password, _label = CREDENTIAL_OPTIONS[kind]
    aliases = dict(login_user=["redis_user"], login_password=["redis_password"])
    return {user: dict(type="str", aliases=aliases.get(user, [])),
            password: dict(type="str", no_log=True, aliases=aliases.get(password, []))}


def connection_argument_spec(data=True, sentinel=True):
    """Transport options plus the credentials of the kinds of node a module talks to.

    Both kinds by default (the ``ha.redis.connection`` doc fragment); ``data=False`` or ``sentinel=False`` leaves
    out the credentials a module never uses, so that they cannot be given and silently ignored.
    """
    spec = transport_options()
    for kind, wanted in (("redis", data), ("sentinel", sentinel)):
        if wanted:
            spec.update(credential_options(kind))
    return spec


def primary_name_option():
    """The ``primary_name`` option of a one-group module (doc fragment ``ha.redis.connection.primary_name``)."""
    return dict(primary_name=dict(type="str", required=True, aliases=["master_name"]))


def node_argument_spec(kind):
    """Options of a module that acts on one node of ``kind``: its credentials, transport, login_host, login_port.

    Documented by the fragments ``ha.redis.connection.transport`` and ``.data_credentials`` + ``.data_node``
    (kind 'redis') or ``.sentinel_credentials`` + ``.sentinel_node`` (kind 'sentinel').
    """
    spec = connection_argument_spec(data=kind == "redis", sentinel=kind == "sentinel")
    spec.update(
        login_host=dict(type="str", default="127.0.0.1"),
        login_port=dict(type="int", default=DEFAULT_SENTINEL_PORT if kind == "sentinel" else DEFAULT_REDIS_PORT),
    )
    return spec


@dataclass(frozen=True)
class ConnectionSettings:
    """How to reach one kind of node (data node or Sentinel)."""

    username: str | None = None
    password: str | None = None
    tls: bool = False
    validate_certs: bool = True
    ca_certs: str | None = None
    client_cert_file: str | None = None
    client_key_file: str | None = None
    connect_timeout: float = 1.0
    command_timeout: float = 2.0
    kind: str = "redis"
    # Why no node can be reached with these settings (a TLS file that does not exist), when the caller asked for
    # that to be reported per node instead of raised (from_params(missing_tls_file="report")).
    unusable: str | None = None

    @classmethod
    def from_params(cls, params, kind="redis", missing_tls_file="fail"):
        """Build the settings for ``kind`` ('redis' or 'sentinel') from module parameters.

        Raises HaRedisError for a timeout that is not above 0, for TLS files given without ``tls=true`` (they
        would be ignored), and for a TLS file that does not exist (redis-py would only say "No such file").
        With ``missing_tls_file="report"`` a missing TLS file is not raised: every connection fails with that
        sentence instead (a read-only module that reports unreachable nodes, e.g. before the first deploy has
        written the files).
        """
        user_option, password_option, _label = CREDENTIAL_OPTIONS[kind]
        for option in ("connect_timeout", "command_timeout"):
            value = params.get(option)
            if value is not None and value <= 0:
                raise HaRedisError("Option %s is %s, expected a number of seconds above 0." % (option, value))
        given = [option for option in TLS_FILE_OPTIONS if params.get(option)]
        if given and not params.get("tls"):
            raise HaRedisError("Option %s is set but tls is false; set tls=true to use TLS, or leave %s out."
                               % (given[0], " and ".join(given)))
        unusable = None
        for option in given:
            if not os.path.isfile(params[option]):
                unusable = "The TLS file %s (option %s) does not exist or is not a file." % (params[option], option)
                if missing_tls_file != "report":
                    raise HaRedisError(unusable)
        return cls(
            unusable=unusable,
            username=params.get(user_option) or None,
            password=params.get(password_option) or None,
            tls=bool(params.get("tls")),
            validate_certs=params.get("validate_certs", True),
            ca_certs=params.get("ca_certs"),
            client_cert_file=params.get("client_cert_file"),
            client_key_file=params.get("client_key_file"),
            connect_timeout=float(params.get("connect_timeout") or 1.0),
            command_timeout=float(params.get("command_timeout") or 2.0),
            kind=kind,
        )

    def auth_failure(self, endpoint, reply):
        """One sentence for a refused authentication: which node, which options, what the node said."""
        user_option, password_option, label = CREDENTIAL_OPTIONS[self.kind]
        reply = str(reply).strip().split("\n", maxsplit=1)[0].rstrip(".")
        if self.password is None:
            why = "it requires a password and option %s is not set" % password_option
        elif "without any password configured" in reply:
            why = "option %s is set but the %s has no password" % (password_option, label)
        elif self.username:
            why = "it refused user %s (option %s) with the password of option %s" % (
                self.username, user_option, password_option)
        else:
            why = "it refused the password of option %s (user default)" % password_option
        return "authentication to the %s at %s failed: %s (%s)" % (label, endpoint, why, reply)


def parse_endpoint(value, default_port):
    """Turn ``host``, ``host:port``, ``[v6]:port`` or a dict with host/port into an :class:`Endpoint`."""
    if isinstance(value, Endpoint):
        return value
    if isinstance(value, dict):
        host = value.get("host")
        port = value.get("port", default_port)
    else:
        text = str(value).strip()
        host, port = text, default_port
        if text.startswith("["):
            end = text.find("]")
            if end < 0:
                raise HaRedisError("Address %r is not valid: expected [ipv6]:port." % text)
            host = text[1:end]
            rest = text[end + 1:]
            if rest.startswith(":"):
                port = rest[1:]
        elif text.count(":") == 1:
            host, port = text.split(":", 1)
    if not host:
        raise HaRedisError("Address %r is not valid: expected host or host:port." % (value,))
    try:
        port = int(port)
    except (TypeError, ValueError):
        raise HaRedisError("Address %r is not valid: the port %r is not a number." % (value, port)) from None
    if not 0 < port < 65536:
        raise HaRedisError("Address %r is not valid: the port %d is outside 1-65535." % (value, port))
    return Endpoint(str(host), port)


def client_kwargs(settings):
    """redis-py keyword arguments for credentials, timeouts and TLS (shared by plain and Sentinel clients)."""
    kwargs = dict(
        username=settings.username,
        password=settings.password,
        socket_connect_timeout=settings.connect_timeout,
        socket_timeout=settings.command_timeout,
    )
    if settings.tls:
        kwargs.update(
            ssl=True,
            ssl_ca_certs=settings.ca_certs,
            ssl_certfile=settings.client_cert_file,
            ssl_keyfile=settings.client_key_file,
            ssl_cert_reqs="required" if settings.validate_certs else "none",
            ssl_check_hostname=False,
        )
    return kwargs


def _is_auth_error(exc):
    text = str(exc)
    return (isinstance(exc, redis.exceptions.AuthenticationError) or "WRONGPASS" in text or "NOAUTH" in text
            or "invalid password" in text or "without any password configured" in text)


def _authenticating(endpoint, settings):
    """redis-py ``redis_connect_func``: the usual handshake, then an auth error that names node and options.

    Without a password a PING is sent, so that a node that requires one says so here, on every redis-py version,
    and not as a bare NOAUTH reply to whatever command comes first.
    """
    def on_connect(connection):
        try:
            connection.on_connect()
            if settings.password is None:
                connection.send_command("PING")
                connection.read_response()
        except redis.exceptions.RedisError as exc:
            if not _is_auth_error(exc):
                raise
            error = redis.exceptions.AuthenticationError(settings.auth_failure(endpoint, exc))
            error.ha_redis_auth = True
            raise error from exc
    return on_connect


def connect(endpoint, settings):
    """Return a redis-py client for one node. It connects (and authenticates) at the first command."""
    if settings.unusable:
        raise HaRedisError(settings.unusable)
    return redis.Redis(
        host=endpoint.host,
        port=endpoint.port,
        decode_responses=True,
        # One attempt: callers poll against their own deadline and must see failures as they are.
        retry=Retry(NoBackoff(), 0),
        retry_on_timeout=False,
        redis_connect_func=_authenticating(endpoint, settings),
        **client_kwargs(settings)
    )


def run_parallel(func, items, max_workers=32):
    """Call ``func(item)`` for every item at once; return ``(result, error)`` pairs in item order.

    Errors are returned, not raised, so that one unreachable node never hides what the others said.
    """
    items = list(items)
    if not items:
        return []

    def guarded(item):
        try:
            return func(item), None
        except Exception as exc:  # noqa: BLE001 - reported per item to the caller
            return None, exc

    with ThreadPoolExecutor(max_workers=min(max_workers, len(items))) as pool:
        return list(pool.map(guarded, items))


class Deadline:
    """A monotonic deadline for polling loops (the wait_for model)."""

    def __init__(self, timeout):
        self.start = time.monotonic()
        self.end = self.start + max(0.0, float(timeout))

    def expired(self):
        return time.monotonic() >= self.end

    def remaining(self):
        return max(0.0, self.end - time.monotonic())

    def elapsed(self):
        return round(time.monotonic() - self.start, 3)
