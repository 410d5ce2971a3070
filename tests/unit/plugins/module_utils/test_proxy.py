# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proxy's listeners, HAProxy's server state and the judge of plugins/module_utils/_proxy.py."""

from __future__ import annotations

import pytest
from ansible_collections.ha.redis.plugins.module_utils import _proxy as p
from ansible_collections.ha.redis.plugins.module_utils import _topology as t

MAIN = {"name": "main", "port": 6379, "initial_primary": "r1"}
SOLO = {"name": "solo", "port": 6380, "initial_primary": "r2", "hosts": ["r2"]}


def model(groups=(MAIN,), min_replicas="auto"):
    hosts = ("r1", "r2", "r3")
    topo = t.build_topology({"redis": list(hosts), "redis_sentinel": list(hosts)},
                            {h: {"ansible_host": "10.0.0.%d" % (i + 1)} for i, h in enumerate(hosts)},
                            list(groups), min_replicas_to_write=min_replicas)
    return dict(groups=[topo.group_dict(g) for g in topo.groups])


def test_resp_hex_is_a_resp_array_of_bulk_strings():
    assert bytes.fromhex(p.resp_hex("AUTH", "u", "p w\"")) == b'*3\r\n$4\r\nAUTH\r\n$1\r\nu\r\n$4\r\np w"\r\n'


def test_one_listener_per_group_with_its_servers_and_check():
    [main, solo] = p.proxy_listeners(model((MAIN, SOLO)), "r1", check_user="hc", check_password="pw")
    assert (main["name"], main["port"], main["bind"]) == ("redis_main", 8379, "*:8379")
    assert main["servers"] == [dict(name="r1", address="10.0.0.1", port=6379),
                               dict(name="r2", address="10.0.0.2", port=6379),
                               dict(name="r3", address="10.0.0.3", port=6379)]
    assert bytes.fromhex(main["check"][0]["send"]) == b"*3\r\n$4\r\nAUTH\r\n$2\r\nhc\r\n$2\r\npw\r\n"
    assert main["check"][1]["expect"] == "role:master"
    # auto: min-replicas-to-write 1 with replicas, so the good replicas count.
    assert main["check"][2] == {"rstring": "min_slaves_good_slaves:[1-9]"}
    # A group without replicas has no replica rule.
    assert [s for s in solo["check"] if "rstring" in s] == [] and solo["replica_rule"] == ""


def test_replica_rule_without_min_replicas_to_write_and_when_not_required():
    [main] = p.proxy_listeners(model(min_replicas=0), "r1")
    assert main["replica_rule"] == "connected_slaves:[1-9]"
    assert main["check"][0]["expect"] == "role:master"  # no password: no AUTH
    [main] = p.proxy_listeners(model(), "r1", require_replicas=False)
    assert main["replica_rule"] == ""


def test_requirepass_sends_the_password_alone():
    [main] = p.proxy_listeners(model(), "r1", check_password="pw")
    assert bytes.fromhex(main["check"][0]["send"]) == b"*2\r\n$4\r\nAUTH\r\n$2\r\npw\r\n"


def test_port_collisions_and_range_fail_naming_the_group():
    with pytest.raises(p.ProxyError, match="group main on r1 would take port 6379"):
        p.proxy_listeners(model(), "r1", offset=0, host_ports=[6379])
    with pytest.raises(p.ProxyError, match="at most 65535"):
        p.proxy_listeners(model(), "r1", offset=60000)
    with pytest.raises(p.ProxyError, match="redis_proxy_port_offset is 'x'"):
        p.proxy_listeners(model(), "r1", offset="x")


HEADER = ("# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
          "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
          "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port "
          "srv_check_addr srv_agent_addr srv_agent_port")
