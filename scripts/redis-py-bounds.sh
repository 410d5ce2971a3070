#!/usr/bin/env bash
# The functional tests with the lowest and the highest redis-py that requirements.txt allows (Debian 12's 4.3.4,
# and 8.1.0). The modules run directly with that redis-py first on their path (HA_REDIS_MODULE_PYTHONPATH); the
# test harness keeps the virtualenv's. Extra arguments go to pytest.
# By default a subset of the tests that run the modules directly, one or two files per way the modules use
# redis-py (Sentinel commands, data-node commands and ACLs, connection options, Redis Cluster): the stage of
# `make test` stays a few minutes (all 14 files of direct module runs took 6 min 45 s per version).
# REDIS_PY_TESTS=tests/functional runs everything.
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a tests <<<"${REDIS_PY_TESTS:-$(echo tests/functional/test_{sentinel_info,sentinel_monitor,redis_acl,redis_config,redis_replication,connection_options,cluster_check}.py)}"
for version in ${REDIS_PY_VERSIONS:-4.3.4 8.1.0}; do
  dir=$PWD/.cache/redis-py-$version
  [ -d "$dir/redis" ] || .venv/bin/pip install -q --disable-pip-version-check --target "$dir" "redis==$version"
  echo "==> redis-py $version"
  HA_REDIS_MODULE_PYTHONPATH=$dir .venv/bin/pytest -q -n "${PYTEST_WORKERS:-2}" "${tests[@]}" "$@"
done
