# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ha.redis.redis_acl against a real redis-server and redis-sentinel started with an aclfile."""

from __future__ import annotations

import hashlib
import json

import pytest
import redis
from cluster import Node, free_port

ADMIN_PW = "admin-pw-1"
ANSIBLE_KEYS = {"invocation", "rc", "warnings", "deprecations", "action", "_ansible_no_log", "failed", "msg"}
RETURN_KEYS = {"changed", "users", "differs", "commands"}


def _sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def _acl(path, repl_passwords, admin_passwords=(ADMIN_PW,)):
    lines = ["user default off",
             "user admin on %s ~* &* +@all" % " ".join("#" + _sha(p) for p in admin_passwords),
             "user replication on %s -@all +psync +replconf +ping" % " ".join(">" + p for p in repl_passwords)]
    path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def acl_node(tmp_path):
    acl = tmp_path / "users.acl"
    _acl(acl, ["repl-1"])
    port = free_port()
    node = Node("redis", tmp_path / "redis", port, "port %d\nbind 127.0.0.1\naclfile %s\nsave \"\"\n" % (port, acl))

    def admin_client(password=ADMIN_PW, **kw):
        return redis.Redis(host=node.host, port=node.port, username="admin", password=password,
                           decode_responses=True, **kw)
    node.client = admin_client
    node.start()
    yield node, acl
    node.stop()


def test_load_when_passwords_change_then_repeat(acl_node, run_module):
    node, acl = acl_node
    args = dict(login_port=node.port, login_user="admin", login_password=ADMIN_PW, acl_file=str(acl))

    result = run_module("redis_acl", args)
    assert result["changed"] is False, result
    assert result["differs"] == [] and result["commands"] == []
    assert set(result) - ANSIBLE_KEYS <= RETURN_KEYS
    assert result["users"]["replication"] == {"enabled": True, "passwords": 1, "nopass": False}

    # Rotation step: the replication user accepts a second password.
    _acl(acl, ["repl-2", "repl-1"])
    result = run_module("redis_acl", args, check_mode=True)
    assert result["changed"] is True and result["differs"] == ["replication"], result
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=node.port, username="replication", password="repl-2").ping()

    result = run_module("redis_acl", args)
    assert result["changed"] is True and result["commands"] == ["ACL LOAD"], result
    assert redis.Redis(port=node.port, username="replication", password="repl-2").ping()
    assert redis.Redis(port=node.port, username="replication", password="repl-1").ping()
    assert run_module("redis_acl", args)["changed"] is False

    # Nothing secret in what the module returns.
    text = json.dumps(result)
    for secret in ("repl-1", "repl-2", ADMIN_PW, _sha("repl-1")):
        assert secret not in text

    # force reloads even when identities match.
    assert run_module("redis_acl", dict(args, force=True))["commands"] == ["ACL LOAD"]


def test_replication_user_is_limited(acl_node):
    node, _acl_path = acl_node
    repl = redis.Redis(port=node.port, username="replication", password="repl-1")
    assert repl.ping()
    for command in (("FLUSHALL",), ("CONFIG", "GET", "maxmemory"), ("SET", "k", "v")):
        with pytest.raises(redis.exceptions.NoPermissionError):
            repl.execute_command(*command)
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=node.port).ping()


def test_broken_file_keeps_users_and_fails_clearly(acl_node, run_module):
    node, acl = acl_node
    acl.write_text(acl.read_text() + "user broken on >x +nosuchcommand\n")
    result = run_module("redis_acl", dict(login_port=node.port, login_user="admin", login_password=ADMIN_PW,
                                          acl_file=str(acl), force=True))
    assert result.get("failed") is True
    assert result["msg"].startswith("ACL LOAD failed; the server keeps its previous users"), result["msg"]
    assert "Traceback" not in json.dumps(result)
    assert node.client().ping()


def test_wrong_password_is_a_clear_error(acl_node, run_module):
    node, acl = acl_node
    result = run_module("redis_acl", dict(login_port=node.port, login_user="admin", login_password="nope",
                                          acl_file=str(acl)))
    assert result.get("failed") is True
    assert ("authentication to the data node at %s failed: it refused user admin (option login_user) with the "
            "password of option login_password" % node.address) in result["msg"], result["msg"]
    assert "nope" not in json.dumps(result)


