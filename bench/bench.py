"""Benchmark ha.redis on the local lab: deploy, re-run, verification gate, switchover, rolling upgrade.

Every lab is made of fresh containers (``ha-redis-bench-N`` on the network ``ha-redis-bench``), created from
the lab image the way lab/up.sh does it, and reached over SSH with a key of the benchmark's own. Containers are
created and answer over SSH before any timer starts. The floor for comparison is measured in the same run: the
same packages installed by hand (docker exec, no Ansible) in one fresh container, plus one redis-server and one
redis-sentinel started by hand.

Each figure is the median of ``--runs`` runs, with min and max. Results go to bench/results.json,
bench/results.md and bench/deploy_vs_hosts.png. See bench/README.md for the method.

Run from the checkout: ``.venv/bin/python bench/bench.py [--runs 3] [--quick]``.
"""

from __future__ import annotations

import argparse
import atexit
import collections
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cluster_hosts  # noqa: E402 - bench/ is on sys.path when bench.py runs
import scale  # noqa: E402
import unplanned  # noqa: E402
import yaml
from redis.exceptions import RedisError
from redis.sentinel import Sentinel

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
WORK = BENCH / "work"  # git-ignored: key, inventories, logs, writer summaries
PYTHON = ROOT / ".venv" / "bin" / "python"
PLAYBOOK_BIN = ROOT / ".venv" / "bin" / "ansible-playbook"
WRITER = ROOT / "tests" / "tools" / "writer.py"

IMAGE = "ha-redis-lab:bookworm"
# Overridable, so that two checkouts (or agents) never share a container name, a network or a subnet.
NETWORK = os.environ.get("HA_REDIS_BENCH_NETWORK", "ha-redis-bench")
SUBNET = os.environ.get("HA_REDIS_BENCH_SUBNET", "10.232.0.0/24")
PREFIX = os.environ.get("HA_REDIS_BENCH_PREFIX", "ha-redis-bench")  # containers PREFIX-1..N and PREFIX-floor
LABEL = "ha-redis-bench=1"
FLOOR_NAME = PREFIX + "-floor"
GROUP = "main"
DATA_PASSWORD = "bench-data-secret"  # throw-away lab credentials, kept in the git-ignored work folder
SENTINEL_PASSWORD = "bench-sentinel-secret"
PINNED_OLD = "5:7.0.15-1~deb12u7"
PINNED_NEW = "5:7.0.15-1~deb12u10"
PACKAGES = ["redis-server", "redis-sentinel", "redis-tools", "python3-redis"]  # what roles/server installs

# Targets for context (issue 8); a figure is compared with its target in the report, never adjusted to it.
TARGETS = {
    "deploy_3": "<= 3 x floor",
    "rerun": "< 10 s, changed = 0",
    "deploy_9": "<= 1.5 x deploy_3",
    "verify_module": "< 0.5 s",
    "verify_module_9": "< 1 s",
    "switchover_write_gap": "< 1000 ms",
    "switchover_write_gap_addr": "< 1000 ms",
    # issue 17
    "floorn_3": "deploy_3 <= 2 x parallel floor_3",
    "floorn_9": "deploy_9 <= 2 x parallel floor_9",
    "floorn_cpu": "CPU per host, 9 hosts <= 3 hosts",
    "groups_deploy": "< 1 s of deploy per added group",
    "groups_rerun": "< 0.3 s of re-run per added group",
    "groups_gate": "gate < 0.1 s with 16 groups",
    # issue 15
    "cluster_create": "redis_cluster <= redis-cli --cluster create (3 hosts x 2 nodes)",
    "cluster_rerun": "cluster re-run changed = 0",
}

RECAP_LINE = re.compile(
    r"^(?P<host>\S+)\s*:\s*ok=(?P<ok>\d+)\s+changed=(?P<changed>\d+)\s+unreachable=(?P<unreachable>\d+)"
    r"\s+failed=(?P<failed>\d+)(?:\s+skipped=(?P<skipped>\d+))?(?:\s+rescued=(?P<rescued>\d+))?"
    r"(?:\s+ignored=(?P<ignored>\d+))?"
)


class BenchError(Exception):
    """One measurement could not be taken; the message says which and why."""


# --------------------------------------------------------------------------------------------------------------
# Everything this script creates is recorded here and removed by exact name at exit, even on failure.
class Resources:
    def __init__(self):
        self.containers = []
        self.network = False
        self.children = {}  # pid -> description; each child runs in its own session (process group = pid)
        self.control_dirs = []

    def cleanup(self):
        for pid in list(self.children):
            kill_group(pid)
        self.children.clear()
        for directory in self.control_dirs:
            close_control_masters(directory)
        self.control_dirs.clear()
        for name in list(self.containers):
            remove_container(name)
        if self.network:
            subprocess.run(["docker", "network", "rm", NETWORK], capture_output=True, check=False, timeout=60)
            self.network = False


RES = Resources()


