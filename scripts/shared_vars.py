"""Write (or check) the cluster-wide variables of the roles from their one declaration, scripts/shared_variables.yml.

A variable that several roles read (the groups, the engine, the users and passwords, TLS, addresses) is declared
once there: its roles, the comment for defaults/main.yml and its argument spec. This script writes it into the
block between the markers of each of those roles' defaults/main.yml and meta/argument_specs.yml (entry point
"main"), so `ansible-doc -t role` and argument validation see the same thing in every role.

    python scripts/shared_vars.py          # rewrite the blocks
    python scripts/shared_vars.py --check  # exit 1 if a block is out of date
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import textwrap

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / "scripts" / "shared_variables.yml"
BEGIN = ("# BEGIN cluster-wide variables: written by scripts/shared_vars.py from scripts/shared_variables.yml; "
         "edit there.")
END = "# END cluster-wide variables"


def markers(entry="main"):
    """The markers of a block: defaults/main.yml and the "main" entry point use BEGIN/END; another entry point of
    meta/argument_specs.yml (a role listed as "role/entry" in the declaration) names itself in them."""
    if entry == "main":
        return BEGIN, END
    return BEGIN.replace(":", " (entry point %s):" % entry, 1), END + " (entry point %s)" % entry


def role_entries(entry):
    """(role, entry point) pairs of a declaration's roles: "server" is the main entry point, "server/install"
    another one (those get the spec, not the defaults)."""
    for item in entry["roles"]:
        role, _sep, point = item.partition("/")
        yield role, point or "main"


SPEC_INDENT = " " * 6
WIDTH = 116


class _Dumper(yaml.SafeDumper):
    """Block style with indented sequences (yamllint's default); strings holding quotes or Jinja in double quotes,
    as the hand-written files have them."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


def _str(dumper, value):
    style = '"' if ("'" in value or "{{" in value or value in ("", "no", "yes")) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def dump(data, indent=""):
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=WIDTH - len(indent),
                     allow_unicode=True)
    return "".join(indent + line if line.strip() else line for line in text.splitlines(keepends=True))


def load_source():
    source = yaml.safe_load(SOURCE.read_text())
    for name, entry in source.items():
        missing = {"roles", "comment", "spec"} - set(entry)
        if missing:
            raise SystemExit("%s: %s lacks %s" % (SOURCE.name, name, ", ".join(sorted(missing))))
        if "default" not in entry["spec"]:
            raise SystemExit("%s: %s has no default" % (SOURCE.name, name))
    return source


def defaults_block(source, role):
    parts = []
    for name, entry in source.items():
        if (role, "main") in role_entries(entry):
            comment = textwrap.fill(" ".join(entry["comment"].split()), WIDTH - 2)
            parts.append("".join("# %s\n" % line for line in comment.splitlines())
                         + dump({name: entry["spec"]["default"]}))
    return "\n".join(parts)


def spec_block(source, role, point="main"):
    return "".join(dump({name: entry["spec"]}, SPEC_INDENT) for name, entry in source.items()
                   if (role, point) in role_entries(entry))


def replace_block(text, block, indent, path, point="main"):
    begin, end = (indent + marker + "\n" for marker in markers(point))
    if text.count(begin) != 1 or text.count(end) != 1:
        raise SystemExit("%s: expected one pair of markers (%r ... %r)" % (path, begin.strip(), end.strip()))
    head, rest = text.split(begin)
    tail = rest.split(end)[1]
    return head + begin + block + end + tail


def targets(source):
    pairs = sorted({pair for entry in source.values() for pair in role_entries(entry)})
    for role, point in pairs:
        if point == "main":
            yield ROOT / "roles" / role / "defaults" / "main.yml", defaults_block(source, role), "", point
        yield (ROOT / "roles" / role / "meta" / "argument_specs.yml", spec_block(source, role, point), SPEC_INDENT,
               point)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a role's block is out of date")
    args = parser.parse_args(argv)
    source = load_source()
    stale = []
    for path, block, indent, point in targets(source):
        text = path.read_text()
        new = replace_block(text, block, indent, path, point)
        if new != text:
            stale.append(str(path.relative_to(ROOT)))
            if not args.check:
                path.write_text(new)
    if args.check and stale:
        print("out of date (run python scripts/shared_vars.py): " + ", ".join(sorted(set(stale))), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
