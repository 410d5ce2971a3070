#!/usr/bin/env bash
# Run Molecule scenarios in LANES parallel lanes (make molecule). Each lane runs its scenarios one after the other
# with a subnet of its own (HA_REDIS_MOL_SUBNET=10.231.1N, see .config/molecule/config.yml), so two scenarios never
# share a container name or an address; each scenario is a stage (scripts/stage.sh) whose output goes to
# build/molecule/SCENARIO.log and is printed when it fails. Scenarios are dealt to the lanes in the order given,
# each to the lane with the least estimated work so far (WEIGHTS, seconds seen in CI); "trixie:NAME" runs NAME on
# the Debian 13 image and always shares a lane with NAME (same container names).
#   scripts/molecule-lanes.sh LANES MOLECULE scenario... [trixie:scenario...]
# Most of a scenario's time is waiting (Sentinel timeouts, package installs, systemd), so two lanes on 2 cores cut
# the wall time without starving either lane.
set -uo pipefail
lanes=$1; molecule=$2; shift 2
declare -A WEIGHTS=([default]=200 [failover]=200 [faults]=360 [multi_group]=140 [valkey]=110 [secure]=150
                    [scale]=250 [rolling_upgrade]=300 [cluster]=200 [cluster_scale]=400 [observability]=200
                    [backup]=420 [proxy]=290)
mkdir -p build/molecule
declare -a work queue
for ((i = 0; i < lanes; i++)); do work[i]=0; queue[i]=""; done
declare -A lane_of
for s in "$@"; do
  base=${s#trixie:}
  if [ -n "${lane_of[$base]:-}" ]; then
    best=${lane_of[$base]}
  else
    best=0
    for ((i = 1; i < lanes; i++)); do [ "${work[i]}" -lt "${work[best]}" ] && best=$i; done
    lane_of[$base]=$best
  fi
  queue[best]="${queue[best]} $s"
  work[best]=$(( work[best] + ${WEIGHTS[$base]:-200} ))
done

run_lane() {
  local subnet=$1; shift
  local failed=0 s base
  for s in "$@"; do
    base=${s#trixie:}
    if [ "$s" != "$base" ]; then
      HA_REDIS_MOL_SUBNET=$subnet HA_REDIS_MOL_IMAGE=ha-redis-lab:trixie \
        scripts/stage.sh "mol-$base-trixie" "$molecule" test -s "$base" > "build/molecule/$base-trixie.log" 2>&1 \
        || failed=1
    else
      HA_REDIS_MOL_SUBNET=$subnet scripts/stage.sh "mol-$s" "$molecule" test -s "$s" > "build/molecule/$s.log" 2>&1 \
        || failed=1
    fi
    if [ "$s" != "$base" ]; then tail -n 1 "build/molecule/$base-trixie.log"; else tail -n 1 "build/molecule/$s.log"; fi
  done
  return $failed
}

pids=()
for ((i = 0; i < lanes; i++)); do
  echo "lane $i (10.231.1$i):${queue[i]}"
  # shellcheck disable=SC2086  # the queue is a list of words
  run_lane "10.231.1$i" ${queue[i]} &
  pids+=($!)
done
rc=0
for pid in "${pids[@]}"; do wait "$pid" || rc=1; done
if [ $rc -ne 0 ]; then
  for log in build/molecule/*.log; do
    if tail -n 1 "$log" | grep -q FAILED; then
      echo "==> $log (last 150 lines)"; tail -n 150 "$log"
    fi
  done
fi
exit $rc
