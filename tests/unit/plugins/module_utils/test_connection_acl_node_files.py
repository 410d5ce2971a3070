# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure parts of _connection.py (parse_endpoint and friends), _acl.py and _node_files.py."""

from __future__ import annotations

import hashlib

import pytest
from ansible_collections.ha.redis.plugins.module_utils import _acl as acl
from ansible_collections.ha.redis.plugins.module_utils import _node_files as nf
from ansible_collections.ha.redis.plugins.module_utils._connection import (
    ConnectionSettings,
    Endpoint,
    HaRedisError,
    client_kwargs,
    pairs_to_dict,
    parse_endpoint,
)


# --- parse_endpoint ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value, host, port", [
    ("10.0.0.1", "10.0.0.1", 6379),
    ("10.0.0.1:6380", "10.0.0.1", 6380),
    (" redis-1:7000 ", "redis-1", 7000),
    ("[fd00::1]:6380", "fd00::1", 6380),
    ("[fd00::1]", "fd00::1", 6379),
    ("fd00::1", "fd00::1", 6379),  # more than one colon and no brackets: all host
    ({"host": "10.0.0.2"}, "10.0.0.2", 6379),
    ({"host": "10.0.0.2", "port": "6381"}, "10.0.0.2", 6381),
    (Endpoint("h", 1), "h", 1),
])
def test_parse_endpoint(value, host, port):
    assert parse_endpoint(value, 6379) == Endpoint(host, port)


@pytest.mark.parametrize("value, message", [
    ("[fd00::1:6379", r"expected \[ipv6\]:port"),
    (":6379", "expected host or host:port"),
    ({"port": 1}, "expected host or host:port"),
    ("h:port", "the port 'port' is not a number"),
    ("h:0", "the port 0 is outside 1-65535"),
    ("h:65536", "the port 65536 is outside 1-65535"),
])
def test_parse_endpoint_rejects(value, message):
    with pytest.raises(HaRedisError, match=message):
        parse_endpoint(value, 6379)


def test_endpoint_text_brackets_ipv6():
    assert str(Endpoint("10.0.0.1", 6379)) == "10.0.0.1:6379"
    assert str(Endpoint("fd00::1", 6379)) == "[fd00::1]:6379"


def test_pairs_to_dict_decodes_bytes():
    assert pairs_to_dict([b"ip", b"10.0.0.1", "port", 6379]) == {"ip": "10.0.0.1", "port": 6379}
    assert pairs_to_dict({b"a": b"b"}) == {"a": "b"}
    assert pairs_to_dict(None) == {}


def test_settings_by_kind_and_tls_kwargs(tmp_path):
    ca = tmp_path / "ca.crt"
    ca.write_text("not read here\n")
    params = dict(login_user="admin", login_password="p1", sentinel_user="", sentinel_password="p2", tls=True,
                  validate_certs=False, ca_certs=str(ca), client_cert_file=None, client_key_file=None,
                  connect_timeout=None, command_timeout=3)
    data, sentinel = ConnectionSettings.from_params(params), ConnectionSettings.from_params(params, "sentinel")
    assert (data.username, data.password, sentinel.username, sentinel.password) == ("admin", "p1", None, "p2")
    assert data.connect_timeout == 1.0 and data.command_timeout == 3.0
    kwargs = client_kwargs(data)
    assert kwargs["ssl"] is True and kwargs["ssl_cert_reqs"] == "none" and kwargs["ssl_ca_certs"] == str(ca)
    assert "ssl" not in client_kwargs(ConnectionSettings())


# --- _acl ----------------------------------------------------------------------------------------------------------
def sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def test_parse_acl_lines_reads_identity_only():
    users = acl.parse_acl_lines([
        "# comment", "",
        "user default on nopass ~* +@all",
        "user app on >secret #%s ~app:* +@read" % ("AB" * 32),
        "user old off >x resetpass >y",
        "user gone on >a >b <a",
    ])
    assert users["default"] == {"on": True, "hashes": {"nopass"}}
    assert users["app"] == {"on": True, "hashes": {sha("secret"), "ab" * 32}}
    assert users["old"] == {"on": False, "hashes": {sha("y")}}
    assert users["gone"]["hashes"] == {sha("b")}


