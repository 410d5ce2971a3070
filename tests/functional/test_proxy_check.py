# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stable endpoint on loopback: a real HAProxy with the role's own template (roles/proxy) in front of real
redis-server and redis-sentinel processes; the gate ha.redis.proxy_check passes, then fails on really broken
setups; a plain client (not Sentinel-aware) through the proxy follows a switchover; an old primary that says
role:master without a replica gets no traffic.

Needs Debian's haproxy on the machine (scripts/host-deps.sh installs it)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import jinja2
import pytest
import redis
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cluster import COLLECTIONS, DATA_PASSWORD, REPO, SENTINEL_PASSWORD, free_port, wait_until  # noqa: E402

sys.path.insert(0, str(COLLECTIONS))
from ansible_collections.ha.redis.plugins.module_utils import _proxy  # noqa: E402
from ansible_collections.ha.redis.plugins.modules import proxy_check  # noqa: E402

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
CHECK_USER, CHECK_PASSWORD = "haproxy-check", "check-s3cret"
ROLE = REPO / "roles" / "proxy"

pytestmark = pytest.mark.skipif(not Path(HAPROXY).exists(), reason="haproxy is not installed (scripts/host-deps.sh)")


def socket_path():
    """A path for HAProxy's stats socket short enough for it (97 characters at most; pytest's are longer)."""
    return Path(tempfile.mkdtemp(prefix="ha-redis-haproxy-")) / "admin.sock"


def prepare_nodes(cluster):
    """The check's user on every data node (the ACL rule of roles/server/templates/users.acl.j2: INFO only), and the
    write bound ha.redis sets (min-replicas-to-write 1, whose good-replica count the check reads)."""
    for node in cluster.data_nodes:
        client = node.client()
        client.execute_command("ACL", "SETUSER", CHECK_USER, "on", ">" + CHECK_PASSWORD, "resetchannels", "-@all",
                               "+info")
        client.config_set("min-replicas-to-write", 1)
        client.config_set("min-replicas-max-lag", 10)


def render_config(cluster, workdir, port, socket_path=None):
    """The role's template with the role's defaults, for one group of loopback nodes (each on its own port), with
    what a non-root process cannot do taken out (chroot, user, syslog)."""
    nodes = cluster.data_nodes
    group = dict(name=cluster.name, port=nodes[0].port, hosts=["node%d" % i for i in range(len(nodes))],
                 endpoints={"node%d" % i: n.address for i, n in enumerate(nodes)}, replicas=len(nodes) - 1,
                 min_replicas_to_write=1)
    listeners = _proxy.proxy_listeners(dict(groups=[group]), "loopback", port - nodes[0].port, "127.0.0.1",
                                       CHECK_USER, CHECK_PASSWORD)
    variables = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text())
    variables.update(yaml.safe_load((ROLE / "vars" / "main.yml").read_text()))
    variables.update(__redis_proxy_listeners=listeners,
                     __redis_proxy_stats_socket=str(socket_path or workdir / "admin.sock"),
                     ansible_managed="Managed by the test")
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, trim_blocks=True)
    env.filters["comment"] = lambda text: "# " + text
    text = env.from_string((ROLE / "templates" / "haproxy.cfg.j2").read_text()).render(variables)
    kept = [line for line in text.splitlines()
            if line.strip().split(" ")[0] not in ("chroot", "user", "group", "daemon", "log")]
    path = workdir / "haproxy.cfg"
    path.write_text("\n".join(kept) + "\n")
    return path


class Proxy:
    def __init__(self, config, socket_path):
        self.config, self.socket = config, socket_path
        check = subprocess.run([HAPROXY, "-c", "-f", str(config)], capture_output=True, text=True, check=False)
        assert check.returncode == 0, check.stdout + check.stderr
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(config)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        wait_until(lambda: Path(socket_path).exists(), timeout=10, what="HAProxy's stats socket")

    def ask(self, command):
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.connect(str(self.socket))
            sock.sendall(command.encode() + b"\n")
            return b"".join(iter(lambda: sock.recv(65536), b"")).decode()

    def routed(self, backend):
        return [s.endpoint for s in _proxy.parse_servers_state(self.ask("show servers state"))[backend] if s.routing]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()  # our own process, by its handle
            self.proc.wait(timeout=10)


@pytest.fixture
def proxied(secured_cluster, tmp_path):
    cluster = secured_cluster
    prepare_nodes(cluster)
    port = free_port()
    path = socket_path()
    proxy = Proxy(render_config(cluster, tmp_path, port, path), path)
    try:
        yield cluster, proxy, port
    finally:
        proxy.stop()
        shutil.rmtree(path.parent, ignore_errors=True)


def gate(run_module, cluster, proxy, timeout=10):
    return run_module("proxy_check", dict(sentinels=cluster.sentinel_addresses(), primary_name=[cluster.name],
                                          stats_socket=str(proxy.socket), proxy="loopback",
                                          sentinel_password=SENTINEL_PASSWORD, timeout=timeout))


