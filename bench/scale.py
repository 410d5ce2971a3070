"""The benchmark's scale parts (issue 17): the parallel floor and the many-groups series. bench.py calls
:func:`floor_vs_deploy_run` (part ``floorn``) and :func:`groups_run` (part ``groups``), passing itself as ``bench``
(its Lab, Results, BenchError and helpers), the way unplanned.py is called.

CPU time is counted where it is spent, not from the whole machine (other work shares it): the controller's from
``getrusage(RUSAGE_CHILDREN)`` (ansible-playbook or the ssh clients and everything they waited for), the hosts'
from each container's cpuacct cgroup. ``cpu_per_host`` is their sum divided by the number of hosts.
"""

from __future__ import annotations

import resource
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

UNITS = {
    "groups_rerun_changed": "tasks",
}
for _n in (1, 4, 16):
    UNITS.update({"groups%d_%s" % (_n, k): "s" for k in ("deploy", "rerun", "verify_gate", "verify_module")})

LABELS = []
for _n in (1, 4, 16):
    LABELS += [
        ("groups%d_deploy" % _n, "Cold deploy, site.yml, 3 hosts, %d group(s)" % _n),
        ("groups%d_rerun" % _n, "Re-run of site.yml, nothing to change, 3 hosts, %d group(s)" % _n),
        ("groups%d_verify_gate" % _n, "verify.yml wall time, 3 hosts, %d group(s)" % _n),
        ("groups%d_verify_module" % _n, "sentinel_quorum module's own elapsed, 3 hosts, %d group(s)" % _n),
    ]
for _n in (3, 9):
    LABELS += [
        ("floorn_%d" % _n, "Parallel floor: %d fresh containers, shell over SSH (install, start, replicas, Sentinels)"
         % _n),
        ("floorn_deploy_%d" % _n, "Cold deploy, site.yml, %d hosts (same run as the parallel floor)" % _n),
    ]
    UNITS.update({"floorn_%d" % _n: "s", "floorn_deploy_%d" % _n: "s"})


def controller_cpu():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def container_cpu(names):
    """CPU seconds the containers have used so far (cgroup v1 cpuacct, else v2 cpu.stat); None if unreadable."""
    total = 0.0
    for name in names:
        proc = subprocess.run(["docker", "inspect", "-f", "{{.Id}}", name], capture_output=True, text=True,
                              check=False, timeout=30)
        cid = proc.stdout.strip()
        v1 = Path("/sys/fs/cgroup/cpuacct/docker") / cid / "cpuacct.usage"
        v2 = [Path("/sys/fs/cgroup/system.slice") / ("docker-%s.scope" % cid) / "cpu.stat",
              Path("/sys/fs/cgroup/docker") / cid / "cpu.stat"]
        if v1.exists():
            total += int(v1.read_text()) / 1e9
            continue
        for path in v2:
            if path.exists():
                stats = dict(line.split() for line in path.read_text().splitlines())
                total += int(stats["usage_usec"]) / 1e6
                break
        else:
            return None
    return total


class CpuMeter:
    """Controller and container CPU seconds spent between start() and stop()."""

    def __init__(self, containers):
        self.containers = list(containers)

    def start(self):
        self.c0, self.h0 = controller_cpu(), container_cpu(self.containers)
        return self

    def stop(self):
        controller = controller_cpu() - self.c0
        h1 = container_cpu(self.containers)
        hosts = None if h1 is None or self.h0 is None else h1 - self.h0
        return dict(controller_cpu=round(controller, 2), hosts_cpu=None if hosts is None else round(hosts, 2),
                    cpu_per_host=None if hosts is None else round((controller + hosts) / len(self.containers), 2))


def timed_playbook(bench, lab, playbook, tag, timeout, extra_vars=None):
    """lab.playbook() with the CPU split: (PlaybookRun, cpu dict)."""
    meter = CpuMeter([name for name, _addr in lab.hosts.values()]).start()
    done = lab.playbook(playbook, tag, timeout, extra_vars=extra_vars)
    return done, meter.stop()


# ----------------------------------------------------------------------------------------------------------------
# Item 1: the same work as a deploy, by hand, on N fresh containers in parallel.
FLOOR_N_SCRIPT = r"""
set -e
for u in redis-server.service redis-sentinel.service; do ln -sf /dev/null /etc/systemd/system/$u; done
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends {packages} >/dev/null
mkdir -p /var/lib/bench && cd /var/lib/bench
redis-server --port 6379 --bind 0.0.0.0 --protected-mode no --requirepass {password} --masterauth {password} \
  --daemonize yes --dir /var/lib/bench --logfile /var/lib/bench/redis.log {replicaof}
printf 'port 26379\nprotected-mode no\nsentinel monitor {group} {primary} 6379 {quorum}\n' >/var/lib/bench/sentinel.conf
printf 'sentinel auth-pass {group} {password}\n' >>/var/lib/bench/sentinel.conf
redis-sentinel /var/lib/bench/sentinel.conf --daemonize yes --logfile /var/lib/bench/sentinel.log
"""


