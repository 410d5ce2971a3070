# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure functions of plugins/module_utils/_sentinel.py: parsing, agreement and judging, no server."""

from __future__ import annotations

import pytest
from ansible_collections.ha.redis.plugins.module_utils import _sentinel as s

NAME = "main"
P = "10.0.0.1:6379"
R1, R2 = "10.0.0.2:6379", "10.0.0.3:6379"
S1, S2, S3 = "10.0.0.1:26379", "10.0.0.2:26379", "10.0.0.3:26379"


class ReplyError(Exception):
    """Stands in for redis.exceptions.ResponseError: the parser only looks at the text."""


def master_reply(primary=P, flags="master", quorum=2, replicas=2, others=2, epoch=0, failover_state=None):
    host, port = primary.rsplit(":", 1)
    reply = ["name", NAME, "ip", host, "port", port, "runid", "abc", "flags", flags, "num-slaves", str(replicas),
             "num-other-sentinels", str(others), "quorum", str(quorum), "config-epoch", str(epoch)]
    if failover_state:
        reply += ["failover-state", failover_state]
    return reply


def instance_reply(addr, flags, link="ok", primary=P, runid=None):
    host, port = addr.rsplit(":", 1)
    reply = ["name", addr, "ip", host, "port", port, "runid", runid or ("id-" + addr), "flags", flags]
    if "slave" in flags:
        phost, pport = primary.rsplit(":", 1)
        reply += ["master-link-status", link, "master-host", phost, "master-port", pport, "slave-repl-offset", "100"]
    return reply


def sentinel_state(addr, primary=P, all_sentinels=(S1, S2, S3), replicas=(R1, R2), sentinel_flags=None,
                   replica_flags=None, ckquorum="OK 3 usable Sentinels.", myid=None, **master_kwargs):
    sentinel_flags = sentinel_flags or {}
    replica_flags = replica_flags or {}
    others = [o for o in all_sentinels if o != addr]
    master_kwargs.setdefault("others", len(others))
    master_kwargs.setdefault("replicas", len(replicas))
    view = s.group_view_from_replies(
        NAME,
        master_reply(primary, **master_kwargs),
        [instance_reply(r, replica_flags.get(r, "slave"), primary=primary) for r in replicas],
        [instance_reply(o, sentinel_flags.get(o, "sentinel")) for o in others],
        ckquorum,
    )
    return s.SentinelState(address=addr, reachable=True, myid=myid or ("id-" + addr), monitored=[NAME],
                           groups={NAME: view})


def unreachable(addr, error="cannot connect (Connection refused)"):
    return s.SentinelState(address=addr, reachable=False, error=error)


def not_monitoring(addr):
    view = s.group_view_from_replies(NAME, ReplyError("ERR No such master with that name"), None, None, None)
    return s.SentinelState(address=addr, reachable=True, myid="id-" + addr, groups={NAME: view})


def healthy_sentinels(**overrides):
    states = {a: sentinel_state(a) for a in (S1, S2, S3)}
    states.update(overrides)
    return states


PRIMARY_INFO = "\r\n".join([
    "# Replication", "role:master", "connected_slaves:2",
    "slave0:ip=10.0.0.2,port=6379,state=online,offset=1000,lag=0",
    "slave1:ip=10.0.0.3,port=6379,state=online,offset=990,lag=1",
    "master_repl_offset:1000", "",
])


def replica_info(primary=P, link="up", offset=1000, syncing=0):
    host, port = primary.rsplit(":", 1)
    return "\r\n".join(["# Replication", "role:slave", "master_host:%s" % host, "master_port:%s" % port,
                        "master_link_status:%s" % link, "master_sync_in_progress:%d" % syncing,
                        "slave_repl_offset:%d" % offset, ""])


def healthy_nodes(**overrides):
    nodes = {P: s.data_node_from_info(P, PRIMARY_INFO), R1: s.data_node_from_info(R1, replica_info()),
             R2: s.data_node_from_info(R2, replica_info())}
    nodes.update(overrides)
    return nodes