def kill_group(pid):
    """Stop a child this script started (it leads its own process group), then reap it."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                done = os.waitpid(pid, os.WNOHANG)[0]
            except ChildProcessError:
                return
            if done:
                return
            time.sleep(0.1)
    RES.children.pop(pid, None)


def close_control_masters(directory):
    """Ask the SSH ControlPersist masters Ansible left in our own control directory to exit."""
    directory = Path(directory)
    if not directory.is_dir():
        return
    for sock in directory.iterdir():
        subprocess.run(["ssh", "-o", "ControlPath=%s" % sock, "-O", "exit", "bench"], capture_output=True,
                       check=False, timeout=10)
    shutil.rmtree(directory, ignore_errors=True)


def remove_container(name):
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False, timeout=120)
    if name in RES.containers:
        RES.containers.remove(name)


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


# --------------------------------------------------------------------------------------------------------------
def sh(cmd, timeout=120, check=True, **kwargs):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, **kwargs)
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip()[-500:]
        raise BenchError("%s exited %d: %s" % (" ".join(map(str, cmd[:4])), proc.returncode, detail))
    return proc


def run_bounded(cmd, timeout, log_path, env=None, cwd=ROOT):
    """Run a child in its own process group with a hard time limit; output goes to log_path. Returns rc."""
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                                cwd=cwd, start_new_session=True)
        RES.children[proc.pid] = str(cmd[:3])
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_group(proc.pid)
            what = Path(cmd[1]).name if len(cmd) > 1 else cmd[0]
            raise BenchError("%s did not finish within %d s (log: %s)" % (what, timeout, rel(log_path))) from None
        except BaseException:  # interrupted (SIGTERM, Ctrl-C): stop the child before the labs go away
            kill_group(proc.pid)
            raise
        finally:
            RES.children.pop(proc.pid, None)


def rel(path):
    try:
        return str(Path(path).resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def machine_info():
    info = {"nproc": os.cpu_count(), "python": platform.python_version(), "kernel": platform.release()}
    try:
        with open("/proc/meminfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    info["memory_gib"] = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info["load_average_at_start"] = [round(x, 2) for x in os.getloadavg()]
    proc = sh(["docker", "version", "-f", "{{.Server.Version}}"], check=False)
    info["docker"] = proc.stdout.strip()
    proc = sh([str(PLAYBOOK_BIN), "--version"], check=False)
    info["ansible_core"] = proc.stdout.splitlines()[0].strip() if proc.stdout else ""
    proc = sh(["docker", "ps", "-q"], check=False)
    info["other_containers_running_at_start"] = len([x for x in proc.stdout.split() if x])
    return info


# --------------------------------------------------------------------------------------------------------------
def prepare_host():
    """The lab's own preparation: a Docker daemon, the image, and a key of the benchmark's own."""
    WORK.mkdir(parents=True, exist_ok=True)
    (WORK / "logs").mkdir(exist_ok=True)
    sh([str(ROOT / "lab" / "dockerd.sh")], timeout=180)
    sh([str(ROOT / "lab" / "build-image.sh"), "bookworm", IMAGE], timeout=900)
    key = WORK / "id_ed25519"
    if not key.exists():
        sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "ha-redis-bench", "-f", str(key)])
    key.chmod(0o600)
    # Leftovers of an interrupted run: ours by exact name and label only.
    for name in [FLOOR_NAME] + ["%s-%d" % (PREFIX, i) for i in range(1, 10)]:
        proc = sh(["docker", "inspect", "-f", '{{index .Config.Labels "ha-redis-bench"}}', name], check=False)
        if proc.returncode == 0 and proc.stdout.strip() == "1":
            remove_container(name)
    proc = sh(["docker", "network", "inspect", "-f", '{{index .Labels "ha-redis-bench"}}', NETWORK], check=False)
    if proc.returncode == 0 and proc.stdout.strip() == "1":
        sh(["docker", "network", "rm", NETWORK], check=False)
    # A subnet of its own, so that a container cut off by the partition measurement reconnects with its address.
    sh(["docker", "network", "create", "--label", LABEL, "--subnet", SUBNET, NETWORK])
    RES.network = True


def create_container(name, hostname):
    """Same flags as lab/up.sh: systemd as PID 1, sshd, the public key mounted as authorized_keys."""
    remove_container(name)
    RES.containers.append(name)
    sh(["docker", "run", "-d", "--name", name, "--hostname", hostname, "--network", NETWORK, "--label", LABEL,
        "--cap-add", "SYS_ADMIN", "--cgroupns=host", "--tmpfs", "/run", "--tmpfs", "/run/lock",
        "-v", "/sys/fs/cgroup:/sys/fs/cgroup:rw", "--stop-signal", "SIGRTMIN+3",
        "-v", "%s:/root/.ssh/authorized_keys:ro" % (WORK / "id_ed25519.pub"),
        IMAGE, "/lib/systemd/systemd"], timeout=120)
    proc = sh(["docker", "inspect", "-f", '{{(index .NetworkSettings.Networks "%s").IPAddress}}' % NETWORK, name])
    return proc.stdout.strip()


def wait_ssh(address, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            proc = subprocess.run(
                ["ssh", "-q", "-i", str(WORK / "id_ed25519"), "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no",
                 "-o", "UserKnownHostsFile=/dev/null", "-o", "ConnectTimeout=2", "-o", "ControlMaster=no",
                 "root@%s" % address, "timeout 30 systemctl is-system-running --wait >/dev/null 2>&1; true"],
                capture_output=True, check=False, timeout=60)
        except subprocess.TimeoutExpired:
            continue
        if proc.returncode == 0:
            return
        time.sleep(0.5)
    raise BenchError("%s did not answer over SSH within %d s" % (address, timeout))


PlaybookRun = collections.namedtuple("PlaybookRun", "seconds recap text")


class IndentedDumper(yaml.SafeDumper):
    """Indents lists under their key, as yamllint's default rules (and the repository's YAML) want."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


