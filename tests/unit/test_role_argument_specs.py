"""Each role's meta/argument_specs.yml documents what defaults/main.yml really sets (ansible-doc -t role shows it)."""

from __future__ import annotations

import pathlib
import re

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


def default_comments(role):
    """{variable: the comment lines right above it} of a role's defaults/main.yml."""
    comments, block = {}, []
    for line in (ROOT / "roles" / role / "defaults" / "main.yml").read_text().splitlines():
        if line.startswith("#"):
            block.append(line.lstrip("# "))
        elif line and not line.startswith((" ", "-")) and ":" in line:
            comments[line.split(":", 1)[0]] = " ".join(block)
            block = []
        elif not line.strip():
            block = []
    return comments


EMPTY = re.compile(r"\bempty( =| means|:)", re.I)
# The secrets ha.redis.preflight refuses empty (unless redis_insecure_no_password): their text must not offer
# "empty" as a choice.
REQUIRED_SECRETS = ("redis_password", "redis_sentinel_password", "redis_replication_password",
                    "redis_sentinel_auth_password")


@pytest.mark.parametrize("role", ROLES)
def test_default_comments_say_what_the_specs_say(role):
    """A variable's comment in defaults/main.yml and its argument spec (ansible-doc) tell the same story: each has a
    comment; when one says what an empty value means, so does the other; a required secret is never "empty = none"."""
    comments = default_comments(role)
    problems = []
    for _entry, spec in entry_points(role):
        for name, option in (spec.get("options") or {}).items():
            if name not in comments:
                continue
            comment = comments[name]
            description = " ".join(option.get("description") if isinstance(option.get("description"), list)
                                   else [option.get("description") or ""])
            if not comment:
                problems.append("%s: no comment in defaults/main.yml" % name)
            if bool(EMPTY.search(comment)) != bool(EMPTY.search(description)):
                problems.append("%s: only one of the comment (%r) and the spec (%r) says what empty means"
                                % (name, comment, description))
            if name in REQUIRED_SECRETS and (EMPTY.search(comment) or "required" not in comment.lower()):
                problems.append("%s: the comment must say it is required, not what empty means: %r" % (name, comment))
    assert sorted(set(problems)) == [], role
