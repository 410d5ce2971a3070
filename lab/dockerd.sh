#!/usr/bin/env bash
# Make sure a Docker daemon answers: install docker.io if missing, start dockerd if it is not running.
set -euo pipefail
if ! command -v dockerd >/dev/null 2>&1; then
  echo "lab: installing docker.io" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
if docker info >/dev/null 2>&1; then
  exit 0
fi
echo "lab: starting dockerd (log: /var/log/ha-redis-dockerd.log)" >&2
setsid dockerd >/var/log/ha-redis-dockerd.log 2>&1 < /dev/null &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 0.5
done
echo "lab: dockerd did not answer within 30 s; see /var/log/ha-redis-dockerd.log" >&2
exit 1