class Lab:
    """N fresh containers, an inventory of their own, a fact cache and an SSH control directory of their own."""

    def __init__(self, size, tag, group_vars=None):
        self.size = size
        self.tag = tag
        self.dir = WORK / tag
        self.hosts = {}  # inventory name -> (container, address)
        self.group_vars = dict(group_vars or {})

    def up(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        t0 = time.monotonic()
        for i in range(1, self.size + 1):
            name = "%s-%d" % (PREFIX, i)
            self.hosts["bench-%d" % i] = (name, create_container(name, "bench-%d" % i))
        for _name, address in self.hosts.values():
            wait_ssh(address)
        self.control_dir = Path("/tmp") / ("hrb-cp-%d" % os.getpid())  # short: UNIX socket paths are limited
        shutil.rmtree(self.control_dir, ignore_errors=True)
        self.control_dir.mkdir(mode=0o700)
        RES.control_dirs.append(self.control_dir)
        self.write_inventory()
        return time.monotonic() - t0

    def write_inventory(self):
        names = list(self.hosts)
        group_vars = {
            "ansible_user": "root",
            "ansible_ssh_private_key_file": str(WORK / "id_ed25519"),
            "redis_systemd_private_users": False,
            "redis_password": DATA_PASSWORD,
            "redis_sentinel_password": SENTINEL_PASSWORD,
            # ACL mode (the default) also has a replication user and a Sentinel user on the data nodes.
            "redis_replication_password": "bench-replication-secret",
            "redis_sentinel_auth_password": "bench-sentinel-auth-secret",
            "redis_primary_groups": [{"name": GROUP, "port": 6379, "initial_primary": names[0]}],
        }
        group_vars.update(self.group_vars)
        inventory = {"all": {
            "vars": group_vars,
            "hosts": {n: {"ansible_host": addr} for n, (_name, addr) in self.hosts.items()},
            "children": {g: {"hosts": {n: None for n in names}} for g in ("redis", "redis_sentinel")},
        }}
        self.inventory = self.dir / "hosts.yml"
        with open(self.inventory, "w", encoding="utf-8") as handle:
            handle.write("---\n# Generated by bench/bench.py for one benchmark lab; removed with it.\n")
            yaml.dump(inventory, handle, Dumper=IndentedDumper, default_flow_style=False, sort_keys=False)

    def down(self):
        if getattr(self, "control_dir", None):
            close_control_masters(self.control_dir)
            if self.control_dir in RES.control_dirs:
                RES.control_dirs.remove(self.control_dir)
        for host, (name, _addr) in self.hosts.items():
            # The servers' and Sentinels' logs, for reading a figure afterwards (e.g. +switch-master times).
            proc = subprocess.run(["docker", "exec", name, "sh", "-c", "tail -n 300 /var/log/redis/*.log"],
                                  capture_output=True, text=True, check=False, timeout=30)
            (WORK / "logs" / ("%s-%s.redis.log" % (self.tag, host))).write_text(proc.stdout, encoding="utf-8")
            remove_container(name)
        self.hosts = {}
        shutil.rmtree(self.dir, ignore_errors=True)  # inventory (it holds the lab passwords) and fact cache

    def sentinels(self):
        return ["%s:26379" % addr for _name, addr in self.hosts.values()]

    def env(self):
        env = dict(os.environ)
        env.update({
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_CACHE_PLUGIN_CONNECTION": str(self.dir / "facts"),
            "ANSIBLE_SSH_CONTROL_PATH_DIR": str(self.control_dir),
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
        })
        env.update(getattr(self, "extra_env", None) or {})  # e.g. another strategy (scale.controller_run)
        return env

    def playbook(self, playbook, name, timeout, extra_vars=None):
        """Run one playbook against this lab and time it. Returns (seconds, recap, log text)."""
        cmd = [str(PLAYBOOK_BIN), "-i", str(self.inventory), str(playbook)]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        log_path = WORK / "logs" / ("%s.log" % name)
        t0, busy0 = time.monotonic(), busy_cpu_seconds()
        rc = run_bounded(cmd, timeout, log_path, env=self.env())
        seconds = time.monotonic() - t0
        self.last_cpu_seconds = round(busy_cpu_seconds() - busy0, 1)
        text = log_path.read_text(encoding="utf-8", errors="replace")
        recap = parse_recap(text)
        if rc != 0:
            raise BenchError("%s failed (rc %d, %s); last lines:\n%s" % (
                rel(playbook), rc, rel(log_path), "\n".join(text.splitlines()[-15:])))
        return PlaybookRun(seconds, recap, text)

    def primary(self):
        """(address, port) of the group's primary as the Sentinels name it now, or None."""
        addresses = [(addr, 26379) for _name, addr in self.hosts.values()]
        sentinel = Sentinel(addresses, sentinel_kwargs={"password": SENTINEL_PASSWORD, "socket_timeout": 2},
                            socket_timeout=2)
        try:
            return sentinel.discover_master(GROUP)
        except RedisError:
            return None

    def package_versions(self):
        versions = {}
        for host, (name, _addr) in self.hosts.items():
            proc = sh(["docker", "exec", name, "dpkg-query", "-W", "-f", "${Version}", "redis-server"], check=False)
            versions[host] = proc.stdout.strip() if proc.returncode == 0 else None
        return versions


def busy_cpu_seconds():
    """CPU time the whole machine (controller and containers alike) has spent not idle, from /proc/stat."""
    with open("/proc/stat", encoding="ascii") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


TASK_TIME = re.compile(r"^(?P<task>.+?) -+ (?P<seconds>[0-9.]+)s$")


def slowest_tasks(text, count=8):
    """The first lines of profile_tasks' TASKS RECAP (slowest first): where a playbook's time went."""
    out, seen = [], False
    for line in text.splitlines():
        if line.startswith("TASKS RECAP"):
            seen, out = True, []
            continue
        match = TASK_TIME.match(line.strip()) if seen else None
        if match and len(out) < count:
            out.append([match.group("task"), float(match.group("seconds"))])
    return out


def parse_recap(text):
    recap, seen = {}, False
    for line in text.splitlines():
        if line.startswith("PLAY RECAP"):
            seen, recap = True, {}
            continue
        if seen:
            match = RECAP_LINE.match(line.strip())
            if match:
                recap[match.group("host")] = {k: int(v) for k, v in match.groupdict().items()
                                              if k != "host" and v is not None}
    return recap


# --------------------------------------------------------------------------------------------------------------
class Writer:
    """tests/tools/writer.py against a lab's Sentinels, in its own process group, bounded in time."""

    def __init__(self, lab, tag, max_seconds, discovery="masters"):
        self.lab = lab
        self.tag = tag
        self.max_seconds = max_seconds
        self.stop_file = WORK / ("%s.stop" % tag)
        self.ready_file = WORK / ("%s.ready" % tag)
        self.out = WORK / ("%s.writer.json" % tag)
        self.env = dict(os.environ, HA_REDIS_PASSWORD=DATA_PASSWORD, HA_REDIS_SENTINEL_PASSWORD=SENTINEL_PASSWORD)
        self.base = [str(PYTHON), str(WRITER), "--name", GROUP, "--key", "ha-redis-bench:%s" % tag,
                     "--discovery", discovery]
        for s in lab.sentinels():
            self.base += ["--sentinel", s]

    def start(self):
        for path in (self.stop_file, self.ready_file, self.out):
            path.unlink(missing_ok=True)
        cmd = self.base + ["--interval", "0.01", "--timeout", "0.5", "--duration", str(self.max_seconds),
                           "--stop-file", str(self.stop_file), "--ready-file", str(self.ready_file),
                           "--out", str(self.out)]
        self.log = open(WORK / "logs" / ("%s.writer.log" % self.tag), "w", encoding="utf-8")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     env=self.env, cwd=ROOT, start_new_session=True)
        RES.children[self.proc.pid] = "writer"
        deadline = time.monotonic() + 30
        while not self.ready_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise BenchError("the writer got no write acknowledged within 30 s (log: logs/%s.writer.log)"
                                 % self.tag)
            time.sleep(0.1)
        time.sleep(1.0)  # a second of steady writes before the operation starts

    def stop(self):
        time.sleep(1.0)  # and a second after it
        self.stop_file.touch()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
            raise BenchError("the writer did not stop within 30 s") from None
        RES.children.pop(self.proc.pid, None)
        self.log.close()
        for path in (self.stop_file, self.ready_file):
            path.unlink(missing_ok=True)
        with open(self.out, encoding="utf-8") as handle:
            summary = json.load(handle)
        proc = sh(self.base[:2] + ["--check", str(self.out)] + self.base[2:], timeout=60, check=False,
                  env=self.env, cwd=ROOT)
        try:
            checked = json.loads(proc.stdout)
        except ValueError:
            raise BenchError("writer --check failed: %s" % (proc.stderr or proc.stdout)[-300:]) from None
        return summary, checked

    def kill(self):
        kill_group(self.proc.pid)
        self.log.close()