def test_sentinel_acl_and_peer_password(tmp_path, run_module):
    acl = tmp_path / "sentinel.acl"
    acl.write_text("user default off\nuser sadmin on >s-pw-1 ~* &* +@all\n")
    port = free_port()
    node = Node("sentinel", tmp_path / "sentinel", port,
                "port %d\nbind 127.0.0.1\naclfile %s\nsentinel sentinel-user sadmin\nsentinel sentinel-pass s-pw-1\n"
                % (port, acl))

    def admin_client(password="s-pw-1", **kw):
        return redis.Redis(host=node.host, port=node.port, username="sadmin", password=password,
                           decode_responses=True, **kw)
    node.client = admin_client
    node.start()
    try:
        acl.write_text("user default off\nuser sadmin on >s-pw-2 >s-pw-1 ~* &* +@all\n")
        args = dict(node_type="sentinel", login_port=port, sentinel_user="sadmin", sentinel_password="s-pw-1",
                    acl_file=str(acl), peer_user="sadmin", peer_password="s-pw-2")
        result = run_module("redis_acl", args)
        assert result["changed"] is True, result
        assert result["commands"] == ["ACL LOAD", "SENTINEL CONFIG SET sentinel-pass ********"]
        assert node.client().execute_command("SENTINEL", "CONFIG", "GET", "sentinel-pass")[1] == "s-pw-2"
        assert "s-pw-2" in node.config_path.read_text()  # persisted by the Sentinel itself
        assert run_module("redis_acl", dict(args, sentinel_password="s-pw-2"))["changed"] is False
    finally:
        node.stop()


@pytest.fixture
def two_acl_nodes(tmp_path):
    """Two instances of one host started from the same ACL file (as roles/server runs them)."""
    acl = tmp_path / "users.acl"
    _acl(acl, ["repl-1"])
    nodes = []
    for label in ("one", "two"):
        port = free_port()
        node = Node("redis", tmp_path / label, port, "port %d\nbind 127.0.0.1\naclfile %s\nsave \"\"\n" % (port, acl))
        node.client = lambda password=ADMIN_PW, _node=node, **kw: redis.Redis(
            host=_node.host, port=_node.port, username="admin", password=password, decode_responses=True, **kw)
        nodes.append(node.start())
    yield nodes, acl
    for node in nodes:
        node.stop()


def test_instances_in_one_run_check_load_repeat_and_an_unreachable_entry(two_acl_nodes, run_module, run_ansible):
    (one, two), acl = two_acl_nodes
    _acl(acl, ["repl-2", "repl-1"])
    one.client().execute_command("ACL", "LOAD")  # "one" has the new users already, "two" not
    args = dict(login_user="admin", login_password=ADMIN_PW, acl_file=str(acl),
                instances=[dict(name="one", login_port=one.port), dict(name="two", login_port=two.port)])

    result = run_module("redis_acl", args, check_mode=True)
    assert result["changed"] is True, result
    assert result["instances"] == {"one": {"changed": False, "differs": [], "commands": []},
                                   "two": {"changed": True, "differs": ["replication"], "commands": ["ACL LOAD"]}}
    with pytest.raises(redis.exceptions.AuthenticationError):
        redis.Redis(port=two.port, username="replication", password="repl-2").ping()

    result = run_ansible("redis_acl", args)
    assert result["changed"] is True, result
    assert set(result) - ANSIBLE_KEYS <= {"changed", "users", "instances"}
    assert result["instances"]["two"]["commands"] == ["ACL LOAD"] and result["instances"]["one"]["changed"] is False
    assert redis.Redis(port=two.port, username="replication", password="repl-2").ping()
    for secret in ("repl-1", "repl-2", ADMIN_PW):
        assert secret not in json.dumps({k: v for k, v in result.items() if k != "invocation"})
    assert run_module("redis_acl", args)["changed"] is False

    # force reloads each instance; an instance that does not answer is named, the others are still loaded.
    gone = free_port()
    result = run_module("redis_acl", dict(args, force=True, instances=args["instances"] + [
        dict(name="gone", login_port=gone)]))
    assert result["failed"] is True and result["changed"] is True, result
    assert result["msg"].startswith("1 of 3 instances failed (instance gone: "), result["msg"]
    assert "cannot connect" in result["msg"] and str(gone) in result["msg"]
    assert [result["instances"][n]["commands"] for n in ("one", "two")] == [["ACL LOAD"], ["ACL LOAD"]]