def expect(**kwargs):
    kwargs.setdefault("sentinels", 3)
    kwargs.setdefault("replicas", 2)
    return s.Expectations(**kwargs)


def run(sentinels=None, nodes=None, expectation=None):
    sentinels = sentinels or healthy_sentinels()
    return s.evaluate([NAME], sentinels, nodes if nodes is not None else healthy_nodes(),
                      {NAME: expectation or expect()})


def checks(findings):
    return sorted({f.check for f in findings})


# ---------------------------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------------------------
def test_parse_info_raw_and_parsed_forms_agree():
    raw = s.data_node_from_info(P, PRIMARY_INFO)
    parsed = s.data_node_from_info(P, {"role": "master", "master_repl_offset": 1000,
                                       "slave0": {"ip": "10.0.0.2", "port": 6379, "state": "online", "offset": 1000,
                                                  "lag": 0},
                                       "slave1": {"ip": "10.0.0.3", "port": 6379, "state": "online", "offset": 990,
                                                  "lag": 1}})
    assert raw == parsed
    assert raw.role == "master" and raw.repl_offset == 1000
    assert [r["address"] for r in raw.replicas] == [R1, R2]


def test_replica_info():
    node = s.data_node_from_info(R1, replica_info(link="down", syncing=1))
    assert (node.role, node.primary, node.master_link_status, node.sync_in_progress) == ("slave", P, "down", True)


def test_address_formats_ipv6():
    assert s.address("::1", 6379) == "[::1]:6379"
    assert s.address("10.0.0.1", "6379") == "10.0.0.1:6379"


def test_group_view_from_replies():
    view = s.group_view_from_replies(NAME, master_reply(flags="master,s_down"), [], [], ReplyError("NOQUORUM 1 usable"))
    assert view.monitored and view.primary == P and view.flags == ["master", "s_down"]
    assert view.ckquorum_ok is False and "NOQUORUM" in view.ckquorum_message
    assert not view.failover_in_progress
    assert s.group_view_from_replies(NAME, master_reply(failover_state="wait_promotion"), [], [], "OK") \
        .failover_in_progress
    missing = s.group_view_from_replies(NAME, ReplyError("ERR No such master with that name"), None, None, None)
    assert missing.monitored is False and missing.error is None


# ---------------------------------------------------------------------------------------------------------------
# Agreement
# ---------------------------------------------------------------------------------------------------------------
def test_agree_primary_agreed():
    a = s.agree_primary(NAME, healthy_sentinels())
    assert (a["status"], a["primary"], a["votes"], a["majority"]) == ("agreed", P, {P: 3}, 2)


def test_agree_primary_majority_with_dissenter_is_agreed():
    a = s.agree_primary(NAME, healthy_sentinels(**{S3: sentinel_state(S3, primary=R1)}))
    assert (a["status"], a["primary"], a["votes"]) == ("agreed", P, {P: 2, R1: 1})
    assert a["views"][S3] == R1


def test_agree_primary_split_and_no_majority_and_unknown():
    split = {S1: sentinel_state(S1), S2: sentinel_state(S2, primary=R1), S3: unreachable(S3)}
    assert s.agree_primary(NAME, split)["status"] == "split"
    assert s.agree_primary(NAME, split)["primary"] is None
    lonely = {S1: sentinel_state(S1), S2: unreachable(S2), S3: unreachable(S3)}
    assert s.agree_primary(NAME, lonely)["status"] == "no_majority"
    assert s.leading_primary(s.agree_primary(NAME, lonely)) == P
    nobody = {S1: not_monitoring(S1), S2: unreachable(S2), S3: not_monitoring(S3)}
    a = s.agree_primary(NAME, nobody)
    assert (a["status"], a["reachable"], a["monitoring"]) == ("unknown", 2, 0)