# --------------------------------------------------------------------------------------------------------------
FLOOR_SCRIPT = r"""
set -e
for u in redis-server.service redis-sentinel.service; do ln -sf /dev/null /etc/systemd/system/$u; done
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends %(packages)s >/dev/null
echo "T_INSTALLED $(date +%%s.%%N)"
redis-server --port 6379 --daemonize yes --dir /tmp --logfile /tmp/redis.log
printf 'port 26379\nsentinel monitor %(group)s 127.0.0.1 6379 1\n' >/tmp/sentinel.conf
redis-sentinel /tmp/sentinel.conf --daemonize yes --logfile /tmp/sentinel.log
until [ "$(redis-cli -p 6379 ping 2>/dev/null)" = PONG ]; do sleep 0.05; done
until redis-cli -p 26379 sentinel get-master-addr-by-name %(group)s 2>/dev/null | grep -qx 6379; do sleep 0.05; done
echo "T_DONE $(date +%%s.%%N)"
"""


def measure_floor(run, timeout):
    """Hand install in one fresh, SSH-ready container: apt-get install + one redis-server + one redis-sentinel."""
    address = create_container(FLOOR_NAME, "bench-floor")
    try:
        wait_ssh(address)
        script = FLOOR_SCRIPT % {"packages": " ".join(PACKAGES), "group": GROUP}
        log_path = WORK / "logs" / ("floor-%d.log" % run)
        t0 = time.time()
        rc = run_bounded(["docker", "exec", FLOOR_NAME, "sh", "-c", script], timeout, log_path)
        total = time.time() - t0
        text = log_path.read_text(encoding="utf-8", errors="replace")
        if rc != 0:
            raise BenchError("hand install failed (rc %d): %s" % (rc, text[-500:]))
        installed = re.search(r"T_INSTALLED ([0-9.]+)", text)
        return total, (float(installed.group(1)) - t0) if installed else None
    finally:
        remove_container(FLOOR_NAME)


# --------------------------------------------------------------------------------------------------------------
class Results:
    def __init__(self, args):
        self.args = args
        self.samples = {}
        self.details = []
        self.errors = []
        self.meta = {}

    def add(self, metric, value, **detail):
        self.samples.setdefault(metric, []).append(round(value, 3))
        self.details.append(dict(metric=metric, value=round(value, 3), load1=round(os.getloadavg()[0], 2),
                                 **detail))
        partial = getattr(self.args, "partial", None)
        if partial:  # every sample as it comes, so that an interrupted run still leaves its figures
            with open(partial, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(self.details[-1]) + "\n")
        log("  %-28s %s" % (metric, round(value, 3)))

    def error(self, what, exc):
        self.errors.append({"step": what, "error": str(exc)})
        log("  ERROR %s: %s" % (what, exc))

    def summary(self):
        out = {}
        for metric, values in self.samples.items():
            out[metric] = {"median": round(statistics.median(values), 3), "min": min(values), "max": max(values),
                           "runs": len(values), "samples": values, "unit": UNITS.get(metric, "s")}
            for key in ("controller_cpu", "hosts_cpu", "cpu_per_host"):  # issue 17: CPU where it is spent
                cpu = [d[key] for d in self.details if d["metric"] == metric and d.get(key) is not None]
                if cpu:
                    out[metric][key] = round(statistics.median(cpu), 2)
        return out


UNITS = {
    "rerun_changed": "tasks",
    "verify_module": "s",
    "switchover_write_gap": "ms",
    "switchover_write_gap_addr": "ms",
    "upgrade_write_gap_addr": "ms",
    "verify_module_5": "s",
    "verify_module_9": "s",
    "switchover_module_pause": "ms",
    "switchover_lost_writes": "writes",
    "upgrade_write_gap": "ms",
    "upgrade_lost_writes": "writes",
    "upgrade_module_pause": "ms",
    "cluster_rerun_changed": "tasks",
    **unplanned.UNITS,
    **scale.UNITS,
}

LABELS = [
    ("floor", "Floor: hand install + start redis-server and redis-sentinel (1 container, no Ansible)"),
    ("floor_apt", "Floor: of which apt-get update + install"),
    ("deploy_3", "Cold deploy, site.yml, 3 hosts"),
    ("deploy_5", "Cold deploy, site.yml, 5 hosts"),
    ("deploy_9", "Cold deploy, site.yml, 9 hosts"),
    ("rerun", "Re-run of site.yml, nothing to change (3 hosts)"),
    ("rerun_changed", "Re-run: changed tasks in PLAY RECAP"),
    ("verify_gate", "Verification gate alone, verify.yml wall time (3 hosts)"),
    ("verify_module", "sentinel_quorum module's own elapsed (3 hosts)"),
    ("switchover_total", "Switchover, switchover.yml wall time (3 hosts)"),
    ("verify_module_5", "sentinel_quorum module's own elapsed (5 hosts)"),
    ("verify_module_9", "sentinel_quorum module's own elapsed (9 hosts)"),
    ("switchover_write_gap", "Switchover: client-visible write pause, redis-py client (SENTINEL MASTERS)"),
    ("switchover_write_gap_addr", "Switchover: client-visible write pause, GET-MASTER-ADDR-BY-NAME client"),
    ("switchover_module_pause", "Switchover: module's write_pause_ms"),
    ("switchover_lost_writes", "Switchover: acknowledged writes lost"),
    ("deploy_3_pinned", "Cold deploy pinned to %s, 3 hosts (upgrade lab)" % PINNED_OLD),
    ("upgrade_total", "Rolling upgrade to %s, rolling_upgrade.yml wall time (3 hosts)" % PINNED_NEW),
    ("upgrade_write_gap", "Rolling upgrade: longest write gap, redis-py client (SENTINEL MASTERS)"),
    ("upgrade_write_gap_addr", "Rolling upgrade: longest write gap, GET-MASTER-ADDR-BY-NAME client"),
    ("upgrade_lost_writes", "Rolling upgrade: acknowledged writes lost"),
    ("upgrade_module_pause", "Rolling upgrade: longest write_pause_ms of the module's switchovers"),
    ("cluster_deploy_3x2", "Redis Cluster: cold deploy, site.yml, 3 hosts x 2 nodes (no Sentinel group)"),
    ("cluster_rerun_3x2", "Redis Cluster: re-run of site.yml, nothing to change"),
    ("cluster_rerun_changed", "Redis Cluster: re-run changed tasks"),
    ("cluster_create_module", "Redis Cluster: create 3 x 2 nodes until all agree, ha.redis.redis_cluster"),
    ("cluster_create_redis_cli", "Redis Cluster: create 3 x 2 nodes until all agree, redis-cli --cluster create"),
    *unplanned.LABELS,
    *scale.LABELS,
]


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------------------------
def write_pauses(text):
    """The modules' write pauses as switchover.yml / rolling_upgrade.yml print them: 'write pause 123.4 ms'."""
    return [float(x) for x in re.findall(r"write pause\s+([0-9]+(?:\.[0-9]+)?)\s*ms", text)]


