#!/usr/bin/env bash
# The alert rules: the shipped file is up to date with its definition (scripts/alert_rules.py), Prometheus accepts
# it (promtool check rules) and every alert passes its unit tests (tests/prometheus, promtool test rules).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python scripts/alert_rules.py --check
promtool check rules roles/exporter/files/ha-redis-alerts.yml
cd tests/prometheus
promtool test rules ./*.test.yml
