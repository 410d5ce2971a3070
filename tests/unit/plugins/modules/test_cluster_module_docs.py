# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Redis Cluster modules: documentation true to the argument spec. No server.

That the keys a real run returns match RETURN is asserted in tests/functional (test_cluster_check.py,
test_redis_cluster.py).
"""

from __future__ import annotations

import pytest
import yaml
from ansible_collections.ha.redis.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.ha.redis.plugins.modules import (
    cluster_check,
    cluster_failover,
    cluster_info,
    cluster_rebalance,
    redis_cluster,
)

MODULES = [cluster_check, cluster_failover, cluster_info, cluster_rebalance, redis_cluster]


def documented_options(module):
    doc = yaml.safe_load(module.DOCUMENTATION)
    options = {}
    for fragment in doc["extends_documentation_fragment"]:
        options.update(yaml.safe_load(getattr(ModuleDocFragment, fragment.split(".")[3].upper()))["options"])
    options.update(doc["options"])
    return options


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_documentation_matches_argument_spec(module):
    spec = module.argument_spec()
    options = documented_options(module)
    assert set(spec) == set(options)
    assert "sentinel_password" not in spec, "cluster modules talk to data nodes only"
    for name, arg in spec.items():
        doc = options[name]
        assert doc.get("type", "str") == arg.get("type", "str"), name
        assert doc.get("default") == arg.get("default"), name
        assert doc.get("required", False) == arg.get("required", False), name
        assert doc.get("choices") == arg.get("choices"), name
        assert doc.get("elements") == arg.get("elements"), name
        if "password" in name:
            assert arg.get("no_log") is True, name


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_examples_and_return_are_yaml(module):
    assert all(isinstance(task, dict) for task in yaml.safe_load(module.EXAMPLES))
    for key, value in yaml.safe_load(module.RETURN).items():
        assert {"description", "returned", "type"} <= set(value), key