def quorum_module_time(lab, tag, args):
    """The sentinel_quorum module's own ``elapsed`` on this lab (bench/quorum.yml)."""
    done = lab.playbook(BENCH / "quorum.yml", tag, args.timeout)
    match = re.search(r"BENCH_QUORUM elapsed=([0-9.]+) attempts=(\d+) problems=(\d+)", done.text)
    if not match:
        raise BenchError("no BENCH_QUORUM line in the output")
    if int(match.group(3)):
        raise BenchError("the gate found %s problem(s)" % match.group(3))
    return float(match.group(1))


def three_host_run(run, res, args):
    lab = Lab(3, "lab3-run%d" % run)
    try:
        log("run %d: 3-host lab up (not timed): %.1f s" % (run, lab.up()))
        try:
            done = lab.playbook(ROOT / "playbooks" / "site.yml", "deploy3-run%d" % run, args.timeout)
            res.add("deploy_3", done.seconds, run=run, cpu_seconds=lab.last_cpu_seconds,
                    slowest_tasks=slowest_tasks(done.text))
        except BenchError as exc:
            res.error("deploy_3 run %d" % run, exc)
            return
        try:
            done = lab.playbook(ROOT / "playbooks" / "site.yml", "rerun3-run%d" % run, args.timeout)
            recap = done.recap
            res.add("rerun", done.seconds, run=run, cpu_seconds=lab.last_cpu_seconds,
                    slowest_tasks=slowest_tasks(done.text))
            res.add("rerun_changed", sum(h["changed"] for h in recap.values()), run=run,
                    recap={h: v["changed"] for h, v in recap.items()})
            if not recap:
                res.error("rerun run %d" % run, "no PLAY RECAP found in the output")
        except BenchError as exc:
            res.error("rerun run %d" % run, exc)
        try:
            done = lab.playbook(ROOT / "playbooks" / "verify.yml", "verify3-run%d" % run, args.timeout)
            res.add("verify_gate", done.seconds, run=run)
        except BenchError as exc:
            res.error("verify_gate run %d" % run, exc)
        try:
            res.add("verify_module", quorum_module_time(lab, "quorum3-run%d" % run, args), run=run)
        except BenchError as exc:
            res.error("verify_module run %d" % run, exc)
        switchover(lab, run, res, args)
    finally:
        lab.down()


def with_writers(writers, operation):
    """Start every writer, run ``operation()``, stop them all; return its result and [(summary, checked)]."""
    started = []
    try:
        for writer in writers:
            writer.start()
            started.append(writer)
        outcome = operation()
    except BaseException:
        for writer in started:
            try:
                writer.stop()
            except BenchError:
                writer.kill()
        raise
    return outcome, [writer.stop() for writer in writers]


def switchover(lab, run, res, args):
    playbook = ROOT / "playbooks" / "switchover.yml"
    if not playbook.exists():
        res.error("switchover run %d" % run, "playbooks/switchover.yml does not exist")
        return
    # After a cold deploy the primary is the inventory's initial_primary (bench-1): move it away, Sentinel picks.
    extra = {"redis_switchover_from": "bench-1"}
    extra.update(args.switchover_vars)
    writers = [Writer(lab, "switchover-run%d" % run, args.timeout + 60),
               Writer(lab, "switchover-addr-run%d" % run, args.timeout + 60, discovery="addr")]
    try:
        done, results = with_writers(writers, lambda: lab.playbook(
            playbook, "switchover3-run%d" % run, args.timeout, extra_vars=extra))
    except BenchError as exc:
        res.error("switchover run %d" % run, exc)
        return
    (summary, checked), (summary_addr, checked_addr) = results
    primaries = summary.get("primaries_seen", [])
    res.add("switchover_total", done.seconds, run=run, primaries_seen=primaries)
    res.add("switchover_write_gap", summary["longest_write_gap_ms"], run=run, errors=summary["errors"],
            acknowledged=summary["acknowledged"])
    res.add("switchover_write_gap_addr", summary_addr["longest_write_gap_ms"], run=run,
            errors=summary_addr["errors"], acknowledged=summary_addr["acknowledged"])
    res.add("switchover_lost_writes", checked["lost"] + checked_addr["lost"], run=run)
    pauses = write_pauses(done.text)
    if pauses:
        res.add("switchover_module_pause", pauses[-1], run=run)
    else:
        res.error("switchover_module_pause run %d" % run, "no 'write pause N ms' in the output of switchover.yml")
    before, now = lab.hosts["bench-1"][1], lab.primary()
    if now is None or now[0] == before:
        res.error("switchover run %d" % run, "the Sentinels name %s as the primary after the switchover, expected "
                  "another host than bench-1 (%s)" % (now, before))