def ssh_cmd(bench, address, script):
    return ["ssh", "-q", "-i", str(bench.WORK / "id_ed25519"), "-o", "BatchMode=yes", "-o",
            "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "ControlMaster=no",
            "root@%s" % address, script]


def parallel_floor(bench, lab, timeout):
    """The shell script on every host at once over SSH; seconds until the last one has exited, and CPU."""
    addresses = [addr for _name, addr in lab.hosts.values()]
    primary = addresses[0]
    meter = CpuMeter([name for name, _addr in lab.hosts.values()]).start()
    t0 = time.monotonic()
    procs = []
    for i, address in enumerate(addresses):
        script = FLOOR_N_SCRIPT.format(packages=" ".join(bench.PACKAGES), password=bench.DATA_PASSWORD,
                                       group=bench.GROUP, primary=primary, quorum=len(addresses) // 2 + 1,
                                       replicaof="" if i == 0 else "--replicaof %s 6379" % primary)
        log = open(bench.WORK / "logs" / ("%s-floor-%d.log" % (lab.tag, i + 1)), "w", encoding="utf-8")  # noqa: SIM115
        procs.append((subprocess.Popen(ssh_cmd(bench, address, script), stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL), log))
    failed = []
    for proc, log in procs:
        try:
            rc = proc.wait(timeout=max(1, timeout - (time.monotonic() - t0)))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            rc = "timeout"
        log.close()
        if rc != 0:
            failed.append("%s (rc %s)" % (log.name, rc))
    seconds = time.monotonic() - t0
    cpu = meter.stop()
    if failed:
        raise bench.BenchError("the parallel floor failed on %s" % ", ".join(failed))
    return seconds, cpu


def floor_vs_deploy_run(bench, size, run, res, args):
    """Interleaved: the parallel floor on N fresh containers, then a cold deploy on N other fresh containers
    (order swapped on even runs)."""
    order = ("floor", "deploy") if run % 2 else ("deploy", "floor")
    for what in order:
        lab = bench.Lab(size, "floorn%s%d-run%d" % (what, size, run))
        try:
            bench.log("run %d: %d-host %s lab up (not timed): %.1f s" % (run, size, what, lab.up()))
            if what == "floor":
                seconds, cpu = parallel_floor(bench, lab, args.timeout)
                res.add("floorn_%d" % size, seconds, run=run, **cpu)
            else:
                done, cpu = timed_playbook(bench, lab, ROOT / "playbooks" / "site.yml",
                                           "floorn-deploy%d-run%d" % (size, run), args.timeout + 30 * size)
                res.add("floorn_deploy_%d" % size, done.seconds, run=run, slowest_tasks=bench.slowest_tasks(done.text),
                        **cpu)
        except bench.BenchError as exc:
            res.error("floorn %s %d run %d" % (what, size, run), exc)
        finally:
            lab.down()


# ----------------------------------------------------------------------------------------------------------------
# Item 2: 3 hosts with 1, 4 and 16 primary groups.
def group_definitions(names, count):
    """``count`` groups on ports 6379.., their initial primaries spread over the hosts."""
    return [{"name": "main" if i == 0 else "g%02d" % i, "port": 6379 + i, "initial_primary": names[i % len(names)]}
            for i in range(count)]


def groups_run(bench, count, run, res, args):
    lab = bench.Lab(3, "groups%d-run%d" % (count, run))
    try:
        bench.log("run %d: 3-host lab for %d group(s) up (not timed): %.1f s" % (run, count, lab.up()))
        lab.group_vars["redis_primary_groups"] = group_definitions(list(lab.hosts), count)
        lab.write_inventory()
        key = "groups%d_" % count
        site = ROOT / "playbooks" / "site.yml"
        done, cpu = timed_playbook(bench, lab, site, "groups%d-deploy-run%d" % (count, run), args.timeout)
        res.add(key + "deploy", done.seconds, run=run, slowest_tasks=bench.slowest_tasks(done.text), **cpu)
        done, cpu = timed_playbook(bench, lab, site, "groups%d-rerun-run%d" % (count, run), args.timeout)
        changed = sum(h["changed"] for h in done.recap.values())
        res.add(key + "rerun", done.seconds, run=run, changed=changed, slowest_tasks=bench.slowest_tasks(done.text),
                **cpu)
        res.add("groups_rerun_changed", changed, run=run, groups=count)
        done, cpu = timed_playbook(bench, lab, ROOT / "playbooks" / "verify.yml",
                                   "groups%d-verify-run%d" % (count, run), args.timeout)
        res.add(key + "verify_gate", done.seconds, run=run, **cpu)
        res.add(key + "verify_module", bench.quorum_module_time(lab, "groups%d-quorum-run%d" % (count, run), args),
                run=run)
    except bench.BenchError as exc:
        res.error("groups %d run %d" % (count, run), exc)
    finally:
        lab.down()


