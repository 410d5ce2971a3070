# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: known_variables
short_description: The redis_* variables of the collection's roles and playbooks
version_added: 1.2.0
author:
  - ha.redis contributors (!UNKNOWN)
description:
  - Returns the names of every option of every role of the collection (each role's C(meta/argument_specs.yml),
    every entry point) and of every variable its playbooks read (C(playbooks/vars/playbook_variables.yml)),
    sorted.
  - Read from the collection's own files, in a checkout as in an installed collection.
options: {}
"""

EXAMPLES = r"""
- name: List the variables ha.redis knows
  ansible.builtin.debug:
    msg: "{{ lookup('ha.redis.known_variables', wantlist=true) }}"
"""

RETURN = r"""
_raw:
  description: The names, sorted.
  type: list
  elements: str
"""

from ansible.plugins.lookup import LookupBase
from ansible_collections.ha.redis.plugins.plugin_utils._variables import known_variables


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        return known_variables()