def deploy_run(size, run, res, args):
    lab = Lab(size, "lab%d-run%d" % (size, run))
    try:
        log("run %d: %d-host lab up (not timed): %.1f s" % (run, size, lab.up()))
        done = lab.playbook(ROOT / "playbooks" / "site.yml", "deploy%d-run%d" % (size, run),
                            args.timeout + 30 * size)
        res.add("deploy_%d" % size, done.seconds, run=run, cpu_seconds=lab.last_cpu_seconds,
                slowest_tasks=slowest_tasks(done.text))
        res.add("verify_module_%d" % size, quorum_module_time(lab, "quorum%d-run%d" % (size, run), args), run=run)
    except BenchError as exc:
        res.error("deploy_%d run %d" % (size, run), exc)
    finally:
        lab.down()


def upgrade_run(run, res, args):
    playbook = ROOT / "playbooks" / "rolling_upgrade.yml"
    if not playbook.exists():
        res.error("upgrade run %d" % run, "playbooks/rolling_upgrade.yml does not exist yet")
        return
    lab = Lab(3, "upgrade-run%d" % run, group_vars={"redis_package_version": PINNED_OLD})
    try:
        log("run %d: 3-host upgrade lab up (not timed): %.1f s" % (run, lab.up()))
        done = lab.playbook(ROOT / "playbooks" / "site.yml", "deploy3pinned-run%d" % run, args.timeout)
        res.add("deploy_3_pinned", done.seconds, run=run)
        before = lab.package_versions()
        if set(before.values()) != {PINNED_OLD}:
            raise BenchError("after the pinned deploy the hosts run %s, expected %s" % (before, PINNED_OLD))
        writers = [Writer(lab, "upgrade-run%d" % run, args.timeout + 60),
                   Writer(lab, "upgrade-addr-run%d" % run, args.timeout + 60, discovery="addr")]
        extra = dict(args.upgrade_vars)
        extra.setdefault("redis_package_version", PINNED_NEW)
        done, results = with_writers(writers, lambda: lab.playbook(
            playbook, "upgrade3-run%d" % run, args.timeout, extra_vars=extra))
        (summary, checked), (summary_addr, checked_addr) = results
        after = lab.package_versions()
        if set(after.values()) != {PINNED_NEW}:
            raise BenchError("after the rolling upgrade the hosts run %s, expected %s" % (after, PINNED_NEW))
        res.add("upgrade_total", done.seconds, run=run, versions_before=before, versions_after=after)
        res.add("upgrade_write_gap", summary["longest_write_gap_ms"], run=run, errors=summary["errors"],
                primaries_seen=summary.get("primaries_seen", []))
        res.add("upgrade_write_gap_addr", summary_addr["longest_write_gap_ms"], run=run,
                errors=summary_addr["errors"])
        res.add("upgrade_lost_writes", checked["lost"] + checked_addr["lost"], run=run)
        pauses = write_pauses(done.text)
        if pauses:
            res.add("upgrade_module_pause", max(pauses), run=run, switchovers=len(pauses), pauses_ms=pauses)
    except BenchError as exc:
        res.error("upgrade run %d" % run, exc)
    finally:
        lab.down()


def faults_lab_run(run, res, args):
    """Unplanned failures on a 3-host lab with the default settings (bench/unplanned.py)."""
    lab = Lab(3, "faults-run%d" % run)
    try:
        log("run %d: 3-host faults lab up (not timed): %.1f s" % (run, lab.up()))
        lab.playbook(ROOT / "playbooks" / "site.yml", "faults-deploy-run%d" % run, args.timeout)
        unplanned.faults_run(lab, NETWORK, (DATA_PASSWORD, SENTINEL_PASSWORD), run, res, args.timeout,
                             settle=lambda tag: lab.playbook(ROOT / "playbooks" / "verify.yml", tag, args.timeout))
    except (BenchError, RuntimeError, subprocess.TimeoutExpired) as exc:
        res.error("faults run %d" % run, exc)
    finally:
        lab.down()


# --------------------------------------------------------------------------------------------------------------
def verdicts(summary):
    """Each target next to the measured medians: 'met', 'missed' or 'n/a' (a figure is missing)."""
    med = {k: v["median"] for k, v in summary.items()}
    out = {}

    def judge(name, ok, text):
        out[name] = {"target": TARGETS[name], "verdict": ("n/a" if ok is None else "met" if ok else "missed"),
                     "detail": text}

    if "deploy_3" in med and "floor" in med:
        ratio = med["deploy_3"] / med["floor"]
        judge("deploy_3", ratio <= 3, "deploy_3 / floor = %.2f" % ratio)
    else:
        judge("deploy_3", None, "needs deploy_3 and floor")
    if "rerun" in med:
        changed = summary.get("rerun_changed", {}).get("max")
        judge("rerun", med["rerun"] < 10 and changed == 0, "median %.1f s, max changed %s" % (med["rerun"], changed))
    else:
        judge("rerun", None, "not measured")
    if "deploy_9" in med and "deploy_3" in med:
        ratio = med["deploy_9"] / med["deploy_3"]
        judge("deploy_9", ratio <= 1.5, "deploy_9 / deploy_3 = %.2f" % ratio)
    else:
        judge("deploy_9", None, "needs deploy_9 and deploy_3")
    if "verify_module" in med:
        judge("verify_module", med["verify_module"] < 0.5, "median %.3f s" % med["verify_module"])
    else:
        judge("verify_module", None, "not measured")
    if "verify_module_9" in med:
        judge("verify_module_9", med["verify_module_9"] < 1, "median %.3f s" % med["verify_module_9"])
    else:
        judge("verify_module_9", None, "not measured")
    for key in ("switchover_write_gap", "switchover_write_gap_addr"):
        if key in med:
            judge(key, med[key] < 1000, "median %.0f ms" % med[key])
        else:
            judge(key, None, "not measured")
    issue17_verdicts(summary, med, judge)
    if "cluster_create_module" in med and "cluster_create_redis_cli" in med:
        ratio = med["cluster_create_module"] / med["cluster_create_redis_cli"]
        judge("cluster_create", ratio <= 1, "module / redis-cli = %.2f (%.2f s / %.2f s)"
              % (ratio, med["cluster_create_module"], med["cluster_create_redis_cli"]))
    else:
        judge("cluster_create", None, "not measured")
    changed = summary.get("cluster_rerun_changed", {}).get("max")
    judge("cluster_rerun", None if changed is None else changed == 0, "max changed %s" % changed)
    return out


