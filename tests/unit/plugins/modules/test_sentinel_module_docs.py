# -*- coding: utf-8 -*-
# Copyright: ha.redis contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""sentinel_info / sentinel_quorum / proxy_check: documentation true to the argument spec, option validation. No server.

That the keys a real run returns match RETURN is asserted in tests/functional (test_returned_keys_match_return_doc).
"""

from __future__ import annotations

import pytest
import yaml
from ansible_collections.ha.redis.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.ha.redis.plugins.module_utils._connection import HaRedisError
from ansible_collections.ha.redis.plugins.modules import proxy_check, sentinel_info, sentinel_quorum

MODULES = [sentinel_info, sentinel_quorum, proxy_check]
TYPE_DEFAULT = "str"


def documented_options(module):
    """The module's options with those of the ``ha.redis.connection`` fragments it extends."""
    doc = yaml.safe_load(module.DOCUMENTATION)
    options = {}
    for fragment in doc.get("extends_documentation_fragment", []):
        assert fragment.startswith("ha.redis.connection"), fragment
        part = fragment.split(".")[3].upper() if fragment.count(".") == 3 else "DOCUMENTATION"
        options.update(yaml.safe_load(getattr(ModuleDocFragment, part))["options"])
    options.update(doc["options"])
    return options


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_documentation_matches_argument_spec(module):
    spec = module.argument_spec()
    options = documented_options(module)
    assert set(spec) == set(options)
    for name, arg in spec.items():
        doc = options[name]
        assert doc.get("type", TYPE_DEFAULT) == arg.get("type", TYPE_DEFAULT), name
        assert doc.get("default") == arg.get("default"), name
        assert doc.get("required", False) == arg.get("required", False), name
        assert sorted(doc.get("aliases", [])) == sorted(arg.get("aliases", [])), name
        assert doc.get("elements") == arg.get("elements"), name
        if "password" in name:
            assert arg.get("no_log") is True, name


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_examples_and_return_are_yaml(module):
    examples = yaml.safe_load(module.EXAMPLES)
    assert examples and all(isinstance(task, dict) for task in examples)
    returned = yaml.safe_load(module.RETURN)
    for key, value in returned.items():
        assert {"description", "returned", "type"} <= set(value), key


def test_return_documents_every_key_the_quorum_module_builds():
    returned = set(yaml.safe_load(sentinel_quorum.RETURN))
    assert returned == {"elapsed", "attempts", "problems", "warnings_found", "groups", "sentinels", "report", "probe"}


def params(**overrides):
    p = dict(sentinels=["10.0.0.1", "10.0.0.2:26380", {"host": "10.0.0.3", "port": 26381}, "10.0.0.1:26379"],
             primary_name=["main", "cache"], expected_sentinels=None, expected_replicas=None,
             min_replicas_to_write=None, timeout=30, sleep=1, max_lag_bytes=1048576, max_lag_seconds=10,
             probe_wait_ms=1000)
    p.update(overrides)
    return p


def test_validate_normalizes_and_deduplicates_sentinels():
    addresses, endpoints, names, expectations = sentinel_quorum.validate(params())
    assert addresses == ["10.0.0.1:26379", "10.0.0.2:26380", "10.0.0.3:26381"]
    assert [e.port for e in endpoints] == [26379, 26380, 26381]
    assert names == ["main", "cache"]
    assert {n: (e.sentinels, e.replicas) for n, e in expectations.items()} == {"main": (3, None), "cache": (3, None)}


def test_validate_expected_counts():
    _a, _e, _n, expectations = sentinel_quorum.validate(params(expected_sentinels=5, expected_replicas={"main": 2}))
    main, cache = expectations["main"], expectations["cache"]
    assert (main.sentinels, main.replicas, cache.replicas) == (5, 2, None)
    _a, _e, _n, expectations = sentinel_quorum.validate(params(expected_replicas="1"))
    assert expectations["cache"].replicas == 1
    _a, _e, _n, expectations = sentinel_quorum.validate(params(min_replicas_to_write={"main": 0}))
    assert (expectations["main"].min_replicas_to_write, expectations["cache"].min_replicas_to_write) == (0, None)


@pytest.mark.parametrize("overrides, text", [
    (dict(expected_replicas={"other": 1}), "expected only groups of primary_name"),
    (dict(expected_replicas="two"), "expected a whole number"),
    (dict(expected_replicas=-1), "at least 0"),
    (dict(expected_replicas=1.5), "at least 0"),
    (dict(min_replicas_to_write={"other": 1}), "Option min_replicas_to_write names other"),
    (dict(min_replicas_to_write="one"), "Option min_replicas_to_write is 'one'"),
    (dict(sentinels=[]), "Option sentinels is empty"),
    (dict(primary_name=[""]), "Option primary_name is empty"),
    (dict(timeout=-1), "Option timeout is -1"),
    (dict(sentinels=["host:99999"]), "outside 1-65535"),
])
def test_validate_rejects(overrides, text):
    with pytest.raises(HaRedisError, match=text):
        sentinel_quorum.validate(params(**overrides))
