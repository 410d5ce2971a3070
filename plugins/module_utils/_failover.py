# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A planned, zero-loss switchover of one replication group through Sentinel (issue 5).

Private to the collection: the interface may change between releases.

Sequence (``Switchover.run``):

1. Ask every Sentinel who the primary is; a majority must agree. Nothing to do when ``avoid`` is not the
   primary or ``target`` already is.
2. Method ``target`` (a ``target`` is given): make Sentinel's choice deterministic with ``replica-priority 0``
   on the other replicas (their values are restored at the end), and wait until the Sentinel that will run the
   failover has seen it (its next INFO of each replica: up to 10 s).
   Method ``any_synced_replica`` (no ``target``): Sentinel may promote any replica it lists that is not down,
   not disconnected and has a non-zero priority (its candidates); nothing is changed on the replicas.
3. Zero loss: ``CLIENT PAUSE <ms> WRITE`` on the primary, then wait until the target (method ``target``) or
   EVERY candidate (method ``any_synced_replica``) has processed the primary's whole replication stream and
   replicates from it with its link up. Whichever candidate Sentinel then promotes holds every acknowledged
   write. A candidate that cannot catch up makes the run time out before anything changed.
4. ``SENTINEL FAILOVER``; wait until a candidate reports role master (the write pause ends there, as far as
   clients of the new primary are concerned) and that Sentinel names it.
5. ``REPLICAOF`` on the old primary while it is still paused, so that it never accepts a write that the new
   primary would not have; ``CLIENT UNPAUSE``.
6. Wait until every Sentinel names the new primary and the old primary replicates from it with its link up.

On any error or timeout: unpause, restore priorities, fail with one message.
"""

from __future__ import annotations

import time

from ansible_collections.ha.redis.plugins.module_utils._connection import (
    DEFAULT_REDIS_PORT,
    Deadline,
    HaRedisError,
    connect,
    describe_error,
    pairs_to_dict,
    parse_endpoint,
    run_parallel,
)

BAD_FLAGS = ("s_down", "o_down", "disconnected")
POLL = 0.005
# Sentinel sends INFO to a replica every 10 s, and every second while a failover runs; it sees a promotion only
# in an INFO reply, and names the new primary (GET-MASTER-ADDR-BY-NAME, hello messages to the other Sentinels)
# from then on. Its first INFO after SENTINEL FAILOVER goes out as soon as the last reply is a second old: when
# that is before the promoted replica has run SLAVEOF NO ONE (three timer ticks, 0.15-0.3 s after SENTINEL
# FAILOVER), the promotion is seen a second later only. Starting when the last reply is INFO_AGE_MS old puts that
# first INFO just after the promotion.
INFO_PERIOD_MS = 10000
INFO_AGE_MS = 560


def failover_start_delay(info_age_ms, wanted_age_ms=INFO_AGE_MS, period_ms=INFO_PERIOD_MS):
    """Seconds to wait until a replica's last INFO reply to Sentinel (``info-refresh`` of SENTINEL REPLICAS, in
    ms) is ``wanted_age_ms`` old on Sentinel's cycle of ``period_ms``; None when the age is unknown."""
    if info_age_ms is None or info_age_ms < 0:
        return None
    return ((wanted_age_ms - info_age_ms) % period_ms) / 1000.0


def addr(host, port):
    return str(parse_endpoint({"host": str(host), "port": int(port)}, DEFAULT_REDIS_PORT))


def version_tuple(text):
    parts = []
    for piece in str(text or "0").split(".")[:3]:
        digits = ""
        for ch in piece:
            if not ch.isdigit():
                break
            digits += ch
        parts.append(int(digits or 0))
    return tuple(parts + [0] * (3 - len(parts)))


# --- pure decisions -----------------------------------------------------------------------------------------

def agreed_primary(views, total):
    """``views``: {sentinel: 'host:port' or None}. The address a majority of ``total`` names, else raise."""
    votes = {}
    for primary in views.values():
        if primary:
            votes[primary] = votes.get(primary, 0) + 1
    need = total // 2 + 1
    for primary, count in sorted(votes.items(), key=lambda kv: (-kv[1], kv[0])):
        if count >= need:
            return primary
    raise HaRedisError("The Sentinels do not agree on a primary: expected %d of %d to name the same one, saw %s."
                       % (need, total, ", ".join("%s: %s" % kv for kv in sorted(views.items())) or "no answer"),
                       views=views)