# ---------------------------------------------------------------------------------------------------------------
# Judging
# ---------------------------------------------------------------------------------------------------------------
def test_healthy_has_no_findings_and_a_report():
    out = run()
    assert out["problems"] == [] and out["warnings"] == []
    group = out["groups"][NAME]
    assert group["ok"] and group["healthy_replicas"] == 2 and group["primary"] == P
    assert [r["lag_bytes"] for r in group["replicas"]] == [0, 10]
    assert out["report"][0] == "main: primary 10.0.0.1:6379 (agreed, named by 3/3 Sentinels)"
    assert "  replica 10.0.0.3:6379: link up, online, lag 10 B / 1 s" in out["report"]
    assert sum(line.startswith("  sentinel ") for line in out["report"]) == 3


def test_unreachable_sentinel():
    out = run(healthy_sentinels(**{S3: unreachable(S3)}))
    problem = [p for p in out["problems"] if p.check == "sentinel_unreachable"]
    assert [p.node for p in problem] == [S3]
    assert "Connection refused" in problem[0].message


def test_sentinel_seen_down_by_others():
    states = {a: sentinel_state(a, sentinel_flags={S3: "s_down,sentinel,disconnected"}) for a in (S1, S2)}
    states[S3] = sentinel_state(S3)
    out = run(states)
    down = [p for p in out["problems"] if p.check == "sentinel_down"]
    assert {p.node for p in down} == {S1, S2}
    assert all(S3 in p.message for p in down)


def test_split_view_names_the_dissenter_expected_and_seen():
    out = run(healthy_sentinels(**{S3: sentinel_state(S3, primary=R1)}))
    mismatch = [p for p in out["problems"] if p.check == "primary_mismatch"]
    assert len(mismatch) == 1
    assert (mismatch[0].node, mismatch[0].expected, mismatch[0].seen) == (S3, P, R1)


def test_no_majority():
    states = {S1: sentinel_state(S1), S2: unreachable(S2), S3: unreachable(S3, "authentication failed (x)")}
    out = run(states)
    assert "no_primary_majority" in checks(out["problems"])
    assert sum(p.check == "sentinel_unreachable" for p in out["problems"]) == 2


def test_primary_down_and_failover():
    states = healthy_sentinels(**{
        S1: sentinel_state(S1, flags="master,s_down,o_down,failover_in_progress", failover_state="select_slave"),
        S2: sentinel_state(S2, flags="master,s_down"),
        S3: sentinel_state(S3, flags="master,disconnected"),
    })
    out = run(states, nodes=healthy_nodes(**{P: s.DataNodeState(P, error="cannot connect (refused)")}))
    by_node = {(p.node, p.check) for p in out["problems"]}
    assert {(S1, "primary_o_down"), (S1, "failover_in_progress"), (S2, "primary_s_down"),
            (S3, "primary_disconnected"), (P, "primary_unreachable")} <= by_node


def test_counts_and_instances():
    states = healthy_sentinels(**{S1: sentinel_state(S1, replicas=(R1,), others=1,
                                                     all_sentinels=(S1, S2))})
    out = run(states)
    found = {(p.node, p.check): p for p in out["problems"]}
    assert (found[(S1, "sentinel_count")].expected, found[(S1, "sentinel_count")].seen) == (2, 1)
    assert (found[(S1, "replica_count")].expected, found[(S1, "replica_count")].seen) == (2, 1)
    out = run(healthy_sentinels(**{S2: sentinel_state(S2, replica_flags={R2: "slave,s_down"})}))
    assert [(p.node, p.check) for p in out["problems"]] == [(S2, "replica_down")]


def test_expected_replicas_none_skips_count():
    states = healthy_sentinels(**{S1: sentinel_state(S1, replicas=(R1,))})
    out = run(states, expectation=expect(replicas=None))
    assert "replica_count" not in checks(out["problems"])


def test_quorum_rules():
    out = run(healthy_sentinels(**{S1: sentinel_state(S1, quorum=1)}))
    assert out["problems"] == []
    assert [(w.node, w.check) for w in out["warnings"]] == [(S1, "quorum_below_majority")]
    out = run(healthy_sentinels(**{S1: sentinel_state(S1, quorum=4)}))
    assert [(p.node, p.check, p.seen) for p in out["problems"]] == [(S1, "quorum_too_high", 4)]


