#!/usr/bin/env bash
# ansible-test sanity on a copy of the checkout laid out as ansible_collections/ha/redis.
set -euo pipefail
cd "$(dirname "$0")/.."
# A venv of its own with the exact tool versions ansible-test pins (pylint, pycodestyle, yamllint, ...), for the
# ansible-core of .venv on .venv's Python by default; SANITY_CORE=2.17.14 SANITY_PYTHON=python3.11 checks another
# core (the lowest needs a Python 3.12 or older). Rebuilt when the core or the Python changes (its stamp names both).
core=${SANITY_CORE:-$(.venv/bin/python -c 'import ansible.release as r; print(r.__version__)')}
python=${SANITY_PYTHON:-$(.venv/bin/python -c 'import sys; print(sys._base_executable)')}
pyver=$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
stamp=.venv-sanity/.stamp-$core-py$pyver
if [ ! -e "$stamp" ]; then
  rm -rf .venv-sanity
  "$python" -m venv .venv-sanity
  .venv-sanity/bin/pip install -q --disable-pip-version-check "ansible-core==$core" redis
  req=$(.venv-sanity/bin/python -c 'import ansible_test, os; print(os.path.dirname(ansible_test.__file__))')/_data/requirements
  # A pin to a Git archive (ansible-core 2.22 pins dill to a commit on GitHub, which may be unreachable) becomes
  # the package's newest release from the package index, here and in the copy ansible-test installs from itself.
  sed -i -E 's/^([A-Za-z0-9_.-]+) @ .*/\1/' "$req"/sanity.*.txt
  mapfile -t pins < <(cat "$req"/sanity.*.txt | grep -v '^#' | sort -u)
  .venv-sanity/bin/pip install -q --disable-pip-version-check "${pins[@]}"
  touch "$stamp"
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
print(g(c(version="'"$pyver"'"))["pip"].replace(".", "_"))')
mkdir -p ~/.ansible/test/cache
[ -f ~/.ansible/test/cache/get_pip_"$ver".py ] || cp "$OLDPWD/scripts/get_pip_offline.py" ~/.ansible/test/cache/get_pip_"$ver".py
rm -rf .collections
git init -q && git add -A
PATH="$OLDPWD/.venv-sanity/bin:$PATH" "$OLDPWD/.venv-sanity/bin/ansible-test" sanity --python "$pyver" "$@"