def replica_summary(entry):
    d = pairs_to_dict(entry)
    flags = [f for f in str(d.get("flags", "")).split(",") if f]
    return dict(
        address=addr(d.get("ip"), d.get("port")),
        flags=flags,
        healthy=not any(f in flags for f in BAD_FLAGS) and d.get("master-link-status", "ok") == "ok",
        priority=int(d.get("slave-priority", 100)),
        offset=int(d.get("slave-repl-offset", 0)),
        info_age_ms=int(d.get("info-refresh", -1)),
    )


def promotion_candidates(replicas, avoid=None):
    """Replicas Sentinel may promote: listed, not down or disconnected, priority above 0 (Sentinel does not check
    the link state; a replica whose link is down is still a candidate and must catch up too)."""
    return [r for r in replicas
            if r["address"] != avoid and r["priority"] > 0 and not any(f in r["flags"] for f in BAD_FLAGS)]


def needs_switchover(primary, target=None, avoid=None):
    """``(bool, reason)``: is there anything to do?"""
    if avoid is not None and primary != avoid:
        return False, "%s is not the primary (the primary is %s)" % (avoid, primary)
    if target is not None and primary == target:
        return False, "%s is the primary already" % target
    return True, None


def choose_target(replicas, target=None, avoid=None):
    """The replica to promote (from ``replica_summary`` dicts). Raises when there is none."""
    if target is not None:
        for replica in replicas:
            if replica["address"] == target:
                if not replica["healthy"]:
                    raise HaRedisError("The target %s is not healthy according to Sentinel (flags %s), expected a "
                                       "connected replica with its link up." % (target, ",".join(replica["flags"])))
                if replica["priority"] == 0:
                    raise HaRedisError("The target %s has replica-priority 0: Sentinel never promotes it." % target)
                return target
        raise HaRedisError("The target %s is not a replica Sentinel knows: expected one of %s."
                           % (target, ", ".join(r["address"] for r in replicas) or "none"))
    candidates = [r for r in replicas if r["healthy"] and r["priority"] > 0 and r["address"] != avoid]
    if not candidates:
        raise HaRedisError("No replica can become the primary: expected a healthy replica with a non-zero "
                           "replica-priority, saw %s." % (", ".join(
                               "%s (%s, priority %d)" % (r["address"], ",".join(r["flags"]), r["priority"])
                               for r in replicas) or "no replicas"))
    candidates.sort(key=lambda r: (r["priority"], -r["offset"], r["address"]))
    return candidates[0]["address"]


def plan_commands(primary, target, others, name, leader, zero_loss, pause_ms, method="target"):
    """The commands a switchover sends, for the report and for check mode. Pure.

    With method ``any_synced_replica``, ``target`` is the predicted new primary (Sentinel makes the choice)."""
    commands = ["%s: CONFIG SET replica-priority 0 (restored afterwards)" % o for o in others]
    if zero_loss:
        commands.append("%s: CLIENT PAUSE %d WRITE" % (primary, pause_ms))
    commands.append("%s: SENTINEL FAILOVER %s" % (leader, name))
    endpoint = parse_endpoint(target, DEFAULT_REDIS_PORT)
    new = "%s %d" % (endpoint.host, endpoint.port)
    if method != "target":
        new = "<promoted replica, predicted %s>" % new
    commands.append("%s: REPLICAOF %s" % (primary, new))
    commands.append("%s: CONFIG REWRITE" % primary)
    if zero_loss:
        commands.append("%s: CLIENT UNPAUSE" % primary)
    return commands


# --- the switchover -----------------------------------------------------------------------------------------

