#!/usr/bin/env bash
# Galaxy's own import checks (galaxy-importer from PyPI: metadata, docs of every plugin, role READMEs, its
# ansible-lint run) on the tarball `make build` wrote, in a virtualenv of its own (.cache/venv-galaxy-importer, made
# on the first run: galaxy-importer pins its own ansible-lint). Fails on an import error and on any warning.
#
# galaxy.yml has no `repository` yet (the project has no public address; never invent one), and the importer
# refuses a collection without it. Until galaxy.yml has it, the import runs on a scratch copy of the tarball whose
# MANIFEST.json says https://repository.invalid/ha/redis (.invalid: a name that can never resolve, RFC 2606): the
# only difference from the built tarball. The release steps (docs/DESIGN.md, "Releasing") say what to fill in.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$PWD/.cache/venv-galaxy-importer
if ! [ -x "$venv/bin/ansible-lint" ]; then
  "$(scripts/pick-python.sh)" -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "galaxy-importer==0.4.*"
fi
version=$("$venv/bin/python" -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
tarball=$PWD/build/ha-redis-$version.tar.gz
[ -f "$tarball" ] || { echo "galaxy-import: $tarball is missing: run make build first." >&2; exit 1; }
work=$PWD/build/galaxy-import
rm -rf "$work"; mkdir -p "$work/tree"
tar -xzf "$tarball" -C "$work/tree"
"$venv/bin/python" - "$work/tree/MANIFEST.json" <<'PY'
import json, sys
path = sys.argv[1]
manifest = json.load(open(path))
info = manifest["collection_info"]
if not info.get("repository"):
    info["repository"] = "https://repository.invalid/ha/redis"
    print("galaxy-import: galaxy.yml has no repository; the scratch copy says %s" % info["repository"])
json.dump(manifest, open(path, "w"), indent=4)
PY
(cd "$work/tree" && tar -czf "$work/ha-redis-$version.tar.gz" .)
cat >"$work/galaxy-importer.cfg" <<'CFG'
[galaxy-importer]
run_ansible_test = False
run_ansible_lint = True
log_level_main = INFO
CFG
cd "$work"
set +e
PATH=$venv/bin:/usr/sbin:/usr/bin:/sbin:/bin GALAXY_IMPORTER_CONFIG=$work/galaxy-importer.cfg \
  "$venv/bin/python" -m galaxy_importer.main "ha-redis-$version.tar.gz" >"$work/import.log" 2>&1
rc=$?
set -e
grep -v '^Loading ' "$work/import.log" | grep -v '^\s*$'
if [ $rc -ne 0 ] || grep -qE '^(ERROR|WARNING)' "$work/import.log" || ! grep -q 'Importer processing completed successfully' "$work/import.log"; then
  echo "galaxy-import: the import failed or warned (full log: $work/import.log)" >&2
  exit 1
fi
