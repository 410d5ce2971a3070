#!/usr/bin/env bash
# Remove exactly what lab/up.sh created: its containers (by name), its network and its generated inventory.
set -euo pipefail
cd "$(dirname "$0")/.."
state=.lab
if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
  if [ -f "$state/containers" ]; then
    while read -r name; do
      if [ -n "$name" ]; then
        docker rm -f "$name" >/dev/null 2>&1 || true
      fi
    done <"$state/containers"
  fi
  docker network rm ha-redis-lab >/dev/null 2>&1 || true
fi
rm -f "$state/containers" inventory/lab/hosts.yml
echo "lab: removed" >&2