def test_parse_acl_lines_masks_secrets_in_errors():
    with pytest.raises(HaRedisError) as raised:
        acl.parse_acl_lines(["usr app on >secret"])
    assert "secret" not in str(raised.value) and "********" in str(raised.value)


def test_fingerprint_and_differences():
    wanted = acl.parse_acl_lines(["user a on >p1", "user b on nopass"])
    running = acl.parse_acl_lines(["user a on >p2", "user b on nopass", "user c on >p"])
    assert acl.acl_fingerprint(wanted) == {
        "a": {"enabled": True, "passwords": 1, "nopass": False},
        "b": {"enabled": True, "passwords": 0, "nopass": True},
    }
    assert acl.acl_differences(wanted, running) == ["a", "c"]
    assert acl.acl_differences(wanted, wanted) == []


class PeerClient:
    def __init__(self, replies):
        self.replies = replies

    def execute_command(self, *args):
        reply = self.replies[args[-1]]
        if isinstance(reply, Exception):
            raise reply
        return reply


def test_read_peer_auth_reply_shapes():
    client = PeerClient({"sentinel-user": ["sentinel-user", b"peer"], "sentinel-pass": {"sentinel-pass": "pw"}})
    assert acl.read_peer_auth(client) == ("peer", "pw")
    assert acl.read_peer_auth(PeerClient({"sentinel-user": [], "sentinel-pass": None})) == ("", "")
    with pytest.raises(HaRedisError, match="Cannot read sentinel-user from the Sentinel"):
        acl.read_peer_auth(PeerClient({"sentinel-user": RuntimeError("no"), "sentinel-pass": []}))


# --- _node_files ---------------------------------------------------------------------------------------------------
def test_plan_directory(tmp_path):
    (tmp_path / "file").write_text("x")
    assert nf.plan_directory(str(tmp_path / "new")) == nf.CREATE
    assert nf.plan_directory(str(tmp_path)) == nf.KEEP
    with pytest.raises(ValueError, match="exists and is not a directory"):
        nf.plan_directory(str(tmp_path / "file"))
    (tmp_path / "link").symlink_to(tmp_path)
    with pytest.raises(ValueError, match="is not a directory"):
        nf.plan_directory(str(tmp_path / "link"))


def test_plan_link(tmp_path):
    (tmp_path / "ok").symlink_to("/etc/redis/a.conf")
    (tmp_path / "other").symlink_to("/etc/redis/b.conf")
    (tmp_path / "file").write_text("x")
    (tmp_path / "dir").mkdir()
    assert nf.plan_link(str(tmp_path / "new"), "/etc/redis/a.conf") == nf.CREATE
    assert nf.plan_link(str(tmp_path / "ok"), "/etc/redis/a.conf") == nf.KEEP
    assert nf.plan_link(str(tmp_path / "other"), "/etc/redis/a.conf") == nf.REPLACE
    assert nf.plan_link(str(tmp_path / "file"), "/etc/redis/a.conf") == nf.REPLACE
    with pytest.raises(ValueError, match="is a directory; a link to /etc/redis/a.conf cannot replace it"):
        nf.plan_link(str(tmp_path / "dir"), "/etc/redis/a.conf")


def test_read_current(tmp_path):
    (tmp_path / "f").write_bytes(b"port 6379\n")
    (tmp_path / "l").symlink_to(tmp_path / "f")
    assert nf.read_current(str(tmp_path / "f")) == b"port 6379\n"
    assert nf.read_current(str(tmp_path / "none")) is None
    for name in ("l", "."):
        with pytest.raises(ValueError, match="is not a regular file"):
            nf.read_current(str(tmp_path / name))


@pytest.mark.parametrize("current, wanted, force, action", [
    (None, b"a", True, nf.CREATE),
    (None, b"a", False, nf.CREATE),
    (b"a", b"a", True, nf.KEEP),
    (b"a", b"b", True, nf.REPLACE),
    (b"a", b"b", False, nf.KEEP),  # seeded once: the service owns it now
])
def test_plan_file(current, wanted, force, action):
    assert nf.plan_file(current, wanted, force) == action


def test_text_for_diff():
    assert nf.text_for_diff(None) == ""
    assert nf.text_for_diff("é\n".encode()) == "é\n"
    assert nf.text_for_diff(b"\xff\xfe") == "(binary data, 2 bytes)\n"