def marginal(summary, metric):
    """Seconds per added group between 1 and 16 groups (medians), or None."""
    a, b = summary.get("groups1_%s" % metric), summary.get("groups16_%s" % metric)
    if not a or not b:
        return None
    return (b["median"] - a["median"]) / 15.0


# ----------------------------------------------------------------------------------------------------------------
# Item 3: the controller's share of a no-change re-run, A/B on one deployed lab.
MITOGEN = ROOT / "bench" / "work" / "mitogen"  # the wheel's packages (mitogen, ansible_mitogen), git-ignored


def controller_variants():
    """{name: extra environment}. Mitogen only when its packages are in bench/work/mitogen (see README.md)."""
    variants = {"linear": {}, "free": {"ANSIBLE_STRATEGY": "free"}}
    if (MITOGEN / "ansible_mitogen" / "plugins" / "strategy").is_dir():
        variants["mitogen_linear"] = {
            "ANSIBLE_STRATEGY_PLUGINS": str(MITOGEN / "ansible_mitogen" / "plugins" / "strategy"),
            "ANSIBLE_STRATEGY": "mitogen_linear",
            "PYTHONPATH": str(MITOGEN),
        }
    return variants


for _name in ("linear", "free", "mitogen_linear"):
    UNITS["ctl_%s_rerun" % _name] = "s"
    LABELS.append(("ctl_%s_rerun" % _name, "Re-run of site.yml, 3 hosts, strategy %s (interleaved A/B)" % _name))


def controller_run(bench, run, res, args, pairs=3):
    """One 3-host lab, deployed once (untimed); then ``pairs`` rounds of no-change re-runs, one per strategy,
    in rotated order."""
    lab = bench.Lab(3, "controller-run%d" % run)
    try:
        bench.log("run %d: 3-host controller lab up (not timed): %.1f s" % (run, lab.up()))
        lab.playbook(ROOT / "playbooks" / "site.yml", "controller-deploy-run%d" % run, args.timeout)
        variants = list(controller_variants().items())
        for i in range(pairs):
            shift = (run + i) % len(variants)
            for name, env in variants[shift:] + variants[:shift]:
                lab.extra_env = env
                try:
                    done, cpu = timed_playbook(bench, lab, ROOT / "playbooks" / "site.yml",
                                               "controller-%s-run%d-%d" % (name, run, i), args.timeout)
                except bench.BenchError as exc:
                    res.error("controller %s run %d.%d" % (name, run, i), exc)
                    continue
                finally:
                    lab.extra_env = {}
                changed = sum(h["changed"] for h in done.recap.values())
                res.add("ctl_%s_rerun" % name, done.seconds, run=run, pair=i, changed=changed, **cpu)
    except bench.BenchError as exc:
        res.error("controller run %d" % run, exc)
    finally:
        lab.down()


# ----------------------------------------------------------------------------------------------------------------
# The issue-17 section of results.md, from the samples (results.json "samples" or a --partial file) and the
# output of bench/switchover_gap.py.
def _median(values):
    values = sorted(values)
    if not values:
        return None
    mid = len(values) // 2
    return values[mid] if len(values) % 2 else (values[mid - 1] + values[mid]) / 2.0


def _series(details, metric, key="value"):
    return [d[key] for d in details if d["metric"] == metric and d.get(key) is not None]


def _cell(values, fmt="%.1f s"):
    med = _median(values)
    if med is None:
        return "not measured"
    if len(values) == 1:
        return fmt % med
    return (fmt + " (%s-%s, %d)") % (med, fmt.split()[0] % min(values), fmt.split()[0] % max(values), len(values))


