# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A planned, zero-loss switchover of one replication group through Sentinel (module ``sentinel_failover``).

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
   primary would not have, with ``CONFIG REWRITE`` and ``CLIENT KILL TYPE normal|pubsub`` in the same ``MULTI``
   (Sentinel's own demotion): its clients, the paused ones included, are disconnected and ask the Sentinels
   again, whatever their library does on ``READONLY``; ``CLIENT UNPAUSE``.
6. Wait until every Sentinel names the new primary and the old primary replicates from it with its link up; then
   close the connections the old primary accepted since step 5 (clients a lagging Sentinel sent back to it).

On any error or timeout: unpause, restore priorities, fail with one message. The write pause of steps 3 to 5 is
the ``with`` block of :meth:`Switchover.write_pause`, which always ends it.

The decisions (agreement, the replica to promote, the commands) are the pure functions of ``_failover.py``.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from functools import partial

from ansible_collections.ha.redis.plugins.module_utils._connection import (
    DEFAULT_REDIS_PORT,
    DEFAULT_SENTINEL_PORT,
    Deadline,
    HaRedisError,
    connect,
    describe_error,
    parse_endpoint,
    run_parallel,
)
from ansible_collections.ha.redis.plugins.module_utils._failover import (
    agreed_primary,
    choose_target,
    failover_start_delay,
    needs_switchover,
    plan_commands,
    promotion_candidates,
    reconfigure_at_once,
    replica_summary,
    version_tuple,
)
from ansible_collections.ha.redis.plugins.module_utils._redis_config import (
    command_text,
    demote,
    demotion_commands,
    stray_clients,
)
from ansible_collections.ha.redis.plugins.module_utils._sentinel_model import (
    address,
    data_node_from_info,
    group_view_from_replies,
)

POLL = 0.005


class WritePause:
    """``CLIENT PAUSE <pause_timeout_ms> WRITE`` on the primary, renewed at half its length while waits poll.

    ``elapsed_ms()`` is the time since the pause began (or, without ``zero_loss``, since the block began: what
    clients wait from the failover's start)."""

    def __init__(self, job, primary):
        self.job = job
        self.primary = primary
        self.client = job.data(primary)
        self.active = False
        self.started = time.monotonic()
        self.renew_at = 0.0

    def begin(self):
        self.started = time.monotonic()
        self.job.send(self.primary, self.client, "CLIENT", "PAUSE", self.job.pause_timeout_ms, "WRITE")
        self.active = True
        self.renew_at = self.started + self.job.pause_timeout_ms / 2000.0

    def renew(self):
        if self.active and time.monotonic() >= self.renew_at:
            self.client.execute_command("CLIENT", "PAUSE", self.job.pause_timeout_ms, "WRITE")
            self.renew_at = time.monotonic() + self.job.pause_timeout_ms / 2000.0

    def release(self):
        self.job.send(self.primary, self.client, "CLIENT", "UNPAUSE")
        self.active = False

    def elapsed_ms(self):
        return int(round((time.monotonic() - self.started) * 1000))


class Switchover:
    def __init__(self, sentinels, primary_name, data_settings, sentinel_settings, target=None, avoid=None,
                 zero_loss=True, timeout=30.0, pause_timeout_ms=5000, align_with_sentinel_info=True):
        self.sentinels = [str(parse_endpoint(s, DEFAULT_SENTINEL_PORT)) for s in sentinels]
        self.primary_name = primary_name
        self.data_settings = data_settings
        self.sentinel_settings = sentinel_settings
        self.target = str(parse_endpoint(target, DEFAULT_REDIS_PORT)) if target else None
        self.avoid = str(parse_endpoint(avoid, DEFAULT_REDIS_PORT)) if avoid else None
        self.zero_loss = zero_loss
        self.timeout = float(timeout)
        self.pause_timeout_ms = int(pause_timeout_ms)
        self.align_with_sentinel_info = align_with_sentinel_info
        self.commands = []
        self.warnings = []
        self.clients_disconnected = None
        self.demoted_at = None
        self._clients = {}

    # clients ---------------------------------------------------------------------------------------------
    def data(self, node):
        if node not in self._clients:
            self._clients[node] = connect(parse_endpoint(node, DEFAULT_REDIS_PORT), self.data_settings)
        return self._clients[node]

    def sentinel(self, node):
        key = "sentinel:" + node
        if key not in self._clients:
            self._clients[key] = connect(parse_endpoint(node, DEFAULT_SENTINEL_PORT), self.sentinel_settings)
        return self._clients[key]

    def close(self):
        for client in self._clients.values():
            try:
                client.close()
            except Exception:  # noqa: BLE001 - best effort
                pass

    def send(self, where, client, *args):
        """Send a command that changes something, and record it for the report."""
        self.commands.append("%s: %s" % (where, " ".join(str(a) for a in args)))
        return client.execute_command(*args)

    # reads -----------------------------------------------------------------------------------------------
    def named_by(self, sentinel):
        """The primary ``sentinel`` names (GET-MASTER-ADDR-BY-NAME), or None."""
        reply = self.sentinel(sentinel).execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", self.primary_name)
        return address(reply[0], reply[1]) if reply else None

    def sentinel_views(self):
        return {s: (value if error is None else None)
                for s, (value, error) in zip(self.sentinels, run_parallel(self.named_by, self.sentinels))}

    def sentinel_states(self):
        """{sentinel: primary 'host:port' from SENTINEL MASTER, 'failover in progress', or an error text}."""
        def ask(sentinel):
            reply = self.sentinel(sentinel).execute_command("SENTINEL", "MASTER", self.primary_name)
            view = group_view_from_replies(self.primary_name, reply)
            return "failover in progress" if view.failover_in_progress else view.primary
        return {s: (value if error is None else describe_error(error))
                for s, (value, error) in zip(self.sentinels, run_parallel(ask, self.sentinels))}

    def replicas(self, leader):
        return [replica_summary(e) for e in
                self.sentinel(leader).execute_command("SENTINEL", "REPLICAS", self.primary_name) or []]

    def info(self, node, section="replication"):
        return self.data(node).info(section)

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
        # The LAST Sentinel that agrees leads: Sentinel-aware clients ask the Sentinels in their configured order
        # (redis-py's Sentinel client: the first that answers), and the others name the new primary in SENTINEL
        # MASTERS as soon as the leader announces the promotion, the leader itself only once every replica follows.
        leader = [s for s in self.sentinels if views.get(s) == primary][-1]
        replicas = [r for r in self.replicas(leader) if r.address != primary]
        # Raises when no replica can be promoted; without a target it is the likely choice of Sentinel.
        target = choose_target(replicas, self.target, self.avoid)
        if self.target is not None:
            method, candidates = "target", [target]
        else:
            method, candidates = "any_synced_replica", [r.address for r in promotion_candidates(replicas)]
        result.update(changed=True, new_primary=target, leader=leader, method=method, candidates=candidates,
                      others=self._others(replicas, target) if method == "target" else [],
                      replicas=[r.address for r in replicas],
                      parallel_syncs=self._parallel_syncs(leader))
        result["planned"] = plan_commands(primary, target, result["others"], self.primary_name, leader,
                                          self.zero_loss, self.pause_timeout_ms, method,
                                          raise_parallel_syncs=reconfigure_at_once(result["parallel_syncs"],
                                                                                   len(replicas)))
        return result

    def _parallel_syncs(self, leader):
        """The leader's ``parallel-syncs`` for the group (None when it does not say)."""
        reply = self.sentinel(leader).execute_command("SENTINEL", "MASTER", self.primary_name)
        fields = dict(zip(reply[0::2], reply[1::2])) if isinstance(reply, list) else dict(reply or {})
        fields = {(k.decode() if isinstance(k, bytes) else k): v for k, v in fields.items()}
        value = fields.get("parallel-syncs")
        try:
            return int(value.decode() if isinstance(value, bytes) else value)
        except (TypeError, ValueError):
            return None

    @staticmethod
    def _others(replicas, target):
        return [r.address for r in replicas if r.address != target and r.priority > 0]

    def _link_state(self, node, primary):
        """``(ok, text)``: does ``node`` replicate from ``primary`` with its link up?"""
        state = data_node_from_info(node, self.info(node))
        ok = state.role == "slave" and state.primary == primary and state.master_link_status == "up"
        return ok, "%s: role %s, primary %s, link %s" % (node, state.role, state.primary, state.master_link_status)

    # run -------------------------------------------------------------------------------------------------
    def run(self, plan):
        """Carry ``plan`` out (steps 2 to 6 of the module description); return it with what happened."""
        deadline = Deadline(self.timeout)
        primary, target, leader = plan["old_primary"], plan["new_primary"], plan["leader"]
        result = dict(plan)
        restore = {}
        failover_sent = False
        parallel_syncs = None
        try:
            self._require_pause_support(primary)
            method, candidates, others = self._settle_method(plan, primary, target)
            result["method"] = method
            if method == "target":
                self._pin_target(deadline, leader, target, others, restore)
            if self.align_with_sentinel_info:
                # With any_synced_replica, ``target`` is the replica Sentinel will most likely choose.
                result["info_cycle_wait"] = self._await_info_cycle(leader, target, deadline)
            parallel_syncs = self._raise_parallel_syncs(leader, plan)
            with self.write_pause(primary) as pause:
                if self.zero_loss:
                    self._wait_caught_up(deadline, pause, candidates, method, target)
                    result["synced_replicas"] = list(candidates)
                self._start_failover(leader)
                failover_sent = True
                target = self._wait_promoted(deadline, pause, candidates, method, target)
                result.update(write_pause_ms=pause.elapsed_ms(), new_primary=target)
                self._repoint_replicas(plan, primary, target)
                self._follow(pause, target)
                # Clients asking Sentinel still get the old address until then: keep them waiting, not failing.
                self.wait(deadline, partial(self._leader_names, leader, target),
                          "Sentinel %s to name %s" % (leader, target), pause.renew)
            self.wait(deadline, partial(self._settled, primary, target), "every Sentinel to end the failover on %s "
                      "and the old primary to replicate from it" % target)
            self._sweep(primary)
        finally:
            self._restore(restore, rewrite=failover_sent)
            if parallel_syncs is not None:
                self._restore_parallel_syncs(leader, parallel_syncs)
            result["elapsed"] = deadline.elapsed()
            result["commands"] = list(self.commands)
            if self.clients_disconnected is not None:
                result["clients_disconnected"] = self.clients_disconnected
            result["warnings"] = list(self.warnings)
        return result

    @contextmanager
    def write_pause(self, primary):
        """The write pause (with ``zero_loss``) around the block; on the way out it always ends: one CLIENT UNPAUSE
        when the block succeeded, else (or when that fails) up to three, then a warning."""
        pause = WritePause(self, primary)
        if self.zero_loss:
            pause.begin()
        try:
            yield pause
            if pause.active:
                pause.release()
        except BaseException:
            if pause.active:
                self._unpause(primary)
            raise

    # steps -----------------------------------------------------------------------------------------------
    def _require_pause_support(self, primary):
        if self.zero_loss:
            version = self.info(primary, "server").get("redis_version")
            if version_tuple(version) < (6, 2, 0):
                raise HaRedisError("zero_loss needs CLIENT PAUSE WRITE (Redis 6.2 or newer), the primary %s runs %s."
                                   % (primary, version))

    def _settle_method(self, plan, primary, target):
        """``(method, candidates, others)``. With any_synced_replica and zero_loss, every candidate must be able to
        catch up during the pause; otherwise the choice is made deterministic instead (method target with the
        planned replica), so a resyncing replica never holds writes paused."""
        method, candidates = plan.get("method", "target"), list(plan.get("candidates") or [target])
        if method != "any_synced_replica" or not self.zero_loss:
            return method, candidates, plan["others"]
        lagging = []
        for candidate in candidates:
            try:
                ok, text = self._link_state(candidate, primary)
            except Exception as exc:  # noqa: BLE001 - an unreachable candidate is a lagging one
                ok, text = False, "%s: %s" % (candidate, describe_error(exc))
            if not ok:
                lagging.append(text)
        if not lagging:
            return method, candidates, plan["others"]
        self.warnings.append("Not every replica Sentinel could promote is in sync (%s); making %s the only candidate "
                             "instead." % ("; ".join(lagging), target))
        return "target", [target], [c for c in plan["candidates"] if c != target]

    def _pin_target(self, deadline, leader, target, others, restore):
        """replica-priority 0 on the other replicas (old values kept in ``restore``), until the leader sees it."""
        link = self.info(target).get("master_link_status")
        if link != "up":
            raise HaRedisError("The target %s has its replication link %s, expected up." % (target, link))
        for other in others:
            client = self.data(other)
            before = client.config_get("replica-priority").get("replica-priority")
            if before not in (None, "0"):
                restore[other] = before
                self.send(other, client, "CONFIG", "SET", "replica-priority", "0")
        self.wait(deadline, partial(self._leader_sees_priorities, leader, target, restore),
                  "Sentinel %s to see replica-priority 0 on the other replicas" % leader)

    def _leader_sees_priorities(self, leader, target, pinned):
        seen = {r.address: r for r in self.replicas(leader)}
        pending = [o for o in pinned if o not in seen or seen[o].priority != 0]
        t = seen.get(target)
        return (not pending and t is not None and t.healthy), "priority not yet 0 on %s; target %s flags %s" % (
            ", ".join(pending) or "none", target, ",".join(t.flags) if t else "not listed")

    def _wait_caught_up(self, deadline, pause, candidates, method, target):
        """Until the target (or every candidate) has processed the paused primary's whole replication stream."""
        goal = int(pause.client.info("replication")["master_repl_offset"])
        what = ("the target %s" % target if method == "target"
                else "every replica Sentinel could promote (%s)" % ", ".join(candidates))
        self.wait(deadline, partial(self._caught_up, candidates, goal), "%s to reach the primary's offset" % what,
                  pause.renew)

    def _caught_up(self, candidates, goal):
        behind = []
        for candidate in candidates:
            info = self.info(candidate)
            offset = int(info.get("slave_repl_offset", -1))
            if offset < goal or info.get("master_link_status") != "up":
                behind.append("%s at %d (link %s)" % (candidate, offset, info.get("master_link_status")))
        return not behind, "primary offset %d; behind: %s" % (goal, ", ".join(behind) or "none")

    def _start_failover(self, leader):
        try:
            self.send(leader, self.sentinel(leader), "SENTINEL", "FAILOVER", self.primary_name)
        except Exception as exc:
            raise HaRedisError("SENTINEL FAILOVER %s was refused by %s: %s."
                               % (self.primary_name, leader, describe_error(exc))) from exc

    def _wait_promoted(self, deadline, pause, candidates, method, target):
        """The candidate that reports role master first."""
        return self.wait(deadline, partial(self._promoted, candidates), "Sentinel to promote %s" % (
            target if method == "target" else "one of " + ", ".join(candidates)), pause.renew)

    def _promoted(self, candidates):
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

    def _follow(self, pause, target):
        """The old primary follows the new one before any paused write can run on it, and closes its clients'
        connections in the same transaction (Sentinel's demotion, ``demotion_commands``): the paused writers among
        them reconnect through the Sentinels to the new primary instead of getting READONLY."""
        endpoint = parse_endpoint(target, DEFAULT_REDIS_PORT)
        self.commands.extend("%s: %s" % (pause.primary, text) for text in
                             ["MULTI"] + [command_text(c) for c in demotion_commands(endpoint.host, endpoint.port)]
                             + ["EXEC"])
        disconnected, rewrite_error = demote(pause.client, endpoint.host, endpoint.port)
        self.demoted_at = time.monotonic()
        self.clients_disconnected = disconnected
        if rewrite_error is not None:
            # Sentinel rewrites it too; report and carry on.
            self.warnings.append("CONFIG REWRITE on the old primary %s failed: %s" % (pause.primary, rewrite_error))

    def _sweep(self, primary):
        """Close the client connections the old primary accepted since its demotion (Sentinel's own excepted): a
        client that reconnected while a Sentinel still named the old primary went back to it, and would otherwise
        stay on a replica. Now that every Sentinel names the new primary, it finds that one. Best effort."""
        if self.demoted_at is None:
            return
        try:
            client = self.data(primary)
            own = client.client_id()
            age = time.monotonic() - self.demoted_at
            ids = stray_clients(client.client_list(_type="normal") + client.client_list(_type="pubsub"), age, own)
            for client_id in ids:
                self.send(primary, client, "CLIENT", "KILL", "ID", client_id)
            self.clients_disconnected = (self.clients_disconnected or 0) + len(ids)
        except Exception as exc:  # noqa: BLE001 - the switchover itself is done
            self.warnings.append("Could not close the connections the old primary %s accepted during the switchover: "
                                 "%s" % (primary, describe_error(exc)))

    def _raise_parallel_syncs(self, leader, plan):
        """``parallel-syncs`` on the leader up to the number of replicas for the duration, so that it reconfigures
        them all at once instead of one (INFO period, a second) after the other; the old value, or None when
        nothing was changed. Sentinel ends the failover, and names the new primary in SENTINEL MASTERS (which
        redis-py's Sentinel client reads), only when every replica follows the new primary."""
        wanted = len(plan.get("replicas") or [])
        before = plan.get("parallel_syncs")
        if not reconfigure_at_once(before, wanted):
            return None
        self.send(leader, self.sentinel(leader), "SENTINEL", "SET", self.primary_name, "parallel-syncs", wanted)
        return before

    def _restore_parallel_syncs(self, leader, value):
        error = None
        for _attempt in range(3):
            try:
                self.send(leader, self.sentinel(leader), "SENTINEL", "SET", self.primary_name, "parallel-syncs",
                          value)
                return
            except Exception as exc:  # noqa: BLE001 - retried, then reported
                error = exc
                time.sleep(0.1)
        self.warnings.append("Could not restore parallel-syncs %s on Sentinel %s: %s"
                             % (value, leader, describe_error(error)))

    def _repoint_replicas(self, plan, primary, target):
        """REPLICAOF the new primary on every other replica right after the promotion, in parallel: by the time the
        leader has sent its own (the same) command, they replicate from the new primary with their link up, and its
        next INFO of each marks it reconfigured. Best effort: Sentinel reconfigures whichever one this missed."""
        others = [r for r in plan.get("replicas") or [] if r not in (primary, target)]
        if not others:
            return
        endpoint = parse_endpoint(target, DEFAULT_REDIS_PORT)

        def repoint(node):
            return self.send(node, self.data(node), "REPLICAOF", endpoint.host, endpoint.port)

        for node, (_value, error) in zip(others, run_parallel(repoint, others)):
            if error is not None:
                self.warnings.append("REPLICAOF %s on the replica %s failed (Sentinel reconfigures it): %s"
                                     % (target, node, describe_error(error)))

    def _leader_names(self, leader, target):
        named = self.named_by(leader)
        return named == target, "Sentinel %s names %s" % (leader, named)

    def _settled(self, primary, target):
        # SENTINEL MASTER, not GET-MASTER-ADDR-BY-NAME: the latter names the promoted replica while the leader is
        # still reconfiguring the other replicas, SENTINEL MASTER(S) (which clients such as redis-py use) only once
        # the failover is over.
        states = self.sentinel_states()
        lagging = sorted("%s (%s)" % (s, v) for s, v in states.items() if v != target)
        ok, old = self._link_state(primary, target)
        return (ok and not lagging), "Sentinels not yet done with %s: %s; old primary %s" % (
            target, ", ".join(lagging) or "none", old)

    def _await_info_cycle(self, leader, target, deadline):
        """Sleep (before any pause) until the leader's last INFO reply from ``target`` is INFO_AGE_MS old; return
        the seconds slept. Skipped when the age is unknown or the wait would eat into the time the switchover
        itself needs (half of ``timeout``)."""
        def delay():
            ages = {r.address: r.info_age_ms for r in self.replicas(leader)}
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
        error = None
        for _attempt in range(3):
            try:
                self.send(primary, self.data(primary), "CLIENT", "UNPAUSE")
                return
            except Exception as exc:  # noqa: BLE001 - retried, then reported
                error = exc
        self.warnings.append("CLIENT UNPAUSE on %s failed: %s; the pause ends by itself after %d ms"
                             % (primary, describe_error(error), self.pause_timeout_ms))

    def _restore(self, restore, rewrite):
        for node, value in sorted(restore.items()):
            error = None
            for _attempt in range(3):
                try:
                    client = self.data(node)
                    self.send(node, client, "CONFIG", "SET", "replica-priority", value)
                    if rewrite:
                        # Sentinel's reconfiguration rewrote the file while the priority was 0.
                        try:
                            self.send(node, client, "CONFIG", "REWRITE")
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
                                     % (value, node, describe_error(error)))
