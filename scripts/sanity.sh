#!/usr/bin/env bash
# ansible-test sanity on a copy of the checkout laid out as ansible_collections/ha/redis.
set -euo pipefail
cd "$(dirname "$0")/.."
# A venv of its own with the exact tool versions ansible-test pins (pylint, pycodestyle, yamllint, ...).
if [ ! -x .venv-sanity/bin/ansible-test ]; then
  python3 -m venv .venv-sanity
  core=$(.venv/bin/python -c 'import ansible.release as r; print(r.__version__)')
  .venv-sanity/bin/pip install -q "ansible-core==$core" redis
  req=$(.venv-sanity/bin/python -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_data/requirements
  mapfile -t pins < <(cat "$req"/sanity.*.txt | grep -v '^#' | sort -u)
  .venv-sanity/bin/pip install -q "${pins[@]}"
fi
root=$PWD/build/sanity
dest=$root/ansible_collections/ha/redis
rm -rf "$root"
mkdir -p "$dest"
# Only what git tracks or would track (untracked but not ignored), like the built collection.
git ls-files -co --exclude-standard -z | rsync -a --from0 --files-from=- ./ "$dest/"
cd "$dest"
# ansible-test bootstraps pip in its venvs with a script it downloads; where that host is unreachable, use ensurepip.
ver=$("$OLDPWD/.venv-sanity/bin/python" -c 'from ansible_test._internal.python_requirements import get_venv_packages as g
from ansible_test._internal.host_configs import NativePythonConfig as c
print(g(c(version="3.11"))["pip"].replace(".", "_"))')
mkdir -p ~/.ansible/test/cache
[ -f ~/.ansible/test/cache/get_pip_"$ver".py ] || cp "$OLDPWD/scripts/get_pip_offline.py" ~/.ansible/test/cache/get_pip_"$ver".py
rm -rf .collections
git init -q && git add -A
PATH="$OLDPWD/.venv-sanity/bin:$PATH" "$OLDPWD/.venv-sanity/bin/ansible-test" sanity --python 3.11 "$@"