def markdown_section(details, gap=None):
    lines = []
    if gap:
        rows = gap["rows"]
        lines += ["### Switchover as Sentinel-aware clients see it (item 4)", "",
                  "`bench/switchover_gap.py`: real processes on loopback, variants (checkouts of the collection) "
                  "interleaved within each run; medians (min-max, runs).", "",
                  "| replicas | variant | redis-py `Sentinel` client | `GET-MASTER-ADDR-BY-NAME` client | module "
                  "write pause | lost |", "|---:|---|---:|---:|---:|---:|"]
        names = []
        for row in rows:
            if row["variant"] not in names:
                names.append(row["variant"])
        for replicas in sorted({r["replicas"] for r in rows}):
            for name in names:
                mine = [r for r in rows if r["variant"] == name and r["replicas"] == replicas]
                lines.append("| %d | %s | %s | %s | %s | %d |" % (
                    replicas, name, _cell([r["gap_masters_ms"] for r in mine], "%.0f ms"),
                    _cell([r["gap_addr_ms"] for r in mine], "%.0f ms"),
                    _cell([r["write_pause_ms"] for r in mine], "%.0f ms"), sum(r["lost"] for r in mine)))
        lines.append("")
    floor_rows = []
    for size in (3, 9):
        floor, deploy = "floorn_%d" % size, "floorn_deploy_%d" % size
        if not _series(details, floor) and not _series(details, deploy):
            continue
        for metric, label in ((floor, "parallel floor"), (deploy, "cold deploy")):
            per_host = _series(details, metric, "cpu_per_host")
            floor_rows.append("| %d | %s | %s | %s | %s | %s |" % (
                size, label, _cell(_series(details, metric)), _cell(_series(details, metric, "controller_cpu")),
                _cell(_series(details, metric, "hosts_cpu")), _cell(per_host)))
    if floor_rows:
        lines += ["### A fair floor (item 1)", "",
                  "Same run, alternating order: the floor on N fresh containers, a cold `site.yml` on N other fresh "
                  "containers. CPU: controller (ansible-playbook or ssh, with their children) and hosts "
                  "(containers' cpuacct). Medians (min-max, runs).", "",
                  "| hosts | what | wall | controller CPU | hosts CPU | CPU per host |",
                  "|---:|---|---:|---:|---:|---:|"]
        lines += floor_rows + [""]
    group_rows = []
    for count in (1, 4, 16):
        key = "groups%d_" % count
        if not _series(details, key + "deploy"):
            continue
        group_rows.append("| %d | %s | %s | %s | %s | %s | %s | %s |" % (
            count, _cell(_series(details, key + "deploy")), _cell(_series(details, key + "deploy", "controller_cpu")),
            _cell(_series(details, key + "rerun")), _cell(_series(details, key + "rerun", "controller_cpu")),
            _cell(_series(details, key + "rerun", "hosts_cpu")),
            _cell(_series(details, key + "verify_gate")), _cell(_series(details, key + "verify_module"), "%.3f s")))
    if group_rows:
        changed = _series(details, "groups_rerun_changed")
        lines += ["### Many groups on 3 hosts (item 2)", "",
                  "Cold deploy, no-change re-run (changed tasks, all runs: %s), `verify.yml`, and the gate's own "
                  "`elapsed`. Medians (min-max, runs)." % (", ".join("%g" % c for c in changed) or "none"), "",
                  "| groups | deploy | deploy controller CPU | re-run | re-run controller CPU | re-run hosts CPU | "
                  "verify.yml | gate |", "|---:|---:|---:|---:|---:|---:|---:|---:|"] + group_rows + [""]
    ctl_rows = []
    for name in ("linear", "free", "mitogen_linear"):
        metric = "ctl_%s_rerun" % name
        if _series(details, metric):
            ctl_rows.append("| %s | %s | %s | %s | %s |" % (
                name, _cell(_series(details, metric)), _cell(_series(details, metric, "controller_cpu")),
                _cell(_series(details, metric, "hosts_cpu")),
                ", ".join("%g" % c for c in _series(details, metric, "changed"))))
    if ctl_rows:
        lines += ["### The controller's share (item 3)", "",
                  "One deployed 3-host lab; rounds of no-change re-runs of `site.yml`, one per strategy, rotated "
                  "order. Medians (min-max, runs).", "",
                  "| strategy | re-run wall | controller CPU | hosts CPU | changed (each run) |",
                  "|---|---:|---:|---:|---|"] + ctl_rows + [""]
    return "\n".join(lines)


if __name__ == "__main__":
    import argparse
    import json

    parser = argparse.ArgumentParser(description="Print the issue-17 section of results.md.")
    parser.add_argument("--samples", required=True, help="results.json (its samples) or a --partial JSON-lines file")
    parser.add_argument("--gap", help="output of bench/switchover_gap.py --out")
    cli = parser.parse_args()
    text = Path(cli.samples).read_text(encoding="utf-8")
    samples = (json.loads(text)["samples"] if text.lstrip().startswith("{\n") or cli.samples.endswith(".json")
               else [json.loads(line) for line in text.splitlines() if line.strip()])
    gap_data = json.loads(Path(cli.gap).read_text(encoding="utf-8")) if cli.gap else None
    print(markdown_section(samples, gap_data))
