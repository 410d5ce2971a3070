# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: render
short_description: Render the template of each file entry, each with its own variables
version_added: 1.0.0
author:
  - ha.redis contributors (!UNKNOWN)
description:
  - Takes file entries (dicts with C(template) and optional C(template_vars), as C(ha.redis.server_layout) returns
    them) and returns them with C(content), the template rendered by C(ansible.builtin.template) with the entry's
    own C(template_vars) added to the task's variables. C(template) and C(template_vars) are left out of the
    result, so it can be passed to C(ha.redis.node_files) as it is.
  - Templates are searched like the template lookup searches them (the role's C(templates) directory first).
  - Use it with C(query) (or C(lookup) with C(wantlist=true)) to get a list.
options:
  _terms:
    description: File entries, or lists of them.
    type: list
    elements: raw
    required: true
"""

EXAMPLES = r"""
- name: Write the files of every group of this host in one call
  ha.redis.node_files:
    files: "{{ query('ha.redis.render', layout.plain_files) }}"
  vars:
    layout: "{{ my_groups | ha.redis.server_layout(engine) }}"
"""

RETURN = r"""
_raw:
  description: The entries with C(content) instead of C(template) and C(template_vars).
  type: list
  elements: dict
"""

from collections.abc import Mapping

from ansible.errors import AnsibleLookupError
from ansible.plugins.loader import lookup_loader
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        template = lookup_loader.get("ansible.builtin.template", loader=self._loader, templar=self._templar)
        entries = []
        for term in terms:
            entries.extend(term if isinstance(term, (list, tuple)) else [term])
        rendered = []
        for entry in entries:
            if not isinstance(entry, Mapping) or not entry.get("template"):
                raise AnsibleLookupError("ha.redis.render: expected a dict with 'template', got %r." % (entry,))
            result = {key: value for key, value in entry.items() if key not in ("template", "template_vars")}
            result["content"] = template.run([entry["template"]], variables,
                                             template_vars=dict(entry.get("template_vars") or {}))[0]
            rendered.append(result)
        return rendered
