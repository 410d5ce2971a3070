# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module's EXAMPLES block runs, task by task, against real processes, so that the examples cannot rot.

How an example meets the test processes (write examples within these rules):

1. Variables: an example may use only the variables of ``EXAMPLE_VARS`` (the credentials of the nodes, and
   ``users_acl``, a registered result), which the test supplies, and those its own tasks register.
2. Addresses: examples describe one group ``main`` on three hosts, 10.0.0.11 (the primary), 10.0.0.12 and
   10.0.0.13, data nodes on port 6379 and Sentinels on 26379. ``10.0.0.1N:6379`` becomes data node N of the test
   cluster, ``10.0.0.1N:26379`` Sentinel N, ``primary_host: 10.0.0.1N`` followed by ``primary_port: 6379`` the
   same data node, and ``127.0.0.1:26379`` Sentinel 1.
3. A module that acts on one node (``login_port``) and whose example leaves ``login_port`` out talks to the
   default port on loopback, as the roles do; the test sets ``login_port`` to replica 1 (10.0.0.12, a data node)
   or to Sentinel 1. In the list form (``instances``), the entries are two instances of that host: ``login_port:
   6379`` becomes that node and ``login_port: 6380`` a second one (replica 2, or a second ACL data node).
4. Paths under ``PATHS`` move into a temporary directory; the files the test nodes use are put where the example
   expects them.

