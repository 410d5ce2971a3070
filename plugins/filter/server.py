# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The data node's files and packages (module_utils/_server_layout.py) for roles/server.

Each filter is documented in the ``<name>.yml`` file next to this one.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.ha.redis.plugins.module_utils import _server_layout as layout


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


class FilterModule:
    def filters(self):
        return {"server_layout": server_layout, "missing_packages": missing_packages}
