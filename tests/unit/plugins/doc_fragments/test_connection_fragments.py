# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The connection doc fragments: each part matches its spec helper, and the modules extend the parts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / ".collections"))

from ansible_collections.ha.redis.plugins.doc_fragments.connection import ModuleDocFragment  # noqa: E402
from ansible_collections.ha.redis.plugins.module_utils import _cluster_ops, _connection  # noqa: E402

PARTS = {
    "TRANSPORT": _connection.transport_options(),
    "DATA_CREDENTIALS": _connection.credential_options("redis"),
    "SENTINEL_CREDENTIALS": _connection.credential_options("sentinel"),
    "CLUSTER_NODES": {"nodes": _cluster_ops.cluster_argument_spec()["nodes"]},
}


def fragment(name):
    return yaml.safe_load(getattr(ModuleDocFragment, name))


def test_every_module_documents_the_parts_its_spec_takes():
    """A module that takes data-node or Sentinel credentials extends that part (and TRANSPORT always)."""
    modules = Path(__file__).resolve().parents[4] / "plugins" / "modules"
    for path in sorted(modules.glob("*.py")):
        text = path.read_text()
        if "connection_argument_spec(" not in text and "node_argument_spec(" not in text:
            continue
        assert "ha.redis.connection.transport" in text, path.name
        assert "  - ha.redis.connection\n" not in text, path.name


@pytest.mark.parametrize("name", sorted(PARTS))
def test_each_part_matches_its_spec(name):
    options, spec = fragment(name)["options"], PARTS[name]
    assert set(options) == set(spec)
    for option, arg in spec.items():
        doc = options[option]
        assert doc["type"] == arg["type"], option
        assert doc.get("default") == arg.get("default"), option
        assert sorted(doc.get("aliases", [])) == sorted(arg.get("aliases", [])), option
        assert arg.get("no_log", False) == ("password" in option), option


@pytest.mark.parametrize("kind, port, absent", [("redis", 6379, "sentinel_password"),
                                                ("sentinel", 26379, "login_password")])
def test_a_one_node_module_takes_only_the_credentials_of_its_node(kind, port, absent):
    spec = _connection.node_argument_spec(kind)
    assert spec["login_port"]["default"] == port
    assert absent not in spec and _connection.CREDENTIAL_OPTIONS[kind][1] in spec


@pytest.mark.parametrize("params, text", [
    (dict(connect_timeout=0), "Option connect_timeout is 0, expected a number of seconds above 0."),
    (dict(command_timeout=-1.5), "Option command_timeout is -1.5, expected"),
    (dict(ca_certs="/etc/ssl/certs/ca-certificates.crt"), "Option ca_certs is set but tls is false"),
    (dict(tls=True, ca_certs="/nonexistent/ca.crt"),
     "The TLS file /nonexistent/ca.crt (option ca_certs) does not exist or is not a file."),
])
def test_settings_refuse_what_would_be_ignored_or_misreported(params, text):
    with pytest.raises(_connection.HaRedisError) as info:
        _connection.ConnectionSettings.from_params(params)
    assert text in str(info.value)


@pytest.mark.parametrize("kind, settings, reply, text", [
    ("sentinel", dict(password="x"), "WRONGPASS invalid username-password pair",
     "authentication to the Sentinel at 10.0.0.1:26379 failed: it refused the password of option sentinel_password"
     " (user default) (WRONGPASS invalid username-password pair)"),
    ("redis", dict(username="admin", password="x"), "WRONGPASS invalid username-password pair",
     "it refused user admin (option login_user) with the password of option login_password"),
    ("redis", dict(), "NOAUTH Authentication required.",
     "authentication to the data node at 10.0.0.1:26379 failed: it requires a password and option login_password "
     "is not set"),
    ("sentinel", dict(password="x"), "ERR AUTH <password> called without any password configured",
     "option sentinel_password is set but the Sentinel has no password"),
])
def test_auth_failure_names_node_and_options(kind, settings, reply, text):
    endpoint = _connection.Endpoint("10.0.0.1", 26379)
    message = _connection.ConnectionSettings(kind=kind, **settings).auth_failure(endpoint, reply)
    assert text in message
