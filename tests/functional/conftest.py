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
    installed_collection session scope: the built tarball installed in a temporary collections path

Both runners return the module's result as a dict (``failed`` set on failure) and never raise on a module failure.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster import (  # noqa: E402
    DATA_PASSWORD,
    SENTINEL_PASSWORD,
    Cluster,
    install_collection,
    run_ansible_adhoc,
    run_module_direct,
)


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


@pytest.fixture(scope="session")
def installed_collection(tmp_path_factory):
    """The collections path where the tarball built from the checkout is installed (once per test process)."""
    return install_collection(tmp_path_factory.mktemp("installed"))