def issue17_verdicts(summary, med, judge):
    for size in (3, 9):
        floor, deploy = med.get("floorn_%d" % size), med.get("floorn_deploy_%d" % size)
        if floor and deploy:
            judge("floorn_%d" % size, deploy <= 2 * floor, "deploy_%d / floor_%d = %.2f (%.1f s / %.1f s)"
                  % (size, size, deploy / floor, deploy, floor))
        else:
            judge("floorn_%d" % size, None, "needs floorn_%d and floorn_deploy_%d" % (size, size))
    per_host = {size: summary.get("floorn_deploy_%d" % size, {}).get("cpu_per_host") for size in (3, 9)}
    if all(per_host.values()):
        judge("floorn_cpu", per_host[9] <= per_host[3], "deploy CPU per host: %.1f s (9) vs %.1f s (3)"
              % (per_host[9], per_host[3]))
    else:
        judge("floorn_cpu", None, "needs the CPU of floorn_deploy_3 and floorn_deploy_9")
    for name, metric, limit in (("groups_deploy", "deploy", 1.0), ("groups_rerun", "rerun", 0.3)):
        per_group = scale.marginal(summary, metric)
        if per_group is None:
            judge(name, None, "needs groups1_%s and groups16_%s" % (metric, metric))
        else:
            judge(name, per_group < limit, "(16 groups - 1 group) / 15 = %.2f s per group" % per_group)
    if "groups16_verify_module" in med:
        judge("groups_gate", med["groups16_verify_module"] < 0.1, "median %.3f s" % med["groups16_verify_module"])
    else:
        judge("groups_gate", None, "not measured")


def fmt(value, unit):
    if unit == "ms":
        return "%.0f ms" % value
    if unit == "s":
        return "%.3f s" % value if value < 1 else "%.1f s" % value
    return "%g" % value


def part_of(key):
    """The --only part that measures a figure."""
    if key in unplanned.UNITS:
        return "faults"
    if key.startswith("groups"):
        return "groups"
    if key.startswith("floorn"):
        return "floorn"
    if key.startswith("ctl_"):
        return "controller"
    if key.startswith("cluster"):
        return "cluster"
    if key.startswith("floor"):
        return "floor"
    if key.endswith(("_5", "_9")):
        return "sizes"
    if key.startswith("upgrade") or key == "deploy_3_pinned":
        return "upgrade"
    return "three"


def write_markdown(path, data):
    summary = data["results"]
    m = data["machine"]
    lines = [
        "# ha.redis benchmark results",
        "",
        "Generated by `bench/bench.py` on %s (%s, %d run(s) per figure, %s). Method: [README.md](%s)."
        % (data["finished"], "QUICK smoke run" if data["quick"] else "full run", data["runs"],
           "after an untimed warm-up install" if data.get("warmup") else "no warm-up install",
           os.path.relpath(BENCH / "README.md", Path(path).resolve().parent)),
        "",
    ]
    if data["quick"] or m["load_average_at_start"][0] > m["nproc"] * 0.5:
        lines += ["> **Noisy figures**: %s; load average at start %s on %d CPUs; %d other containers were running."
                  % ("one run only (`--quick`)" if data["quick"] else "the machine was busy",
                     m["load_average_at_start"], m["nproc"], m["other_containers_running_at_start"]), ""]
    lines += [
        "Machine: %s CPUs (%s), %s GiB memory, kernel %s, Docker %s, %s."
        % (m["nproc"], m.get("cpu_model", "?"), m.get("memory_gib", "?"), m["kernel"], m["docker"],
           m["ansible_core"]),
        "",
        "| figure | median | min | max | runs |",
        "|---|---:|---:|---:|---:|",
    ]
    for key, label in LABELS:
        if key not in summary and part_of(key) not in data.get("parts", [part_of(key)]):
            continue  # a part this run did not measure (--only)
        if key in summary:
            s = summary[key]
            cells = [fmt(s[k], s["unit"]) for k in ("median", "min", "max")]
            lines.append("| %s | %s | %s | %s | %d |" % (label, cells[0], cells[1], cells[2], s["runs"]))
        else:
            lines.append("| %s | not measured | | | 0 |" % label)
    cpu_rows = []
    for key in ("deploy_3", "deploy_5", "deploy_9", "rerun"):
        cpu = [d["cpu_seconds"] for d in data.get("samples", []) if d.get("metric") == key and "cpu_seconds" in d]
        if cpu and key in summary:
            wall, busy = summary[key]["median"], statistics.median(cpu)
            cpu_rows.append("| %s | %.1f s | %.1f s | %.0f%% of %d CPUs | %.1f s |"
                            % (key, wall, busy, 100 * busy / (wall * m["nproc"]), m["nproc"], busy / m["nproc"]))
    if cpu_rows:
        lines += ["", "Where the time goes: CPU time the whole machine (controller and containers) spent during the "
                  "playbook, medians. When the machine is busy nearly all the time, the last column (CPU time / "
                  "CPUs) is a floor no playbook order can beat on this machine.", "",
                  "| figure | wall | CPU time | busy | CPU time / CPUs |", "|---|---:|---:|---:|---:|"] + cpu_rows
    targets = {key: v for key, v in data["targets"].items() if part_of(key) in data.get("parts", [part_of(key)])}
    if targets:
        lines += ["", "| target | verdict | measured |", "|---|---|---|"]
    for key, v in targets.items():
        lines.append("| %s: %s | %s | %s |" % (key, v["target"], v["verdict"], v["detail"]))
    if data["errors"]:
        lines += ["", "## Steps that failed", ""]
        for e in data["errors"]:
            first = str(e["error"]).splitlines()[0] if str(e["error"]) else ""
            lines.append("- `%s`: %s" % (e["step"], first))
    lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


def write_plot(path, summary, quick=False):
    try:
        import matplotlib  # noqa: PLC0415 - optional (bench/requirements.txt)

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415
    except ImportError:
        return "matplotlib is not installed (pip install -r bench/requirements.txt)"
    sizes = [n for n in (3, 5, 9) if "deploy_%d" % n in summary]
    if not sizes:
        return "no deploy figure to plot"
    med = [summary["deploy_%d" % n]["median"] for n in sizes]
    low = [m - summary["deploy_%d" % n]["min"] for n, m in zip(sizes, med)]
    high = [summary["deploy_%d" % n]["max"] - m for n, m in zip(sizes, med)]
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.errorbar(sizes, med, yerr=[low, high], fmt="o-", capsize=4, label="site.yml cold deploy (median, min-max)")
    if "floor" in summary:
        floor = summary["floor"]["median"]
        ax.axhline(floor, color="grey", linestyle="--", label="hand-install floor, 1 host (%.0f s)" % floor)
        ax.axhline(3 * floor, color="tab:red", linestyle=":", label="target: 3 x floor")
    if "deploy_3" in summary:
        ax.plot([9], [1.5 * summary["deploy_3"]["median"]], "x", color="tab:red", markersize=9,
                label="target for 9 hosts: 1.5 x 3-host figure")
    ax.set_xlabel("hosts (each a data node and a Sentinel)")
    ax.set_ylabel("seconds")
    ax.set_xticks([3, 5, 9])
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    ax.set_title("ha.redis: cold deploy time vs number of hosts" + (" (quick run: noisy)" if quick else ""))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return None


