#!/usr/bin/env bash
# Cut the release galaxy.yml names (run on main once every branch with a changelog fragment is merged, then commit
# what it changed): antsibull-changelog lint, then release, which writes CHANGELOG.rst and changelogs/changelog.yaml
# from changelogs/fragments and removes the fragments; then the tarball in build/. antsibull-changelog reads the
# plugins through ansible-doc, so it runs in the checkout's ansible_collections/ha/redis path (.collections).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/.venv/bin
version=$("$bin/python" -c 'import yaml; print(yaml.safe_load(open("galaxy.yml"))["version"])')
if "$bin/python" -c 'import sys, yaml; sys.exit(sys.argv[1] not in (yaml.safe_load(open("changelogs/changelog.yaml"))["releases"] or {}))' "$version"; then
  echo "release.sh: $version is already in changelogs/changelog.yaml; raise the version in galaxy.yml first." >&2
  exit 1
fi
(
  cd .collections/ansible_collections/ha/redis
  PATH=$bin:$PATH "$bin/antsibull-changelog" lint
  PATH=$bin:$PATH "$bin/antsibull-changelog" release --version "$version"
)
mkdir -p build
"$bin/ansible-galaxy" collection build --force --output-path build .
echo "release.sh: $version cut; review and commit CHANGELOG.rst, changelogs/ and the removed fragments."
