# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The metrics filters (module_utils/_exporter.py) for Jinja: each host's exporters, the Prometheus scrape targets
of a deployment and its alert rules. Each filter is documented in the ``<name>.yml`` file next to this one."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible_collections.ha.redis.plugins.module_utils import _exporter
from ansible_collections.ha.redis.plugins.module_utils._common import HaRedisError
from ansible_collections.ha.redis.plugins.module_utils._topology import Topology


def _model(value):
    if not isinstance(value, Mapping):
        raise AnsibleFilterError("Expected the result of ha.redis.topology, got %s." % type(value).__name__)
    return Topology.from_dict(value)


def _domain_errors(func):
    """One clear AnsibleFilterError for a domain error, with the filter's name."""
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except HaRedisError as exc:
            raise AnsibleFilterError("ha.redis.%s: %s" % (func.__name__, exc)) from None
    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


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
