# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The inventory typo filter (plugin_utils/_variables.py); documented in ``unknown_variables.yml`` next to this one."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.ha.redis.plugins.plugin_utils._variables import unknown_variables as _unknown


def unknown_variables(hostvars, known, hosts=None):
    """The ``redis_*`` variables set for ``hosts`` (default every host of ``hostvars``) that ``known`` lacks."""
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError("unknown_variables expects hostvars (a mapping of host to variables), got %s."
                                 % type(hostvars).__name__)
    names = hostvars.keys() if hosts is None else [host for host in hosts if host in hostvars]
    # Only the keys of each host's variables are read: nothing is templated.
    return _unknown({host: list(hostvars[host].keys()) for host in names}, known)


class FilterModule:
    def filters(self):
        return {"unknown_variables": unknown_variables}
