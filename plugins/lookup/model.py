# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: model
short_description: The deployment model of the inventory, from the variables in scope
version_added: 1.0.0
author:
  - ha.redis contributors (!UNKNOWN)
description:
  - Builds the deployment model (the C(ha.redis.topology) filter) from the variables the roles read, so that the
    roles and playbooks say it in one place; see docs/DESIGN.md, "Topology model".
  - Reads C(groups), C(hostvars), C(redis_primary_groups), C(redis_sentinel_quorum), C(redis_sentinel_allow_even),
    C(redis_min_replicas_to_write), C(redis_min_replicas_max_lag) and C(redis_clusters); those not set take the
    roles' defaults.
  - The model is built anew at every use; C(ha.redis.preflight) keeps it as the fact C(__redis_model) for the run.
options: {}
"""

EXAMPLES = r"""
- name: Keep the deployment model for the run
  ansible.builtin.set_fact:
    __redis_model: "{{ lookup('ha.redis.model') }}"
  run_once: true
"""

RETURN = r"""
_raw:
  description: The model, as the C(ha.redis.topology) filter returns it (one dict).
  type: list
  elements: dict
"""

from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.lookup import LookupBase
from ansible_collections.ha.redis.plugins.filter.topology import topology
from ansible_collections.ha.redis.plugins.module_utils._topology import DEFAULT_MIN_REPLICAS_MAX_LAG

# The variables the model reads, and their values when no role default is in scope.
INPUTS = {
    "redis_primary_groups": None,
    "redis_sentinel_quorum": "",
    "redis_sentinel_allow_even": False,
    "redis_min_replicas_to_write": "auto",
    "redis_min_replicas_max_lag": DEFAULT_MIN_REPLICAS_MAX_LAG,
    "redis_clusters": [],
}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        variables = variables or {}
        values = {name: self._templar.template(variables[name]) if name in variables else default
                  for name, default in INPUTS.items()}
        return [topology(self._templar.template(variables["groups"]), variables["hostvars"],
                         values["redis_primary_groups"], quorum=values["redis_sentinel_quorum"],
                         allow_even=boolean(values["redis_sentinel_allow_even"], strict=False),
                         min_replicas_to_write=values["redis_min_replicas_to_write"],
                         min_replicas_max_lag=values["redis_min_replicas_max_lag"],
                         clusters=values["redis_clusters"])]