Each module gets a fresh cluster with passwords; its examples run in order, in one play on localhost, and every
task must succeed. The play runs as a user's would: the modules come from the tarball built from this checkout and
installed in a temporary collections path (fixture ``installed_collection``), and ansible-playbook runs from a
temporary directory without the project's ansible.cfg.
"""

from __future__ import annotations

import importlib
import os
import re
import shutil
import sys

import pytest
import redis
import yaml
from cluster import (
    COLLECTIONS,
    REPO,
    Cluster,
    Node,
    failed_tasks,
    free_port,
    run_module_direct,
    run_playbook,
    wait_until,
)
from redis_cluster_lab import ClusterLab
from test_proxy_check import HAPROXY, Proxy, prepare_nodes, render_config, socket_path

sys.path.insert(0, str(COLLECTIONS))

DATA_PASSWORD = "data-example-pw"
SENTINEL_PASSWORD = "sentinel-example-pw"
EXAMPLE_VARS = dict(redis_password=DATA_PASSWORD, redis_sentinel_password=SENTINEL_PASSWORD,
                    redis_old_password=DATA_PASSWORD, users_acl=dict(changed=False))
PATHS = ("/etc/redis", "/var/lib/redis", "/etc/systemd/system", "/run/haproxy")
MODULES = sorted(name[:-3] for name in os.listdir(REPO / "plugins" / "modules") if name.endswith(".py"))
DATA_NODE_MODULES = {"redis_config", "redis_replication"}
SENTINEL_NODE_MODULES = {"sentinel_monitor", "sentinel_reset"}
# Redis Cluster modules: their examples describe six nodes 10.0.0.11-16:6379 on hosts redis-1, -2, -3 (twice each);
# redis_cluster's grow and shrink examples add 10.0.0.17-18:6379 on redis-4.
CLUSTER_MODULES = {"cluster_check", "cluster_failover", "cluster_info", "cluster_rebalance", "redis_cluster"}
# Variables that exist only inside the roles: an example that uses one cannot run in a playbook of one's own.
ROLE_ONLY = ("redis_address",)
# Examples that need more than loopback processes; tests/functional/test_backup.py runs these modules instead.
NOT_ON_LOOPBACK = {
    "redis_restore": "its load example stops a systemd unit and both need a restic repository",
    "backup_info": "it needs a restic repository at the role's path",
}


def examples(module):
    return importlib.import_module("ansible_collections.ha.redis.plugins.modules.%s" % module).EXAMPLES


def substitute(text, data_nodes, sentinels, root):
    """Rules 2 and 4 of the module docstring, applied to the text of an EXAMPLES block."""
    def node(index, nodes):
        return nodes[int(index) - 1]

    def host_and_port(match):
        target = node(match.group(1), data_nodes)
        return "primary_host: %s%sprimary_port: %d" % (target.host, match.group(2), target.port)

    text = re.sub(r"primary_host: 10\.0\.0\.1([1-3])(\s+)primary_port: 6379", host_and_port, text)
    text = re.sub(r"10\.0\.0\.1([1-3]):26379", lambda m: node(m.group(1), sentinels).address, text)
    text = re.sub(r"10\.0\.0\.1([1-3]):6379", lambda m: node(m.group(1), data_nodes).address, text)
    if sentinels:
        text = text.replace("127.0.0.1:26379", sentinels[0].address)
    for path in PATHS:
        text = text.replace(path, str(root) + path)
    return text


def set_login_port(tasks, data_port, sentinel_port, acl_ports=None, second_port=None):
    """Rule 3: a one-node module without login_port talks to the test's node; list entries to the host's two."""
    for task in tasks:
        name = next((key.split(".")[-1] for key in task if key.startswith("ha.redis.")), None)
        args = task.get("ha.redis.%s" % name) if name else None
        if isinstance(args, dict) and args.get("instances"):
            ports = {6379: data_port if name in DATA_NODE_MODULES else acl_ports["redis"], 6380: second_port}
            for entry in args["instances"]:
                entry["login_port"] = ports[entry["login_port"]]
            continue
        if not isinstance(args, dict) or "login_port" in args:
            continue
        if name in DATA_NODE_MODULES:
            args["login_port"] = data_port
        elif name in SENTINEL_NODE_MODULES:
            args["login_port"] = sentinel_port
        elif name == "redis_acl":
            args["login_port"] = acl_ports[args.get("node_type", "redis")]
    return tasks


def run_play(tasks, tmp_path, collections_path):
    play = dict(name="Examples", hosts="localhost", gather_facts=False, vars=EXAMPLE_VARS, tasks=tasks)
    rc, report, stderr = run_playbook([play], tmp_path, collections_path=collections_path)
    failed = failed_tasks(report)
    assert rc == 0 and not failed, "failed examples: %s\n%s" % (failed, stderr[-2000:])
    ran = [task["task"]["name"] for play in report["plays"] for task in play["tasks"]]
    assert ran == [task["name"] for task in tasks], "not every example ran: %s" % ran


def acl_nodes(root):
    """An ACL data node, an ACL Sentinel and a second ACL data node (the list form), their ACL files where the
    redis_acl examples expect them."""
    etc = root / "etc" / "redis"
    etc.mkdir(parents=True, exist_ok=True)
    users, sentinel_users = etc / "users.acl", etc / "sentinel-ha.acl"
    users.write_text("user default off\nuser admin on >%s ~* &* +@all\n" % DATA_PASSWORD)
    sentinel_users.write_text("user default off\nuser sentinel-admin on >%s ~* &* +@all\n" % SENTINEL_PASSWORD)
    port, second_port, sentinel_port = free_port(), free_port(), free_port()
    data = Node("redis", root / "acl-data", port, "port %d\nbind 127.0.0.1\naclfile %s\nsave \"\"\n" % (port, users))
    data.client = lambda **kw: redis.Redis(host=data.host, port=port, username="admin", password=DATA_PASSWORD)
    second = Node("redis", root / "acl-data-2", second_port,
                  "port %d\nbind 127.0.0.1\naclfile %s\nsave \"\"\n" % (second_port, users))
    second.client = lambda **kw: redis.Redis(host=second.host, port=second_port, username="admin",
                                             password=DATA_PASSWORD)
    sentinel = Node("sentinel", root / "acl-sentinel", sentinel_port,
                    "port %d\nbind 127.0.0.1\naclfile %s\nsentinel sentinel-user sentinel-admin\n"
                    "sentinel sentinel-pass %s\n" % (sentinel_port, sentinel_users, SENTINEL_PASSWORD))
    sentinel.client = lambda **kw: redis.Redis(host=sentinel.host, port=sentinel_port, username="sentinel-admin",
                                               password=SENTINEL_PASSWORD)
    return data, sentinel, second


def run_cluster_examples(module, text, tmp_path, collections_path):
    """Six cluster nodes; every module but redis_cluster (whose examples create it) gets the cluster made first."""
    extra = ["redis-4"] * 2 if module == "redis_cluster" else []
    lab = ClusterLab(tmp_path / "lab", count=6 + len(extra), password=DATA_PASSWORD,
                     hosts=["redis-1", "redis-2", "redis-3"] * 2 + extra).start()
    try:
        def node(match):
            return lab.nodes[int(match.group(1)) - 1]
        text = re.sub(r"host: 10\.0\.0\.1([1-8]), port: 6379",
                      lambda m: "host: %s, port: %d" % (node(m).host, node(m).port), text)
        text = re.sub(r"10\.0\.0\.1([1-8]):6379", lambda m: node(m).address, text)
        if module != "redis_cluster":
            made = run_module_direct("redis_cluster", dict(nodes=lab.declared(), login_password=DATA_PASSWORD),
                                     tmp_path)
            assert made.get("created"), made
            lab.wait_ok()
        run_play(yaml.safe_load(text), tmp_path, collections_path)
    finally:
        lab.stop()


@pytest.mark.parametrize("module", MODULES)
def test_examples_run(module, tmp_path, installed_collection):
    text = examples(module)
    installed = installed_collection / "ansible_collections" / "ha" / "redis" / "plugins" / "modules" / (module + ".py")
    assert installed.read_text() == (REPO / "plugins" / "modules" / (module + ".py")).read_text(), \
        "the installed %s is not the checkout's" % module
    if module in NOT_ON_LOOPBACK:
        pytest.skip("the examples of %s are not run here: %s (tests/functional/test_backup.py runs the module)"
                    % (module, NOT_ON_LOOPBACK[module]))
    for name in ROLE_ONLY:
        if name in text:
            pytest.skip("the examples of %s use %s, a variable of the roles only; rewrite them by the rules above"
                        % (module, name))
    registered = {task["register"] for task in yaml.safe_load(text) if "register" in task}
    for name in set(re.findall(r"\{\{\s*([a-z_]+)", text)) - set(EXAMPLE_VARS) - registered - {"lookup"}:
        pytest.fail("the examples of %s use the variable %s, which the test does not supply (rule 1)" % (module, name))
    if module in CLUSTER_MODULES:
        run_cluster_examples(module, text, tmp_path, installed_collection)
        return
    root = tmp_path / "root"
    root.mkdir()
    if module == "redis_acl":
        nodes = acl_nodes(root)
        for node in nodes:
            node.start()
        try:
            tasks = set_login_port(yaml.safe_load(substitute(text, [], [], root)), None, None,
                                   acl_ports=dict(redis=nodes[0].port, sentinel=nodes[1].port),
                                   second_port=nodes[2].port)
            run_play(tasks, tmp_path, installed_collection)
        finally:
            for node in nodes:
                node.stop()
        return
    if module == "node_files":
        for path in PATHS:
            (root / path.lstrip("/")).mkdir(parents=True)
        templates = tmp_path / "templates"
        templates.mkdir()
        (templates / "server-ansible.conf.j2").write_text("port 6379\n")
        tasks = yaml.safe_load(substitute(text, [], [], root))
        run_play(tasks, tmp_path, installed_collection)
        return
    cluster = Cluster(tmp_path / "cluster", name="main", password=DATA_PASSWORD, sentinel_password=SENTINEL_PASSWORD)
    try:
        cluster.start()
        etc = root / "etc" / "redis"
        etc.mkdir(parents=True)
        (etc / "sentinel-ha.conf").symlink_to(cluster.sentinels[0].config_path)
        tasks = yaml.safe_load(substitute(text, cluster.data_nodes, cluster.sentinels, root))
        set_login_port(tasks, cluster.replicas[0].port, cluster.sentinels[0].port, second_port=cluster.replicas[1].port)
        proxy = start_proxy(cluster, root) if module == "proxy_check" else None
        try:
            run_play(tasks, tmp_path, installed_collection)
        finally:
            if proxy is not None:
                proxy.stop()
                shutil.rmtree(os.path.dirname(proxy.socket), ignore_errors=True)
    finally:
        cluster.stop()


def start_proxy(cluster, root):
    """proxy_check: a real HAProxy (the role's template) in front of the cluster, its stats socket where the example
    expects it (/run/haproxy/admin.sock, moved under ``root``), routing to the primary already."""
    if not os.path.exists(HAPROXY):
        pytest.skip("haproxy is not installed (scripts/host-deps.sh)")
    prepare_nodes(cluster)
    # HAProxy's socket in a short path (its limit), reached through the path the example names.
    (root / "run" / "haproxy").mkdir(parents=True)
    path = socket_path()
    (root / "run" / "haproxy" / "admin.sock").symlink_to(path)
    proxy = Proxy(render_config(cluster, root, free_port(), path), path)
    try:
        wait_until(lambda: proxy.routed("redis_main") == [cluster.primary.address], timeout=10,
                   what="the primary routed")
    except BaseException:
        proxy.stop()
        raise
    return proxy
