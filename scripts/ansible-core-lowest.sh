#!/usr/bin/env bash
# The lowest ansible-core that requirements.txt and meta/runtime.yml claim, in a virtualenv of its own
# (.cache/venv-ansible-core-<version>, made on the first run; the `ansible` package of the same series brings
# ansible.posix, whose json and profile_tasks callbacks the tests and ansible.cfg use on that core):
# ansible-doc of every module, filter, lookup and role, the unit tests, and the functional tests that go through
# ansible-playbook (every module's EXAMPLES from the installed tarball, the roles used alone, the filters).
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
version=${ANSIBLE_CORE_LOWEST:-2.17}
declare -A ansible_series=([2.17]=10 [2.18]=11 [2.19]=12)
venv=$PWD/.cache/venv-ansible-core-$version
if ! [ -x "$venv/bin/ansible-playbook" ]; then
  python3 -m venv "$venv"
  series=${ansible_series[$version]}
  "$venv/bin/pip" install -q --disable-pip-version-check "ansible-core==$version.*" "ansible==$series.*" \
    "redis>=5,<7" "pytest>=8,<10" "pytest-xdist>=3.5,<4"
fi
export PATH=$venv/bin:$PATH ANSIBLE_CONFIG=$PWD/ansible.cfg HA_REDIS_VENV_BIN=$venv/bin ANSIBLE_DEPRECATION_WARNINGS=false
ansible --version | sed -n 1p
fail=0
doc() {
  if ! out=$(ansible-doc "$@" 2>&1) || [[ $out == *"[WARNING]"* || $out == *ERROR* ]]; then
    echo "ansible-doc $*: $out" >&2
    fail=1
  fi
}
for path in plugins/modules/*.py; do doc "ha.redis.$(basename "$path" .py)"; done
for kind in filter lookup; do
  for name in $(ansible-doc -t "$kind" -l ha.redis 2>/dev/null | awk '/^ha\.redis\./ {print $1}'); do doc -t "$kind" "$name"; done
done
for path in roles/*/; do doc -t role "ha.redis.$(basename "$path")"; done
[ $fail -eq 0 ] || exit 1
echo "ansible-doc: every module, filter, lookup and role"
pytest -q tests/unit
pytest -q -n "${PYTEST_WORKERS:-2}" tests/functional/test_module_examples.py tests/functional/test_roles_alone.py \
  tests/functional/test_topology_filters.py "$@"
