#!/usr/bin/env bash
# Run one test stage, print its duration, and append it to build/stages.txt.
set -uo pipefail
name=$1; shift
mkdir -p build
start=$(date +%s)
echo "==> stage $name: $*"
"$@"
rc=$?
secs=$(( $(date +%s) - start ))
printf '%-14s %5ss  %s\n' "$name" "$secs" "$([ $rc -eq 0 ] && echo ok || echo "FAILED ($rc)")" | tee -a build/stages.txt
exit $rc