class Switchover:
    def __init__(self, sentinels, name, data_settings, sentinel_settings, target=None, avoid=None,
                 zero_loss=True, timeout=30.0, pause_ms=5000, align_info=True):
        self.sentinels = [str(parse_endpoint(s, 26379)) for s in sentinels]
        self.name = name
        self.data_settings = data_settings
        self.sentinel_settings = sentinel_settings
        self.target = str(parse_endpoint(target, DEFAULT_REDIS_PORT)) if target else None
        self.avoid = str(parse_endpoint(avoid, DEFAULT_REDIS_PORT)) if avoid else None
        self.zero_loss = zero_loss
        self.timeout = float(timeout)
        self.pause_ms = int(pause_ms)
        self.align_info = align_info
        self.commands = []
        self.warnings = []
        self._clients = {}

    # clients ---------------------------------------------------------------------------------------------
    def data(self, address):
        if address not in self._clients:
            self._clients[address] = connect(parse_endpoint(address, DEFAULT_REDIS_PORT), self.data_settings)
        return self._clients[address]

    def sentinel(self, address):
        key = "sentinel:" + address
        if key not in self._clients:
            self._clients[key] = connect(parse_endpoint(address, 26379), self.sentinel_settings)
        return self._clients[key]

    def close(self):
        for client in self._clients.values():
            try:
                client.close()
            except Exception:  # noqa: BLE001 - best effort
                pass

    def _run(self, where, client, *args):
        self.commands.append("%s: %s" % (where, " ".join(str(a) for a in args)))
        return client.execute_command(*args)

    # reads -----------------------------------------------------------------------------------------------
    def sentinel_views(self):
        def ask(address):
            reply = self.sentinel(address).execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.name)
            return addr(reply[0], reply[1]) if reply else None
        views = {}
        for address, (value, error) in zip(self.sentinels, run_parallel(ask, self.sentinels)):
            views[address] = value if error is None else None
        return views

    def sentinel_states(self):
        """{sentinel: primary 'host:port' from SENTINEL MASTER, 'failover in progress', or an error text}."""
        def ask(address):
            state = pairs_to_dict(self.sentinel(address).execute_command("SENTINEL", "MASTER", self.name))
            flags = str(state.get("flags", ""))
            if "failover_in_progress" in flags or state.get("failover-state", "none") not in ("none", None):
                return "failover in progress"
            return addr(state.get("ip"), state.get("port"))
        states = {}
        for address, (value, error) in zip(self.sentinels, run_parallel(ask, self.sentinels)):
            states[address] = value if error is None else describe_error(error)
        return states

    def replicas(self, leader):
        return [replica_summary(e) for e in
                self.sentinel(leader).execute_command("SENTINEL", "REPLICAS", self.name) or []]

    def info(self, address, section="replication"):
        return self.data(address).info(section)

    def wait(self, deadline, predicate, what, on_poll=None):
        """Poll ``predicate`` until true; raise a timeout naming ``what`` and the last observation."""
        last = None
        while True:
            try:
                ok, last = predicate()
                if ok:
                    return last
            except Exception as exc:  # noqa: BLE001 - connections are killed during failover; keep polling
                last = describe_error(exc)
            if on_poll is not None:
                on_poll()
            if deadline.expired():
                raise HaRedisError("Timed out after %.1f s waiting for %s; last seen: %s."
                                   % (deadline.elapsed(), what, last), last_seen=str(last))
            time.sleep(POLL)

    # plan ------------------------------------------------------------------------------------------------
    def plan(self):
        views = self.sentinel_views()
        primary = agreed_primary(views, len(self.sentinels))
        result = dict(changed=False, old_primary=primary, new_primary=primary, views=views)
        needed, reason = needs_switchover(primary, self.target, self.avoid)
        if not needed:
            result["msg"] = "Nothing to do: %s." % reason
            return result
        leader = [s for s in self.sentinels if views.get(s) == primary][0]
        replicas = [r for r in self.replicas(leader) if r["address"] != primary]
        # Raises when no replica can be promoted; without a target it is the likely choice of Sentinel.
        target = choose_target(replicas, self.target, self.avoid)
        if self.target is not None:
            method, candidates = "target", [target]
        else:
            method, candidates = "any_synced_replica", [r["address"] for r in promotion_candidates(replicas)]
        result.update(changed=True, new_primary=target, leader=leader, method=method, candidates=candidates,
                      others=self._others(replicas, target) if method == "target" else [])
        result["planned"] = plan_commands(primary, target, result["others"], self.name, leader, self.zero_loss,
                                          self.pause_ms, method)
        return result

    @staticmethod
    def _others(replicas, target):
        return [r["address"] for r in replicas if r["address"] != target and r["priority"] > 0]

    def _link_state(self, address, primary):
        """``(ok, text)``: does ``address`` replicate from ``primary`` with its link up?"""
        info = self.info(address)
        source = addr(info.get("master_host"), info.get("master_port")) if info.get("master_host") else None
        ok = info.get("role") == "slave" and source == primary and info.get("master_link_status") == "up"
        link = info.get("master_link_status")
        return ok, "%s: role %s, primary %s, link %s" % (address, info.get("role"), source, link)

    # run -------------------------------------------------------------------------------------------------
    def run(self, plan):
        deadline = Deadline(self.timeout)
        primary, target, leader = plan["old_primary"], plan["new_primary"], plan["leader"]
        method, candidates = plan.get("method", "target"), list(plan.get("candidates") or [target])
        restore = {}
        paused = False
        failover_sent = False
        t_pause = None
        result = dict(plan)
        try:
            if self.zero_loss:
                version = self.info(primary, "server").get("redis_version")
                if version_tuple(version) < (6, 2, 0):
                    raise HaRedisError("zero_loss needs CLIENT PAUSE WRITE (Redis 6.2 or newer), the primary %s "
                                       "runs %s." % (primary, version))
            if method == "any_synced_replica" and self.zero_loss:
                # Every candidate must be able to catch up during the pause; otherwise make the choice
                # deterministic instead (method target with the planned replica), so a resyncing replica
                # never holds writes paused.
                lagging = []
                for candidate in candidates:
                    try:
                        ok, text = self._link_state(candidate, primary)
                    except Exception as exc:  # noqa: BLE001 - an unreachable candidate is a lagging one
                        ok, text = False, "%s: %s" % (candidate, describe_error(exc))
                    if not ok:
                        lagging.append(text)
                if lagging:
                    self.warnings.append("Not every replica Sentinel could promote is in sync (%s); making %s the "
                                         "only candidate instead." % ("; ".join(lagging), target))
                    method, candidates = "target", [target]
                    plan = dict(plan, others=[c for c in plan["candidates"] if c != target])
                    result["method"] = method
            if method == "target":
                link = self.info(target).get("master_link_status")
                if link != "up":
                    raise HaRedisError("The target %s has its replication link %s, expected up." % (target, link))
                for other in plan["others"]:
                    client = self.data(other)
                    before = client.config_get("replica-priority").get("replica-priority")
                    if before not in (None, "0"):
                        restore[other] = before
                        self._run(other, client, "CONFIG", "SET", "replica-priority", "0")

                def sentinel_sees_priorities():
                    seen = dict((r["address"], r) for r in self.replicas(leader))
                    pending = [o for o in restore if seen.get(o, {}).get("priority") != 0]
                    t = seen.get(target)
                    ok = not pending and t is not None and t["healthy"]
                    return ok, "priority not yet 0 on %s; target %s flags %s" % (
                        ", ".join(pending) or "none", target, ",".join(t["flags"]) if t else "not listed")
                self.wait(deadline, sentinel_sees_priorities,
                          "Sentinel %s to see replica-priority 0 on the other replicas" % leader)

            if self.align_info:
                # With any_synced_replica, ``target`` is the replica Sentinel will most likely choose.
                result["info_cycle_wait"] = self._await_info_cycle(leader, target, deadline)

            p_client = self.data(primary)
            renew_at = [0.0]

            def renew_pause():
                if paused and time.monotonic() >= renew_at[0]:
                    p_client.execute_command("CLIENT", "PAUSE", self.pause_ms, "WRITE")
                    renew_at[0] = time.monotonic() + self.pause_ms / 2000.0

            if self.zero_loss:
                t_pause = time.monotonic()
                self._run(primary, p_client, "CLIENT", "PAUSE", self.pause_ms, "WRITE")
                paused = True
                renew_at[0] = t_pause + self.pause_ms / 2000.0
                goal = int(p_client.info("replication")["master_repl_offset"])

                def caught_up():
                    behind = []
                    for candidate in candidates:
                        info = self.info(candidate)
                        offset = int(info.get("slave_repl_offset", -1))
                        if offset < goal or info.get("master_link_status") != "up":
                            behind.append("%s at %d (link %s)" % (candidate, offset, info.get("master_link_status")))
                    return not behind, "primary offset %d; behind: %s" % (goal, ", ".join(behind) or "none")
                what = ("the target %s" % target if method == "target"
                        else "every replica Sentinel could promote (%s)" % ", ".join(candidates))
                self.wait(deadline, caught_up, "%s to reach the primary's offset" % what, renew_pause)
                result["synced_replicas"] = list(candidates)
            else:
                t_pause = time.monotonic()

            try:
                self._run(leader, self.sentinel(leader), "SENTINEL", "FAILOVER", self.name)
            except Exception as exc:
                raise HaRedisError("SENTINEL FAILOVER %s was refused by %s: %s."
                                   % (self.name, leader, describe_error(exc))) from exc
            failover_sent = True

            def promoted():
                roles = []
                for candidate in candidates:
                    try:
                        role = self.info(candidate).get("role")
                    except Exception as exc:  # noqa: BLE001 - Sentinel kills connections while promoting
                        role = describe_error(exc)
                    if role == "master":
                        return True, candidate
                    roles.append("%s %s" % (candidate, role))
                return False, "roles: %s" % ", ".join(roles)
            target = self.wait(deadline, promoted, "Sentinel to promote %s" % (
                target if method == "target" else "one of " + ", ".join(candidates)), renew_pause)
            result["write_pause_ms"] = int(round((time.monotonic() - t_pause) * 1000))
            result["new_primary"] = target

            # The old primary follows the new one before any paused write can run on it.
            t_endpoint = parse_endpoint(target, DEFAULT_REDIS_PORT)
            thost, tport = t_endpoint.host, t_endpoint.port
            self._run(primary, p_client, "REPLICAOF", thost, tport)
            try:
                self._run(primary, p_client, "CONFIG", "REWRITE")
            except Exception as exc:  # noqa: BLE001 - Sentinel rewrites it too; report and carry on
                self.warnings.append("CONFIG REWRITE on the old primary %s failed: %s" % (primary, describe_error(exc)))

            def leader_names_target():
                reply = self.sentinel(leader).execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.name)
                named = addr(reply[0], reply[1]) if reply else None
                return named == target, "Sentinel %s names %s" % (leader, named)
            # Clients asking Sentinel still get the old address until then: keep them waiting, not failing.
            self.wait(deadline, leader_names_target, "Sentinel %s to name %s" % (leader, target), renew_pause)
            if paused:
                self._run(primary, p_client, "CLIENT", "UNPAUSE")
                paused = False

            def settled():
                # SENTINEL MASTER, not GET-MASTER-ADDR-BY-NAME: the latter names the promoted replica while the
                # leader is still reconfiguring the other replicas, SENTINEL MASTER(S) (which clients such as
                # redis-py use) only once the failover is over.
                states = self.sentinel_states()
                lagging = sorted("%s (%s)" % (s, v) for s, v in states.items() if v != target)
                ok, old = self._link_state(primary, target)
                return (ok and not lagging), "Sentinels not yet done with %s: %s; old primary %s" % (
                    target, ", ".join(lagging) or "none", old)
            self.wait(deadline, settled, "every Sentinel to end the failover on %s and the old primary to replicate "
                      "from it" % target)
        finally:
            if paused:
                self._unpause(primary)
            self._restore(restore, rewrite=failover_sent)
            result["elapsed"] = deadline.elapsed()
            result["commands"] = list(self.commands)
            result["warnings"] = list(self.warnings)
        return result

    def _await_info_cycle(self, leader, target, deadline):
        """Sleep (before any pause) until the leader's last INFO reply from ``target`` is INFO_AGE_MS old; return
        the seconds slept. Skipped when the age is unknown or the wait would eat into the time the switchover
        itself needs (half of ``timeout``)."""
        def delay():
            ages = dict((r["address"], r["info_age_ms"]) for r in self.replicas(leader))
            return failover_start_delay(ages.get(target))
        wait = delay()
        if wait is None or deadline.remaining() - wait < self.timeout / 2:
            return 0.0
        slept = 0.0
        if wait > 1.0:
            # Most of a long wait, then read the age again: Sentinel's period is a little over 10 s.
            time.sleep(wait - 0.5)
            slept = wait - 0.5
            wait = delay()
            if wait is None or wait > 1.0:
                return round(slept, 3)
        time.sleep(wait)
        return round(slept + wait, 3)

    def _unpause(self, primary):
        for _attempt in range(3):
            try:
                self._run(primary, self.data(primary), "CLIENT", "UNPAUSE")
                return
            except Exception as exc:  # noqa: BLE001 - retried, then reported
                error = exc
        self.warnings.append("CLIENT UNPAUSE on %s failed: %s; the pause ends by itself after %d ms"
                             % (primary, describe_error(error), self.pause_ms))

    def _restore(self, restore, rewrite):
        for address, value in sorted(restore.items()):
            error = None
            for _attempt in range(3):
                try:
                    client = self.data(address)
                    self._run(address, client, "CONFIG", "SET", "replica-priority", value)
                    if rewrite:
                        # Sentinel's reconfiguration rewrote the file while the priority was 0.
                        try:
                            self._run(address, client, "CONFIG", "REWRITE")
                        except Exception as exc:  # noqa: BLE001
                            if "without a config file" not in str(exc):
                                raise
                    error = None
                    break
                except Exception as exc:  # noqa: BLE001 - connections may be killed by Sentinel; retry
                    error = exc
                    time.sleep(0.1)
            if error is not None:
                self.warnings.append("Could not restore replica-priority %s on %s: %s"
                                     % (value, address, describe_error(error)))
