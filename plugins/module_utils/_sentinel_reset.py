# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SENTINEL RESET of one group on one Sentinel, and the wait until it has found the live members again.

Private to the collection: the interface may change between releases.

A Sentinel never forgets a replica or another Sentinel on its own: after a host is retired it keeps listing it
(down). ``SENTINEL RESET <pattern>`` clears those lists; the Sentinel then rediscovers the replicas from the
primary's ``INFO`` and the other Sentinels from their hello messages (every 2 seconds). Decisions are pure
functions of a :class:`~._sentinel.GroupView`; only :func:`read_view` and :func:`reset` talk to the Sentinel.
"""

from __future__ import annotations

import time

from ansible_collections.ha.redis.plugins.module_utils._connection import HaRedisError
from ansible_collections.ha.redis.plugins.module_utils._sentinel import BAD_INSTANCE_FLAGS, collect_sentinel

GLOB_SPECIAL = "\\*?[]"


def glob_escape(name):
    """The pattern that SENTINEL RESET matches against ``name`` only (Redis glob, backslash escapes)."""
    return "".join("\\" + ch if ch in GLOB_SPECIAL else ch for ch in name)


def members(view):
    """``{"primary", "sentinels", "replicas"}`` of a GroupView, addresses sorted; None when not monitored."""
    if view is None or not view.monitored:
        return None
    return dict(
        primary=view.primary,
        sentinels=sorted(i.address for i in view.sentinels),
        replicas=sorted(i.address for i in view.replicas),
    )


def reset_needed(view, expected_sentinels, expected_replicas):
    """True when the Sentinel lists more Sentinels or replicas than expected (retired ones it still remembers)."""
    return len(view.sentinels) > expected_sentinels - 1 or len(view.replicas) > expected_replicas


def settled(view, expected_sentinels, expected_replicas):
    """True when the Sentinel lists exactly the expected members and sees the primary connected and up."""
    return (
        view is not None
        and view.monitored
        and len(view.sentinels) == expected_sentinels - 1
        and len(view.replicas) == expected_replicas
        and not any(f in view.flags for f in BAD_INSTANCE_FLAGS)
    )


def forgotten(before, after):
    """Members listed before and not after (what the reset made the Sentinel forget)."""
    if not before or not after:
        return dict(sentinels=[], replicas=[])
    return {key: sorted(set(before[key]) - set(after[key])) for key in ("sentinels", "replicas")}


def read_view(client, sentinel_address, name):
    """The Sentinel's GroupView of ``name``; raises HaRedisError when it does not monitor it."""
    state = collect_sentinel(client, sentinel_address, [name])
    view = state.groups.get(name)
    if view is None or not view.monitored:
        raise HaRedisError(
            "Sentinel %s does not monitor group %s, expected it to (nothing to reset)." % (sentinel_address, name),
            monitored=list(state.monitored))
    return view


def reset(client, name):
    """Send SENTINEL RESET for exactly ``name``; return how many groups the Sentinel reset."""
    return int(client.execute_command("SENTINEL", "RESET", glob_escape(name)))


def wait_settled(client, sentinel_address, name, expected_sentinels, expected_replicas, deadline, sleep):
    """Poll until :func:`settled`; return the last view. Raises HaRedisError (expected vs seen) on timeout."""
    while True:
        view = read_view(client, sentinel_address, name)
        if settled(view, expected_sentinels, expected_replicas):
            return view
        if deadline.expired():
            raise HaRedisError(
                "Sentinel %s lists %d other Sentinels and %d replicas of group %s (primary flags %s) after %.1f s; "
                "expected %d and %d with the primary up." % (
                    sentinel_address, len(view.sentinels), len(view.replicas), name, ",".join(view.flags) or "-",
                    deadline.elapsed(), expected_sentinels - 1, expected_replicas),
                seen=members(view))
        time.sleep(min(sleep, deadline.remaining()) or sleep)
