# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The entries of the list forms of the node modules, as roles/server and roles/sentinel pass them. Pure.

Private to the collection: the interface may change between releases.
One module run per host does every instance (``instances``) or Sentinel group (``groups``) of that host; which
instances a task acts on, and with what, is decided here from the model's instances (``host_instances``) and the
topology read from the Sentinels (``__redis_topology``: name -> primary_host, primary_address, primary_port,
bootstrap). Redis-free: the filter plugins import it (module_utils/_common.py says why).
"""

from __future__ import annotations

from ansible_collections.ha.redis.plugins.module_utils._common import HaRedisError


def _where(topology, name):
    try:
        return topology[name]
    except KeyError:
        raise HaRedisError("Group %s is not in the topology read from the Sentinels; expected one of %s."
                           % (name, ", ".join(sorted(topology)) or "none")) from None


def node_entries(instances, exclude=()):
    """``[{name, login_port}]`` of ``instances`` but those named in ``exclude`` (for example started in this run)."""
    skip = set(exclude or ())
    return [dict(name=i["name"], login_port=int(i["port"])) for i in instances if i["name"] not in skip]


def replication_entries(groups, topology, host):
    """What redis_replication sets on ``host``'s ``groups``: each group where ``host`` is a replica (follow the
    primary), or the primary of a group at bootstrap (``role: primary``). A primary of a running group is left to
    Sentinel."""
    entries = []
    for group in groups:
        where = _where(topology, group["name"])
        is_primary = where["primary_host"] == host
        if is_primary and not where.get("bootstrap"):
            continue
        entry = dict(name=group["name"], login_port=int(group["port"]), role="primary" if is_primary else "replica",
                     primary_port=int(where["primary_port"]))
        if not is_primary:
            entry["primary_host"] = where["primary_address"]
        entries.append(entry)
    return entries


def runtime_config_entries(instances, managed, config):
    """What redis_config sets on each instance: ``managed`` (the Ansible-owned file's live settings), the
    instance's write safety (min-replicas-*), ``config`` (the global settings), then the instance's own ``config``;
    a later one wins."""
    entries = []
    for instance in instances:
        settings = dict(managed or {})
        settings["min-replicas-to-write"] = instance["min_replicas_to_write"]
        settings["min-replicas-max-lag"] = instance["min_replicas_max_lag"]
        settings.update(config or {})
        settings.update(instance.get("config") or {})
        entries.append(dict(name=instance["name"], login_port=int(instance["port"]), config=settings))
    return entries


def monitor_entries(groups, topology):
    """What sentinel_monitor is given for each group: its name and the primary to start monitoring from."""
    return [dict(primary_name=g["name"], primary_host=_where(topology, g["name"])["primary_address"],
                 primary_port=int(_where(topology, g["name"])["primary_port"])) for g in groups]
