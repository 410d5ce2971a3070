"""Each role's meta/argument_specs.yml documents what defaults/main.yml really sets (ansible-doc -t role shows it)."""

from __future__ import annotations

import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").exists())
# Options with a fixed set of values, wherever a role declares them.
CHOICES = {"redis_auth_mode": ["acl", "requirepass"], "redis_tls_auth_clients": ["no", "optional", "yes"],
           "redis_engine": ["redis", "valkey"]}


def entry_points(role):
    specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return specs.items()


def walk(options, prefix=""):
    for name, spec in (options or {}).items():
        yield prefix + name, spec
        yield from walk(spec.get("options"), prefix + name + ".")


@pytest.mark.parametrize("role", ROLES)
def test_spec_defaults_are_the_role_defaults(role):
    defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text()) or {}
    for entry, spec in entry_points(role):
        for name, option in (spec.get("options") or {}).items():
            if name in defaults:
                assert option.get("default") == defaults[name], "%s %s: %s" % (role, entry, name)


@pytest.mark.parametrize("role", ROLES)
def test_every_optional_option_shows_a_default_and_no_internal_name(role):
    for entry, spec in entry_points(role):
        assert "__redis" not in yaml.safe_dump(spec), "%s %s names an internal variable" % (role, entry)
        for name, option in walk(spec.get("options")):
            assert option.get("required") or "default" in option, "%s %s: %s shows default null" % (role, entry, name)


@pytest.mark.parametrize("role", ROLES)
def test_fixed_values_have_choices(role):
    for entry, spec in entry_points(role):
        for name, option in (spec.get("options") or {}).items():
            if name in CHOICES:
                assert option.get("choices") == CHOICES[name], "%s %s: %s" % (role, entry, name)
                assert option["default"] in option["choices"]
