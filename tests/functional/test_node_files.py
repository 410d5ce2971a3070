# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ha.redis.node_files on the real file system (a temporary directory): check / apply / repeat, seeding,
attribute drift, links, and failures before any write."""

from __future__ import annotations

import os
import stat

ANSIBLE_KEYS = {"invocation", "rc", "warnings", "deprecations", "action", "_ansible_no_log", "failed", "msg"}
RETURN_KEYS = {"changed", "directories", "links", "files", "changed_paths", "diff"}


def _mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


def _layout(base):
    conf_d = str(base / "redis-main.d")
    return dict(
        directories=[{"path": conf_d, "mode": "0750"}, {"path": str(base / "data"), "mode": "0700"}],
        links=[{"path": str(base / "redis-server.service"), "src": "/dev/null"}],
        files=[
            {"dest": conf_d + "/ansible.conf", "content": "port 6379\nbind 127.0.0.1\n", "mode": "0640"},
            {"dest": str(base / "redis-main.conf"), "content": "include %s/ansible.conf\n" % conf_d,
             "mode": "0640", "force": False},
        ],
    )


def test_check_apply_repeat(run_module, tmp_path):
    base = tmp_path / "etc"
    base.mkdir()
    args = _layout(base)

    check = run_module("node_files", dict(args, _ansible_diff=True), check_mode=True)
    assert check["changed"] is True and not check.get("failed"), check
    assert set(check) - ANSIBLE_KEYS <= RETURN_KEYS
    assert len(check["changed_paths"]) == 5
    assert os.listdir(base) == [], "check mode wrote something"
    assert any(d.get("after") == "port 6379\nbind 127.0.0.1\n" for d in check["diff"])

    applied = run_module("node_files", args)
    assert applied["changed"] is True, applied
    assert [f["action"] for f in applied["files"]] == ["create", "create"]
    assert (base / "redis-main.d" / "ansible.conf").read_text() == "port 6379\nbind 127.0.0.1\n"
    assert _mode(base / "redis-main.d" / "ansible.conf") == 0o640
    assert _mode(base / "redis-main.d") == 0o750 and _mode(base / "data") == 0o700
    assert os.readlink(base / "redis-server.service") == "/dev/null"
    assert not [name for name in os.listdir(base / "redis-main.d") if name.startswith(".ha-redis-")]

    repeat = run_module("node_files", args)
    assert repeat["changed"] is False and repeat["changed_paths"] == [], repeat
    assert {f["action"] for f in repeat["files"]} == {"keep"}


def test_replace_seed_and_drift(run_module, tmp_path):
    base = tmp_path / "etc"
    base.mkdir()
    args = _layout(base)
    run_module("node_files", args)
    seed = base / "redis-main.conf"
    owned = base / "redis-main.d" / "ansible.conf"
    # The service rewrote its own file, and somebody loosened the mode of ours.
    seed.write_text("include x\nreplicaof 10.0.0.9 6379\n")
    os.chmod(seed, 0o600)
    os.chmod(owned, 0o644)

    drift = run_module("node_files", dict(args, _ansible_diff=True))
    assert drift["changed"] is True
    assert drift["changed_paths"] == [str(owned)]
    assert seed.read_text() == "include x\nreplicaof 10.0.0.9 6379\n" and _mode(seed) == 0o600
    assert _mode(owned) == 0o640
    assert any(d.get("before", {}).get("mode") == "0644" for d in drift["diff"] if isinstance(d.get("before"), dict))

    args["files"][0]["content"] = "port 6380\n"
    replaced = run_module("node_files", dict(args, _ansible_diff=True))
    assert replaced["files"][0]["action"] == "replace" and replaced["changed"] is True
    assert owned.read_text() == "port 6380\n" and _mode(owned) == 0o640
    text_diff = [d for d in replaced["diff"] if d.get("before_header") == str(owned)][0]
    assert text_diff["before"].startswith("port 6379") and text_diff["after"] == "port 6380\n"


def test_link_replaces_a_file(run_module, tmp_path):
    unit = tmp_path / "redis-server.service"
    unit.write_text("[Unit]\n")
    result = run_module("node_files", {"links": [{"path": str(unit), "src": "/dev/null"}]})
    assert result["changed"] is True and result["links"][0]["action"] == "replace"
    assert os.readlink(unit) == "/dev/null"
    assert run_module("node_files", {"links": [{"path": str(unit), "src": "/dev/null"}]})["changed"] is False


def test_wrong_type_fails_before_any_write(run_module, tmp_path):
    (tmp_path / "ansible.conf").mkdir()  # a directory where a file is wanted
    args = {"directories": [{"path": str(tmp_path / "new")}],
            "files": [{"dest": str(tmp_path / "first.conf"), "content": "x\n"},
                      {"dest": str(tmp_path / "ansible.conf"), "content": "y\n"}]}
    result = run_module("node_files", args)
    assert result["failed"] is True
    assert "ansible.conf exists and is not a regular file" in result["msg"]
    assert not (tmp_path / "new").exists() and not (tmp_path / "first.conf").exists()


def test_missing_parent_is_named(run_module, tmp_path):
    dest = str(tmp_path / "absent" / "ansible.conf")
    result = run_module("node_files", {"files": [{"dest": dest, "content": "x\n"}]})
    assert result["failed"] is True
    assert result["msg"] == "The directory of %s does not exist and is not in directories." % dest


def test_check_mode_with_directories_of_an_earlier_task(run_module, tmp_path):
    """A first deploy in check mode: one call would create the directories (in check mode it does not), the next
    writes files into them. The second call reports the files it would create instead of failing."""
    conf_d = tmp_path / "etc" / "redis-main.d"
    dirs = run_module("node_files", {"directories": [{"path": str(tmp_path / "etc")}, {"path": str(conf_d)}]},
                      check_mode=True)
    assert dirs["changed"] is True and not dirs.get("failed"), dirs
    files = {"files": [{"dest": str(conf_d / "ansible.conf"), "content": "port 6379\n", "mode": "0640"}]}
    check = run_module("node_files", dict(files, _ansible_diff=True), check_mode=True)
    assert not check.get("failed"), check
    assert check["changed"] is True and [f["action"] for f in check["files"]] == ["create"]
    assert check["diff"][0]["after"] == "port 6379\n"
    assert not (tmp_path / "etc").exists(), "check mode wrote something"


def test_through_ansible(run_ansible, tmp_path):
    dest = tmp_path / "a.conf"
    args = {"files": [{"dest": str(dest), "content": "a 1\n", "mode": "0600"}]}
    first = run_ansible("node_files", args)
    assert first["changed"] is True and dest.read_text() == "a 1\n" and _mode(dest) == 0o600
    assert run_ansible("node_files", args)["changed"] is False
