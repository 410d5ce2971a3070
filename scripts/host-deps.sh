#!/usr/bin/env bash
# Install what the tests need on this (Debian) machine, as root: redis-server/redis-sentinel binaries for the
# functional tests, Node.js and npm for the client matrix, restic for the backups, prometheus (promtool) for the alert rules, docker.io and debootstrap for the lab and Molecule, rsync and ssh for the tooling.
# Debian's maintainer scripts would start the packaged services: a policy-rc.d keeps them stopped.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v redis-sentinel >/dev/null 2>&1 || need+=(redis-sentinel)
command -v dockerd >/dev/null 2>&1 || need+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || need+=(debootstrap)
command -v rsync >/dev/null 2>&1 || need+=(rsync)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
command -v shellcheck >/dev/null 2>&1 || need+=(shellcheck)
# promtool (alert rule tests, Molecule observability): Debian ships it in prometheus (about 8 s, 96 MB).
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
# The exporter's ACL users are tested against the real exporter (tests/functional/test_exporter_acl.py).
command -v prometheus-redis-exporter >/dev/null 2>&1 || need+=(prometheus-redis-exporter)
# The client matrix's Node.js writers (tests/clients: npm ci, then node).
command -v node >/dev/null 2>&1 || need+=(nodejs)
command -v npm >/dev/null 2>&1 || need+=(npm)
# Backups are taken and restored with restic (tests/functional/test_backup.py, bench/backup.py).
command -v restic >/dev/null 2>&1 || need+=(restic)
# The proxy gate (ha.redis.proxy_check) is tested against a real HAProxy (tests/functional/test_proxy_check.py).
command -v haproxy >/dev/null 2>&1 || need+=(haproxy)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if [ ${#need[@]} -eq 0 ]; then
  exit 0
fi
echo "host-deps: installing ${need[*]}" >&2
policy=/usr/sbin/policy-rc.d
created=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; created=1
fi
trap '[ "$created" = 1 ] && rm -f "$policy"' EXIT
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