def test_the_check_user_may_run_info_only(proxied):
    cluster, _proxy_, _port = proxied
    client = redis.Redis(port=cluster.primary.port, username=CHECK_USER, password=CHECK_PASSWORD)
    assert client.info("replication")["role"] == "master"
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.get("anything")
    with pytest.raises(redis.exceptions.NoPermissionError):
        client.config_get("requirepass")


def test_gate_passes_then_fails_on_a_server_forced_up_and_on_a_dead_proxy(proxied, run_module):
    cluster, proxy, _port = proxied
    backend = "redis_" + cluster.name
    wait_until(lambda: proxy.routed(backend) == [cluster.primary.address], timeout=10, what="the primary routed")
    result = gate(run_module, cluster, proxy)
    assert not result.get("failed"), result["msg"] if "msg" in result else result
    assert result["changed"] is False and result["problems"] == []
    assert result["primaries"] == {cluster.name: cluster.primary.address}
    documented = set(yaml.safe_load(proxy_check.RETURN))
    assert documented <= set(result) and set(result) - documented <= {"changed", "invocation", "rc"}
    assert check_mode_result(run_module, cluster, proxy)["problems"] == []

    # A replica forced up: HAProxy would send clients to it.
    proxy.ask("disable health %s/node1" % backend)
    proxy.ask("set server %s/node1 health up" % backend)
    result = gate(run_module, cluster, proxy, timeout=1)
    assert result["failed"] and [p["check"] for p in result["problems"]] == ["other_server_routed"]
    assert "Proxy loopback, backend %s: routes to node1 (%s" % (backend, cluster.replicas[0].address) in result["msg"]
    proxy.ask("enable health %s/node1" % backend)
    # Its checks resume and take it out again (it says role:slave).
    wait_until(lambda: proxy.routed(backend) == [cluster.primary.address], timeout=5, what="the replica out")

    # The primary in maintenance: nothing is routed.
    proxy.ask("set server %s/node0 state maint" % backend)
    result = gate(run_module, cluster, proxy, timeout=1)
    assert result["failed"] and [p["check"] for p in result["problems"]] == ["primary_not_routed"]
    proxy.ask("set server %s/node0 state ready" % backend)
    assert not gate(run_module, cluster, proxy).get("failed")

    proxy.stop()
    result = gate(run_module, cluster, proxy, timeout=0)
    assert result["failed"] and [p["check"] for p in result["problems"]] == ["proxy_unreachable"]


def check_mode_result(run_module, cluster, proxy):
    return run_module("proxy_check", dict(sentinels=cluster.sentinel_addresses(), primary_name=[cluster.name],
                                          stats_socket=str(proxy.socket), sentinel_password=SENTINEL_PASSWORD),
                      check_mode=True)


def test_an_old_primary_without_replicas_gets_no_traffic(proxied, run_module):
    """The two-primaries hazard: a node that says role:master but has no replica (a restarted old primary) is
    never routed to, while the real primary stays routed."""
    cluster, proxy, _port = proxied
    backend = "redis_" + cluster.name
    wait_until(lambda: proxy.routed(backend) == [cluster.primary.address], timeout=10, what="the primary routed")
    stray = cluster.replicas[1]
    stray.client().execute_command("REPLICAOF", "NO", "ONE")
    assert stray.client().info("replication")["role"] == "master"
    # Two full check periods and more: it would be up by now if role:master were enough.
    time.sleep(2.5)
    assert proxy.routed(backend) == [cluster.primary.address]
    assert not gate(run_module, cluster, proxy, timeout=0).get("failed")
    stray.client().execute_command("REPLICAOF", cluster.primary.host, cluster.primary.port)


def test_a_plain_client_through_the_proxy_follows_a_switchover(proxied, run_module):
    cluster, proxy, port = proxied
    backend = "redis_" + cluster.name
    wait_until(lambda: proxy.routed(backend) == [cluster.primary.address], timeout=10, what="the primary routed")
    client = redis.Redis(host="127.0.0.1", port=port, password=DATA_PASSWORD, socket_timeout=0.5,
                         socket_connect_timeout=0.5)
    assert client.rpush("proxy:writes", 0) == 1
    old = cluster.primary
    cluster.sentinels[0].client().execute_command("SENTINEL", "FAILOVER", cluster.name)
    started, acked, failed, last_error = time.monotonic(), [], 0, None
    new = None
    while time.monotonic() - started < 30:
        try:
            client.rpush("proxy:writes", len(acked) + 1)
            acked.append(time.monotonic())
            served = client.info("server")["tcp_port"]
        except (redis.RedisError, OSError) as exc:
            failed, last_error = failed + 1, exc
            time.sleep(0.05)
            continue
        if served != old.port:
            new = served
            break
        time.sleep(0.02)
    assert new is not None, "the client never reached another primary (%d failed writes, last: %s)" % (
        failed, last_error)
    assert cluster.current_primary().port == new
    result = gate(run_module, cluster, proxy)
    assert not result.get("failed"), result.get("msg")
    assert result["primaries"][cluster.name] == "127.0.0.1:%d" % new
    # The demoted primary's connections were cut; the same client object reconnected through the proxy.
    assert client.execute_command("ROLE")[0] == b"master"