STATE = "1\n" + HEADER + """
3 redis_main 1 r1 10.0.0.1 2 0 1 1 20 15 3 4 6 0 0 0 - 6379 - 0 0 - - 0
3 redis_main 2 r2 10.0.0.2 0 0 1 1 20 7 2 0 6 0 0 0 - 6379 - 0 0 - - 0
3 redis_main 3 r3 10.0.0.3 0 0 1 1 20 7 2 0 6 0 0 0 - 6379 - 0 0 - - 0
"""
AGREED = {"main": {"primary": "10.0.0.1:6379", "status": "agreed", "votes": {"10.0.0.1:6379": 3}}}


def test_parse_servers_state():
    backends = p.parse_servers_state(STATE)
    assert [(s.name, s.endpoint, s.routing) for s in backends["redis_main"]] == [
        ("r1", "10.0.0.1:6379", True), ("r2", "10.0.0.2:6379", False), ("r3", "10.0.0.3:6379", False)]
    assert p.parse_servers_state("1\n") == {}
    with pytest.raises(p.ProxyError, match="expected a header line"):
        p.parse_servers_state("Unknown command.\n")


def test_judge_passes_when_only_the_primary_is_routed():
    assert p.judge_proxy("px", ["main"], p.parse_servers_state(STATE), AGREED) == []
    assert p.proxy_report("px", ["main"], p.parse_servers_state(STATE), AGREED) == [
        "px redis_main: routes to 10.0.0.1:6379; Sentinels name 10.0.0.1:6379 (agreed)"]


def checks(problems):
    return [(f.check, f.node, f.group) for f in problems]


def test_judge_names_a_second_server_routed():
    state = STATE.replace("3 redis_main 2 r2 10.0.0.2 0 0", "3 redis_main 2 r2 10.0.0.2 2 0")
    [found] = p.judge_proxy("px", ["main"], p.parse_servers_state(state), AGREED)
    assert (found.check, found.node, found.group) == ("other_server_routed", "px", "main")
    assert found.message.startswith("Proxy px, backend redis_main: routes to r2 (10.0.0.2:6379, running), which is "
                                    "not the primary 10.0.0.1:6379")


def test_judge_names_a_primary_down_or_in_maintenance():
    for state, seen in ((STATE.replace("r1 10.0.0.1 2 0", "r1 10.0.0.1 0 0"), "stopped"),
                        (STATE.replace("r1 10.0.0.1 2 0", "r1 10.0.0.1 2 1"), "admin state 1")):
        [found] = p.judge_proxy("px", ["main"], p.parse_servers_state(state), AGREED)
        assert found.check == "primary_not_routed" and seen in found.message


def test_judge_wrong_server_routed_when_the_sentinels_moved_on():
    moved = {"main": {"primary": "10.0.0.2:6379", "status": "agreed", "votes": {"10.0.0.2:6379": 3}}}
    assert checks(p.judge_proxy("px", ["main"], p.parse_servers_state(STATE), moved)) == [
        ("primary_not_routed", "px", "main"), ("other_server_routed", "px", "main")]


def test_judge_missing_backend_primary_and_majority_and_socket():
    backends = p.parse_servers_state(STATE)
    assert checks(p.judge_proxy("px", ["cache"], backends,
                                {"cache": {"primary": "10.0.0.1:6380", "status": "agreed"}})) == [
        ("backend_missing", "px", "cache")]
    elsewhere = {"main": {"primary": "10.0.0.9:6379", "status": "agreed"}}
    assert checks(p.judge_proxy("px", ["main"], backends, elsewhere)) == [
        ("primary_not_in_backend", "px", "main"), ("other_server_routed", "px", "main")]
    split = {"main": {"primary": None, "status": "split", "votes": {"a": 1, "b": 1}}}
    assert checks(p.judge_proxy("px", ["main"], backends, split)) == [("no_primary_majority", "px", "main")]
    [found] = p.judge_proxy("px", ["main"], None, AGREED, error="/run/x.sock: [Errno 2] No such file")
    assert found.check == "proxy_unreachable" and "No such file" in found.message
