# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The metrics filters (module_utils/_exporter.py) for Jinja: each host's exporters, the Prometheus scrape targets
of a deployment and its alert rules. Each filter is documented in the ``<name>.yml`` file next to this one."""

from __future__ import annotations

# The model's reading and the domain-error wrapper are the topology filters' own.
from ansible_collections.ha.redis.plugins.filter.topology import _domain_errors, _model
from ansible_collections.ha.redis.plugins.module_utils import _exporter


@_domain_errors
def exporter_instances(model, host, offset=_exporter.DEFAULT_PORT_OFFSET, sentinel_instance="ha", listen_address=""):
    """The exporters of ``host``: name, role, group, port, listen_address, listen_port, target."""
    return _exporter.exporter_dicts(_exporter.host_exporters(_model(model), host, offset, sentinel_instance,
                                                             listen_address))


@_domain_errors
def exporter_targets(model, hostvars=None, offset=_exporter.DEFAULT_PORT_OFFSET, sentinel_instance="ha"):
    """Prometheus file_sd entries for every exporter of the deployment; a host's ``redis_exporter_listen_address``
    (from ``hostvars``) wins over its public address."""
    topo = _model(model)
    listen = {}
    for host in dict.fromkeys(topo.data_hosts + topo.sentinel_hosts):
        found = hostvars[host].get("redis_exporter_listen_address") if hostvars and host in hostvars else None
        if found:
            listen[host] = str(found)
    return _exporter.scrape_targets(topo, offset, sentinel_instance, listen)


@_domain_errors
def alert_rules(model=None, settings=None):
    """The Prometheus rules file as data: for the inventory's groups with a model, the generic one without."""
    return _exporter.alert_rules(settings, _model(model) if model else None)


class FilterModule:
    def filters(self):
        return {
            "exporter_instances": exporter_instances,
            "exporter_targets": exporter_targets,
            "alert_rules": alert_rules,
        }
