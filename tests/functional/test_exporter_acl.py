# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The exporter's ACL users, as the roles' templates write them, against real servers and the real exporter.

A primary, two replicas and three Sentinels on loopback get the user ``exporter`` with exactly the rules of
roles/server/templates/users.acl.j2 and roles/sentinel/templates/sentinel-users.acl.j2; Debian's
prometheus-redis-exporter (scripts/host-deps.sh installs it) scrapes each as that user. Every metric the alert
rules read is there, the exporter logs no permission error, and the user can read no key and no configuration.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
import redis
from cluster import HOST, REPO, free_port, wait_until

EXPORTER = shutil.which("prometheus-redis-exporter") or "/usr/bin/prometheus-redis-exporter"
PASSWORD = "exporter-s3cret"
RULES = re.compile(r"^user \{\{ redis_exporter_user[^\n]*?\}\} (resetchannels -@all [^\n]*)$", re.M)


def template_rules(path):
    found = RULES.findall((REPO / path).read_text())
    assert len(found) == 1, "%s: expected one exporter user line, found %d" % (path, len(found))
    return found[0].split()


@pytest.fixture(scope="module")
def exporters(shared_cluster, tmp_path_factory):
    data_rules = template_rules("roles/server/templates/users.acl.j2")
    sentinel_rules = template_rules("roles/sentinel/templates/sentinel-users.acl.j2")
    nodes = [(n, data_rules) for n in shared_cluster.data_nodes] + [(shared_cluster.sentinels[0], sentinel_rules)]
    folder = tmp_path_factory.mktemp("exporters")
    started = []
    try:
        for node, rules in nodes:
            client = node.client()
            client.execute_command("ACL", "SETUSER", "exporter", "reset", "on", ">" + PASSWORD, *rules)
            client.execute_command("ACL", "LOG", "RESET")
            port = free_port()
            env = dict(os.environ, REDIS_ADDR="redis://%s:%d" % (HOST, node.port), REDIS_USER="exporter",
                       REDIS_PASSWORD=PASSWORD, REDIS_EXPORTER_WEB_LISTEN_ADDRESS="%s:%d" % (HOST, port),
                       REDIS_EXPORTER_CONFIG_COMMAND="-", REDIS_EXPORTER_REDIS_ONLY_METRICS="true")
            log = open(folder / ("%d.log" % node.port), "wb")  # noqa: SIM115 - closed below
            proc = subprocess.Popen([EXPORTER], env=env, stdout=log, stderr=subprocess.STDOUT)
            started.append((node, port, proc, log))
        for _node, port, _proc, _log in started:
            wait_until(lambda p=port: _answers(p), timeout=10, what="the exporter on port %d" % port)
        yield started
    finally:
        for _node, _port, proc, log in started:
            proc.terminate()
            proc.wait(timeout=10)
            log.close()


def _answers(port):
    try:
        scrape(port)
        return True
    except OSError:
        return False


def scrape(port):
    with urllib.request.urlopen("http://%s:%d/metrics" % (HOST, port), timeout=5) as answer:  # noqa: S310
        return answer.read().decode()


def test_every_metric_the_rules_read_is_exported(shared_cluster, exporters):
    shared_cluster.wait_replication()
    shared_cluster.wait_sentinels()
    # The second scrape of each: the first may come before the exporter knows every Sentinel and replica.
    texts = {node.port: [scrape(port) for _attempt in range(2)][-1] for node, port, _proc, _log in exporters}
    primary = texts[shared_cluster.primary.port]
    replica = texts[shared_cluster.replicas[0].port]
    sentinel = texts[shared_cluster.sentinels[0].port]
    for text in texts.values():
        assert re.search(r"(?m)^redis_up 1$", text)
    for name in ("redis_master_repl_offset", "redis_connected_slave_offset_bytes", "redis_memory_used_bytes",
                 "redis_memory_max_bytes", "redis_rejected_connections_total", "redis_rdb_last_bgsave_status",
                 "redis_aof_last_write_status", "redis_aof_last_bgrewrite_status"):
        assert re.search(r"(?m)^%s[{ ]" % name, primary), name
    assert re.search(r'(?m)^redis_master_link_up\{[^}]*\} 1$', replica)
    name = shared_cluster.name
    assert re.search(r'(?m)^redis_sentinel_master_status\{[^}]*master_name="%s",master_status="ok"\} 1$' % name,
                     sentinel)
    assert re.search(r'(?m)^redis_sentinel_master_ok_sentinels\{[^}]*master_name="%s"\} 3$' % name, sentinel)
    assert re.search(r'(?m)^redis_sentinel_master_ckquorum_status\{master_name="%s",[^}]*\} 1$' % name, sentinel)
    assert re.search(r"(?m)^redis_sentinel_tilt 0$", sentinel)


def test_the_exporter_logs_no_permission_error_and_only_slowlog_get_is_denied(exporters):
    time.sleep(0.2)
    for node, port, _proc, log in exporters:
        scrape(port)
        log.flush()
        text = Path(log.name).read_text()
        assert "NOPERM" not in text and "permission" not in text.lower(), text
        denied = {entry[entry.index("object") + 1] for entry in
                  (_pairs(e) for e in node.client().execute_command("ACL", "LOG"))}
        assert denied <= {"slowlog|get"}, (node, denied)


def _pairs(entry):
    return [x.decode() if isinstance(x, bytes) else x for x in entry]


def test_the_exporter_user_reads_no_key_and_no_configuration(shared_cluster, exporters):
    primary = shared_cluster.primary
    shared_cluster.client(primary).set("ha-redis:exporter:probe", "value")
    user = redis.Redis(host=HOST, port=primary.port, username="exporter", password=PASSWORD)
    assert "redis_version" in user.info("server")
    for call in (lambda: user.get("ha-redis:exporter:probe"), lambda: user.config_get("masterauth"),
                 lambda: user.set("k", "v"), lambda: user.keys("*"), lambda: user.slowlog_get(1),
                 lambda: user.config_set("maxmemory", "1")):
        with pytest.raises(redis.exceptions.NoPermissionError):
            call()
    sentinel = shared_cluster.sentinels[0]
    user = redis.Redis(host=HOST, port=sentinel.port, username="exporter", password=PASSWORD)
    assert user.execute_command("SENTINEL", "CKQUORUM", shared_cluster.name)
    for args in (("SENTINEL", "SET", shared_cluster.name, "quorum", "1"),
                 ("SENTINEL", "FAILOVER", shared_cluster.name), ("SENTINEL", "CONFIG", "GET", "*")):
        with pytest.raises(redis.exceptions.NoPermissionError):
            user.execute_command(*args)
