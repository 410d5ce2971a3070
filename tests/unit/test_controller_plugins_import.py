"""The filter and lookup plugins run in every Ansible worker that templates them, imported afresh each time: they
must not import redis-py (60 ms per task; see module_utils/_common.py)."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PLUGINS = sorted("ansible_collections.ha.redis.plugins.%s.%s" % (path.parent.name, path.stem)
                 for kind in ("filter", "lookup") for path in (ROOT / "plugins" / kind).glob("*.py"))


@pytest.mark.parametrize("plugin", PLUGINS)
def test_plugin_does_not_import_redis_py(plugin):
    code = "import sys, %s; print('redis' in sys.modules)" % plugin
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT / ".collections", capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False", "%s imports redis-py" % plugin
