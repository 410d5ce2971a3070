# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The proxy filter (module_utils/_proxy.py) for Jinja: the HAProxy listeners of a proxy host, one per replication
group. Documented in ``proxy_listeners.yml`` next to this file."""

from __future__ import annotations

# The model's reading and the domain-error wrapper are the topology filters' own.
from ansible_collections.ha.redis.plugins.filter.topology import _domain_errors, _model
from ansible_collections.ha.redis.plugins.module_utils import _proxy


@_domain_errors
def proxy_listeners(model, host, offset=_proxy.DEFAULT_PORT_OFFSET, listen_address="", check_user="",
                    check_password="", require_replicas=True):
    """The listeners of the proxy ``host``: name, group, bind, port, servers, check, replica_rule."""
    topo = _model(model)
    known = host in topo.data_hosts or host in topo.sentinel_hosts
    return _proxy.proxy_listeners(dict(groups=[topo.group_dict(g) for g in topo.groups]), host, offset,
                                  listen_address, check_user, check_password, require_replicas,
                                  topo.host_ports(host) if known else ())


class FilterModule:
    def filters(self):
        return {"proxy_listeners": proxy_listeners}