def test_ckquorum_failure():
    out = run(healthy_sentinels(**{S2: sentinel_state(S2, ckquorum=ReplyError("NOQUORUM 1 usable Sentinels"))}))
    assert [(p.node, p.check) for p in out["problems"]] == [(S2, "ckquorum")]
    assert "NOQUORUM" in out["problems"][0].message


def test_group_nobody_monitors():
    states = {a: not_monitoring(a) for a in (S1, S2, S3)}
    out = run(states, nodes={})
    assert [p.check for p in out["problems"]] == ["group_unknown"]
    assert out["groups"][NAME]["primary"] is None


def test_one_sentinel_not_monitoring():
    out = run(healthy_sentinels(**{S2: not_monitoring(S2)}))
    assert [(p.node, p.check) for p in out["problems"]] == [(S2, "not_monitored")]


def test_duplicate_sentinel_ids():
    states = healthy_sentinels(**{S2: sentinel_state(S2, myid="same"), S3: sentinel_state(S3, myid="same")})
    assert [p.check for p in run(states)["problems"]] == ["sentinel_duplicate_id"]


@pytest.mark.parametrize("node, check", [
    (s.data_node_from_info(R1, replica_info(link="down")), "replica_link_down"),
    (s.data_node_from_info(R1, replica_info(primary="10.0.0.9:6379")), "replica_primary"),
    (s.data_node_from_info(R1, replica_info(syncing=1)), "replica_syncing"),
    (s.data_node_from_info(R1, "role:master\r\nmaster_repl_offset:5\r\n"), "replica_role"),
    (s.DataNodeState(R1, error="authentication failed (WRONGPASS)"), "replica_unreachable"),
])
def test_replica_problems(node, check):
    out = run(nodes=healthy_nodes(**{R1: node}))
    assert [(p.node, p.check) for p in out["problems"]] == [(R1, check)]
    assert out["groups"][NAME]["healthy_replicas"] == 1


def test_replica_lag():
    info = PRIMARY_INFO.replace("offset=990,lag=1", "offset=10,lag=30")
    out = run(nodes=healthy_nodes(**{P: s.data_node_from_info(P, info)}),
              expectation=expect(max_lag_bytes=500, max_lag_seconds=10))
    found = {p.check: p for p in out["problems"]}
    assert set(found) == {"replica_lag_bytes", "replica_lag_seconds"}
    assert (found["replica_lag_bytes"].node, found["replica_lag_bytes"].seen) == (R2, 990)
    assert found["replica_lag_seconds"].seen == 30


def test_primary_role_and_replica_not_listed():
    info = "role:slave\r\nmaster_host:10.0.0.9\r\nmaster_port:6379\r\nmaster_link_status:up\r\n"
    out = run(nodes=healthy_nodes(**{P: s.data_node_from_info(P, info)}))
    assert [(p.node, p.check) for p in out["problems"]] == [(P, "primary_role")]
    info = "\r\n".join(line for line in PRIMARY_INFO.split("\r\n") if not line.startswith("slave1"))
    out = run(nodes=healthy_nodes(**{P: s.data_node_from_info(P, info)}))
    assert [(p.node, p.check) for p in out["problems"]] == [(R2, "replica_not_listed")]


def test_data_node_addresses():
    assert s.data_node_addresses([NAME], healthy_sentinels()) == [P, R1, R2]
    assert s.data_node_addresses([NAME], {S1: not_monitoring(S1)}) == []


def test_failure_message_lists_every_problem():
    out = run(healthy_sentinels(**{S3: unreachable(S3)}), nodes=healthy_nodes(**{R1: s.DataNodeState(R1, error="x")}))
    msg = s.failure_message(out["problems"], 2.04, 3)
    assert msg.startswith("Sentinel quorum check failed after 2.0 s (3 attempts) with %d problems: "
                          % len(out["problems"]))
    for problem in out["problems"]:
        assert problem.message in msg
    assert all(set(p.as_dict()) == {"group", "node", "check", "message", "expected", "seen"} for p in out["problems"])
