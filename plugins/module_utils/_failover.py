# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure decisions of a planned switchover (module ``sentinel_failover``): which primary the Sentinels agree on,
whether there is anything to do, which replica to promote, which commands it takes, when to start. No I/O.

Private to the collection: the interface may change between releases.

``_switchover.py`` carries the switchover out. Replicas are the :class:`InstanceView` of ``_sentinel_model.py``,
and agreement is its ``count_votes``/``decide``.
"""

from __future__ import annotations

from ansible_collections.ha.redis.plugins.module_utils._connection import (
    DEFAULT_REDIS_PORT,
    HaRedisError,
    parse_endpoint,
)
from ansible_collections.ha.redis.plugins.module_utils._sentinel_model import (
    InstanceView,
    count_votes,
    decide,
    majority,
)

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
    primary, status = decide(count_votes(views), total)
    if status != "agreed":
        raise HaRedisError("The Sentinels do not agree on a primary: expected %d of %d to name the same one, saw %s."
                           % (majority(total), total,
                              ", ".join("%s: %s" % kv for kv in sorted(views.items())) or "no answer"), views=views)
    return primary


def replica_summary(entry):
    """One entry of ``SENTINEL REPLICAS`` as an :class:`InstanceView` (flags, priority, offset, INFO age)."""
    return InstanceView.from_reply(entry)


def promotion_candidates(replicas, avoid=None):
    """Replicas Sentinel may promote: listed, not down or disconnected, priority above 0 (Sentinel does not check
    the link state; a replica whose link is down is still a candidate and must catch up too)."""
    return [r for r in replicas if r.address != avoid and r.priority > 0 and not r.down]


def needs_switchover(primary, target=None, avoid=None):
    """``(bool, reason)``: is there anything to do?"""
    if avoid is not None and primary != avoid:
        return False, "%s is not the primary (the primary is %s)" % (avoid, primary)
    if target is not None and primary == target:
        return False, "%s is the primary already" % target
    return True, None


def choose_target(replicas, target=None, avoid=None):
    """The replica to promote (from :class:`InstanceView` replicas). Raises when there is none."""
    if target is not None:
        for replica in replicas:
            if replica.address == target:
                if not replica.healthy:
                    raise HaRedisError("The target %s is not healthy according to Sentinel (flags %s), expected a "
                                       "connected replica with its link up." % (target, ",".join(replica.flags)))
                if replica.priority == 0:
                    raise HaRedisError("The target %s has replica-priority 0: Sentinel never promotes it." % target)
                return target
        raise HaRedisError("The target %s is not a replica Sentinel knows: expected one of %s."
                           % (target, ", ".join(r.address for r in replicas) or "none"))
    candidates = [r for r in replicas if r.healthy and r.priority > 0 and r.address != avoid]
    if not candidates:
        raise HaRedisError("No replica can become the primary: expected a healthy replica with a non-zero "
                           "replica-priority, saw %s." % (", ".join(
                               "%s (%s, priority %d)" % (r.address, ",".join(r.flags), r.priority)
                               for r in replicas) or "no replicas"))
    candidates.sort(key=lambda r: (r.priority, -(r.offset or 0), r.address))
    return candidates[0].address


def reconfigure_at_once(parallel_syncs, replicas):
    """Must the leader's ``parallel-syncs`` be raised so that it reconfigures the ``replicas`` (a count: every
    replica it lists, the one it promotes included) all at once?"""
    return parallel_syncs is not None and 0 < parallel_syncs < replicas - 1


def plan_commands(primary, target, others, primary_name, leader, zero_loss, pause_timeout_ms, method="target",
                  raise_parallel_syncs=False):
    """The commands a switchover sends, for the report and for check mode. Pure.

    With method ``any_synced_replica``, ``target`` is the predicted new primary (Sentinel makes the choice)."""
    commands = ["%s: CONFIG SET replica-priority 0 (restored afterwards)" % o for o in others]
    if raise_parallel_syncs:
        commands.append("%s: SENTINEL SET %s parallel-syncs <number of replicas> (restored afterwards)"
                        % (leader, primary_name))
    if zero_loss:
        commands.append("%s: CLIENT PAUSE %d WRITE" % (primary, pause_timeout_ms))
    commands.append("%s: SENTINEL FAILOVER %s" % (leader, primary_name))
    endpoint = parse_endpoint(target, DEFAULT_REDIS_PORT)
    new = "%s %d" % (endpoint.host, endpoint.port)
    if method != "target":
        new = "<promoted replica, predicted %s>" % new
    commands.append("<every other replica>: REPLICAOF %s" % new)
    commands.append("%s: MULTI" % primary)
    commands.append("%s: REPLICAOF %s" % (primary, new))
    commands.append("%s: CONFIG REWRITE" % primary)
    commands.append("%s: CLIENT KILL TYPE normal" % primary)
    commands.append("%s: CLIENT KILL TYPE pubsub" % primary)
    commands.append("%s: EXEC" % primary)
    if zero_loss:
        commands.append("%s: CLIENT UNPAUSE" % primary)
    return commands
