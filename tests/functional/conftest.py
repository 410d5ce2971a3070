# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures for functional tests: real Redis/Sentinel processes and ways to run ha.redis modules.

Fixtures
    cluster              function scope, no passwords (2 replicas, 3 Sentinels, quorum 2)
    secured_cluster      function scope, data-node password + separate Sentinel password
    shared_cluster       module scope, no passwords: for read-only tests that do not disturb it
    shared_secured_cluster  module scope, with passwords
    run_module           run a module directly (python -m, ANSIBLE_MODULE_ARGS file): fast
    run_ansible          run a module through ``ansible localhost -m ha.redis.<module>``: the real path

Both runners return the module's result as a dict (``failed`` set on failure) and never raise on a module failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster import Cluster  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = REPO / ".venv" / "bin"
ANSIBLE = VENV_BIN / "ansible"
PYTHON = VENV_BIN / "python" if (VENV_BIN / "python").exists() else Path(sys.executable)
COLLECTIONS = REPO / ".collections"

DATA_PASSWORD = "data-s3cret"
SENTINEL_PASSWORD = "sentinel-s3cret"


def _make_cluster(workdir, **kwargs):
    cluster = Cluster(workdir, **kwargs)
    try:
        cluster.start()
    except BaseException:
        cluster.stop()
        raise
    return cluster


@pytest.fixture
def cluster(tmp_path):
    c = _make_cluster(tmp_path / "cluster")
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture
def secured_cluster(tmp_path):
    c = _make_cluster(tmp_path / "cluster", password=DATA_PASSWORD, sentinel_password=SENTINEL_PASSWORD)
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def shared_cluster(tmp_path_factory):
    c = _make_cluster(tmp_path_factory.mktemp("shared-cluster"))
    try:
        yield c
    finally:
        c.stop()


@pytest.fixture(scope="module")
def shared_secured_cluster(tmp_path_factory):
    c = _make_cluster(tmp_path_factory.mktemp("shared-secured-cluster"), password=DATA_PASSWORD,
                      sentinel_password=SENTINEL_PASSWORD)
    try:
        yield c
    finally:
        c.stop()


def _parse_module_output(stdout):
    """Modules print one JSON document; warnings or noise may surround it."""
    text = stdout.strip()
    try:
        return json.loads(text)
    except ValueError:
        # Decode from the first line that opens a JSON object; ignore whatever follows (e.g. profile_tasks).
        starts = [0] if text.startswith("{") else []
        starts += [i + 1 for i in range(len(text)) if text[i] == "\n" and text[i + 1:i + 2] == "{"]
        for start in starts:
            try:
                return json.JSONDecoder().raw_decode(text[start:])[0]
            except ValueError:
                continue
        raise ValueError("no JSON object in output")


def run_module_direct(module, args, tmp_path, check_mode=False, timeout=120):
    """Run ``plugins/modules/<module>.py`` in a subprocess with an ANSIBLE_MODULE_ARGS file; return its JSON."""
    module_args = dict(args)
    if check_mode:
        module_args["_ansible_check_mode"] = True
    args_file = Path(tmp_path) / ("%s-args-%d.json" % (module, os.getpid()))
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
    env = dict(os.environ, PYTHONPATH=str(COLLECTIONS))
    proc = subprocess.run(
        [str(PYTHON), "-m", "ansible_collections.ha.redis.plugins.modules.%s" % module, str(args_file)],
        capture_output=True, text=True, env=env, cwd=str(REPO), timeout=timeout,
    )
    try:
        result = _parse_module_output(proc.stdout)
    except ValueError:
        raise AssertionError("module %s printed no JSON (rc=%s)\nstdout:\n%s\nstderr:\n%s"
                             % (module, proc.returncode, proc.stdout, proc.stderr))
    result.setdefault("rc", proc.returncode)
    return result


def run_ansible_adhoc(module, args, check_mode=False, timeout=180):
    """Run ``ansible localhost -m ha.redis.<module> -a <json>`` from the checkout; return the host's result."""
    cmd = [str(ANSIBLE), "localhost", "-i", "localhost,", "-c", "local",
           "-e", "ansible_python_interpreter=%s" % PYTHON,
           "-m", "ha.redis.%s" % module, "-a", json.dumps(args)]
    if check_mode:
        cmd.append("--check")
    env = dict(os.environ,
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_NOCOLOR="1",
               ANSIBLE_FORCE_COLOR="0")
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(REPO), timeout=timeout)
    try:
        doc = _parse_module_output(proc.stdout)
        result = doc["plays"][0]["tasks"][0]["hosts"]["localhost"]
    except (ValueError, KeyError, IndexError):
        raise AssertionError("ansible printed no usable JSON (rc=%s)\nstdout:\n%s\nstderr:\n%s"
                             % (proc.returncode, proc.stdout, proc.stderr))
    result.setdefault("rc", proc.returncode)
    return result


@pytest.fixture
def run_module(tmp_path):
    """``run_module(name, args, check_mode=False)``: run a module directly (fast path)."""
    def runner(module, args, check_mode=False, timeout=120):
        return run_module_direct(module, args, tmp_path, check_mode=check_mode, timeout=timeout)
    return runner


@pytest.fixture
def run_ansible():
    """``run_ansible(name, args, check_mode=False)``: run a module via ``ansible localhost -m ha.redis.<name>``."""
    return run_ansible_adhoc