# --------------------------------------------------------------------------------------------------------------
def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (median, min, max); default 3")
    parser.add_argument("--quick", action="store_true", help="one run of the 3-host figures only (smoke test)")
    parser.add_argument("--only", default="floor,three,sizes,upgrade,faults,cluster",
                        help="comma list of parts: floor, three (deploy/re-run/verify/switchover on 3 hosts), "
                             "sizes (5 and 9 hosts), upgrade, faults (killed and partitioned primary), cluster "
                             "(Redis Cluster of 3 hosts x 2 nodes: deploy, re-run, create vs redis-cli); not by "
                             "default: floorn (parallel floor vs deploy, --floor-sizes), groups (3 hosts with 1, "
                             "4 and 16 primary groups), controller (re-run A/B of strategies)")
    parser.add_argument("--partial", help="append every sample to this JSON-lines file as it is measured")
    parser.add_argument("--cluster-pairs", type=int, default=3,
                        help="interleaved creates per tool and run of the cluster part (default 3)")
    parser.add_argument("--floor-sizes", default="3,9", help="host counts of the floorn part (default 3,9)")
    parser.add_argument("--timeout", type=int, default=900, help="bound of one step, seconds (default 900)")
    parser.add_argument("--no-warmup", dest="warmup", action="store_false",
                        help="skip the untimed hand install that warms the way to the Debian mirror")
    parser.add_argument("--render", metavar="RESULTS_JSON",
                        help="only write results.md and the plot again from an existing results.json")
    parser.add_argument("--out-dir", default=str(BENCH), help="where results.json/.md and the plot go")
    parser.add_argument("--switchover-vars", type=json.loads, default={},
                        help="extra vars for playbooks/switchover.yml, as JSON")
    parser.add_argument("--upgrade-vars", type=json.loads, default={},
                        help="extra vars for playbooks/rolling_upgrade.yml, as JSON (redis_package_version "
                             "defaults to %s)" % PINNED_NEW)
    args = parser.parse_args(argv)
    if args.partial:
        args.partial = str(Path(args.partial).resolve())
        Path(args.partial).parent.mkdir(parents=True, exist_ok=True)
    args.parts = {p.strip() for p in args.only.split(",") if p.strip()}
    unknown = args.parts - {"floor", "three", "sizes", "upgrade", "faults", "cluster", "floorn", "groups",
                            "controller"}
    if unknown:
        parser.error("unknown --only part(s): %s" % ", ".join(sorted(unknown)))
    if args.quick:
        args.runs = 1
        args.parts.discard("sizes")
    return args


def render(data, out):
    """results.md and the plot from the results (also used with --render on an existing results.json)."""
    out.mkdir(parents=True, exist_ok=True)
    write_markdown(out / "results.md", data)
    problem = write_plot(out / "deploy_vs_hosts.png", data["results"], data.get("quick", False))
    if problem:
        log("plot skipped: %s" % problem)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.render:
        with open(args.render, encoding="utf-8") as handle:
            data = json.load(handle)
        data.setdefault("warmup", False)  # results written before the warm-up existed had none
        render(data, Path(args.out_dir))
        return 0
    os.chdir(ROOT)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    atexit.register(RES.cleanup)
    res = Results(args)
    started = datetime.datetime.now(datetime.timezone.utc)
    res.meta["machine"] = machine_info()
    log("machine: %s" % res.meta["machine"])
    try:
        prepare_host()
        if args.warmup:
            # Untimed: the first download from the mirror is often slower (caches along the way are cold), and it
            # would land on whichever figure comes first.
            try:
                log("warm-up: one untimed hand install: %.1f s" % measure_floor(0, args.timeout)[0])
            except BenchError as exc:
                res.error("warm-up", exc)
        for run in range(1, args.runs + 1):
            log("=== run %d of %d" % (run, args.runs))
            if "floor" in args.parts:
                try:
                    total, apt = measure_floor(run, args.timeout)
                    res.add("floor", total, run=run)
                    if apt is not None:
                        res.add("floor_apt", apt, run=run)
                except BenchError as exc:
                    res.error("floor run %d" % run, exc)
            if "three" in args.parts:
                three_host_run(run, res, args)
            if "sizes" in args.parts:
                for size in (5, 9):
                    deploy_run(size, run, res, args)
            if "upgrade" in args.parts:
                upgrade_run(run, res, args)
            if "faults" in args.parts:
                faults_lab_run(run, res, args)
            if "cluster" in args.parts:
                cluster_hosts.cluster_run(sys.modules[__name__], run, res, args)
            if "floorn" in args.parts:
                for size in [int(n) for n in args.floor_sizes.split(",")]:
                    scale.floor_vs_deploy_run(sys.modules[__name__], size, run, res, args)
            if "groups" in args.parts:
                # Interleaved: 1, 4, 16 groups on odd runs, 16, 4, 1 on even ones.
                for count in ((1, 4, 16) if run % 2 else (16, 4, 1)):
                    scale.groups_run(sys.modules[__name__], count, run, res, args)
            if "controller" in args.parts:
                scale.controller_run(sys.modules[__name__], run, res, args)
    except BenchError as exc:
        res.error("setup", exc)
    finally:
        RES.cleanup()
    summary = res.summary()
    data = {
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "quick": args.quick,
        "runs": args.runs,
        "parts": sorted(args.parts),
        "warmup": args.warmup,
        "machine": res.meta["machine"],
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "image": IMAGE,
        "results": summary,
        "targets": verdicts(summary),
        "samples": res.details,
        "errors": res.errors,
    }
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    render(data, out)
    log("results: %s, %s" % (rel(out / "results.json"), rel(out / "results.md")))
    return 1 if res.errors else 0


if __name__ == "__main__":
    sys.exit(main())
