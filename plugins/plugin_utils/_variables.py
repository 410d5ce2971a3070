# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Inventory typos: the ``redis_*`` variables the collection knows, and the ones an inventory sets that it does not.

Controller-only (the ``ha.redis.unknown_variables`` filter and the ``ha.redis.known_variables`` lookup). The known
names are the options of every role's ``meta/argument_specs.yml`` (every entry point) and the variables the
playbooks read (``playbooks/vars/playbook_variables.yml``), so a new role option is known the day it is documented.
"""

from __future__ import annotations

import difflib
import glob
import os

import yaml

PREFIX = "redis_"
# The collection's root: plugins/plugin_utils/ is two levels below it, in a checkout and in an installed collection.
COLLECTION_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PLAYBOOK_VARIABLES = os.path.join("playbooks", "vars", "playbook_variables.yml")


def known_variables(root=COLLECTION_ROOT):
    """The sorted names of every role option (all entry points) and of every playbook variable under ``root``."""
    names = set()
    for path in sorted(glob.glob(os.path.join(root, "roles", "*", "meta", "argument_specs.yml"))):
        with open(path, encoding="utf-8") as handle:
            specs = (yaml.safe_load(handle) or {}).get("argument_specs") or {}
        for entry_point in specs.values():
            names.update((entry_point or {}).get("options") or {})
    path = os.path.join(root, PLAYBOOK_VARIABLES)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            names.update((yaml.safe_load(handle) or {}).get("playbook_variables") or {})
    return sorted(names)


def closest(name, known):
    """The known name closest to ``name`` (difflib's ratio of at least 0.75), or None."""
    found = difflib.get_close_matches(name, list(known), n=1, cutoff=0.75)
    return found[0] if found else None


def unknown_variables(sources, known, prefix=PREFIX):
    """The ``prefix*`` names set in ``sources`` that are not in ``known``, each with the hosts that set it.

    ``sources`` maps a host to its variables (a mapping; only its keys are read, nothing is templated) or is a
    plain list of names (host ``None``). Returns a list sorted by name of
    ``{"name", "hosts", "did_you_mean", "message"}``; ``message`` is one sentence that says what to change.
    """
    known = set(known)
    seen = {}
    if isinstance(sources, (list, tuple, set, frozenset)):
        sources = {None: sources}
    for host, variables in sources.items():
        for name in variables:
            if isinstance(name, str) and name.startswith(prefix) and name not in known:
                hosts = seen.setdefault(name, [])
                if host is not None and host not in hosts:
                    hosts.append(host)
    result = []
    for name in sorted(seen):
        suggestion = closest(name, known)
        hosts = sorted(seen[name])
        where = " (set for %s)" % _hosts_text(hosts) if hosts else ""
        if suggestion:
            message = "%s%s is not a variable of ha.redis: did you mean %s? Rename it, or remove it." % (
                name, where, suggestion)
        else:
            message = ("%s%s is not a variable of ha.redis: rename it to one the README's variable table lists, "
                       "or remove it." % (name, where))
        result.append({"name": name, "hosts": hosts, "did_you_mean": suggestion, "message": message})
    return result


def _hosts_text(hosts, limit=3):
    if len(hosts) <= limit:
        return ", ".join(hosts)
    return "%s and %d more" % (", ".join(hosts[:limit]), len(hosts) - limit)
