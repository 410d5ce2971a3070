# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_files._write: through atomic_move, new content is never more open than its final mode, not even for a moment."""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[4] / ".collections"))

from ansible.module_utils import basic  # noqa: E402
from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.ha.redis.plugins.modules import node_files  # noqa: E402

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19 (scripts/ansible-core-lowest.sh): the arguments as AnsibleModule reads them
    @contextlib.contextmanager
    def patch_module_args(args):
        saved = basic._ANSIBLE_ARGS
        basic._ANSIBLE_ARGS = json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()
        try:
            yield
        finally:
            basic._ANSIBLE_ARGS = saved


@pytest.fixture
def module():
    with patch_module_args({"unsafe_writes": False}):
        return AnsibleModule(argument_spec=dict(unsafe_writes=dict(type="bool", default=False)))


@pytest.fixture
def modes_seen(monkeypatch):
    """Record the mode of every watched path after each rename, chmod and chown anywhere in the process."""
    watched, seen = [], []

    def spy(name):
        original = getattr(os, name)

        def wrapper(*args, **kwargs):
            result = original(*args, **kwargs)
            for path in watched:
                if os.path.lexists(path):
                    seen.append((name, stat.S_IMODE(os.lstat(path).st_mode), Path(path).read_bytes()))
            return result
        monkeypatch.setattr(os, name, wrapper)

    for name in ("rename", "chmod", "chown", "replace"):
        spy(name)
    return watched, seen


@pytest.mark.parametrize("old_mode", [None, 0o644, 0o600])
def test_never_more_open_than_the_final_mode(module, modes_seen, tmp_path, old_mode):
    watched, seen = modes_seen
    dest = tmp_path / "users.acl"
    watched.append(str(dest))
    if old_mode is not None:
        dest.write_bytes(b"user old on >old\n")
        os.chmod(dest, old_mode)
        seen.clear()
    node_files._write(module, str(dest), b"user admin on >secret\n", dict(owner=None, group=None, mode="0640"))
    assert dest.read_bytes() == b"user admin on >secret\n" and stat.S_IMODE(dest.stat().st_mode) == 0o640
    new = [(operation, mode) for operation, mode, content in seen if content == b"user admin on >secret\n"]
    assert new, "the spy saw no operation on %s" % dest
    for operation, mode in new:
        assert mode & ~0o640 == 0, "after %s, %s held the new content with mode %o" % (operation, dest, mode)
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".ha-redis-")]
