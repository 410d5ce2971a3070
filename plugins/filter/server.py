# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The data node's files and packages (module_utils/_server_layout.py) for roles/server, and the entries of the
node modules' list forms (module_utils/_node_entries.py) for roles/server and roles/sentinel.

Each filter is documented in the ``<name>.yml`` file next to this one.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.ha.redis.plugins.module_utils import _node_entries as entries
from ansible_collections.ha.redis.plugins.module_utils import _server_layout as layout
from ansible_collections.ha.redis.plugins.module_utils._common import HaRedisError


def server_layout(groups, engine, acl=False, host_tuning=False):
    """Directories and files of a data node serving ``groups``."""
    if not isinstance(engine, Mapping):
        raise AnsibleFilterError("ha.redis.server_layout: expected the engine table row, got %r." % (engine,))
    try:
        return layout.server_layout(list(groups or []), engine, acl=bool(acl), host_tuning=bool(host_tuning))
    except (KeyError, TypeError, ValueError) as exc:
        raise AnsibleFilterError("ha.redis.server_layout: %s" % exc) from None


def missing_packages(probe_lines, names, version=""):
    """The packages of ``names`` the install probe found missing or not at ``version``."""
    return layout.missing_packages(list(probe_lines or []), list(names or []), version or "")


def _entries_filter(func):
    """``func`` as a filter: a domain error or a malformed instance is one AnsibleFilterError naming the filter."""
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except HaRedisError as exc:
            raise AnsibleFilterError("ha.redis.%s: %s" % (func.__name__, exc)) from None
        except (KeyError, TypeError, ValueError) as exc:
            raise AnsibleFilterError("ha.redis.%s: expected the instances of the model (name, port, ...): %r"
                                     % (func.__name__, exc)) from None
    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


class FilterModule:
    def filters(self):
        found = {"server_layout": server_layout, "missing_packages": missing_packages}
        for func in (entries.node_entries, entries.replication_entries, entries.runtime_config_entries,
                     entries.monitor_entries):
            found[func.__name__] = _entries_filter(func)
        return found
