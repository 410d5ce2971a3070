"""Write (or check) the README's table of role variables from the roles' meta/argument_specs.yml and defaults.

    python scripts/vars_table.py          # rewrite the table between the markers in README.md
    python scripts/vars_table.py --check  # exit 1 if README.md is out of date
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BEGIN = "<!-- BEGIN VARIABLES (scripts/vars_table.py) -->"
END = "<!-- END VARIABLES -->"
ROLE_ORDER = ["preflight", "server", "sentinel", "exporter", "backup", "proxy"]


def clean(text):
    text = " ".join(str(text).split())
    text = re.sub(r"[CIOV]\(([^)]*)\)", r"`\1`", text)
    return text.replace("|", "\\|")


def shown_default(name, spec, defaults):
    if name in defaults:
        value = defaults[name]
    elif "default" in spec:
        value = spec["default"]
    else:
        return ""
    text = yaml.safe_dump(value, default_flow_style=True, width=10000).strip()
    text = text.removesuffix("...").strip()
    if len(text) > 60:
        text = text[:57] + "..."
    return "`%s`" % text.replace("|", "\\|") if text not in ("", "''") else '`""`'


def collect():
    rows = {}
    roles = sorted((ROOT / "roles").iterdir(), key=lambda p: (ROLE_ORDER.index(p.name) if p.name in ROLE_ORDER
                                                              else 99, p.name))
    for role in roles:
        spec_file = role / "meta" / "argument_specs.yml"
        if not spec_file.exists():
            continue
        specs = yaml.safe_load(spec_file.read_text())["argument_specs"]
        defaults_file = role / "defaults" / "main.yml"
        defaults = yaml.safe_load(defaults_file.read_text()) if defaults_file.exists() else {}
        defaults = defaults or {}
        for entry in specs.values():
            for name, spec in (entry.get("options") or {}).items():
                row = rows.setdefault(name, {"roles": [], "type": "", "default": "", "description": ""})
                if role.name not in row["roles"]:
                    row["roles"].append(role.name)
                row["type"] = row["type"] or spec.get("type", "str")
                if spec.get("elements") and "[" not in row["type"]:
                    row["type"] += "[%s]" % spec["elements"]
                row["default"] = row["default"] or shown_default(name, spec, defaults)
                description = spec.get("description", "")
                if isinstance(description, list):
                    description = " ".join(description)
                if spec.get("choices") and not row["description"]:
                    description += " One of %s." % ", ".join("V(%s)" % choice for choice in spec["choices"])
                row["description"] = row["description"] or clean(description)
    return rows


def table():
    lines = [BEGIN, "", "| variable | roles | type | default | meaning |", "|---|---|---|---|---|"]
    for name, row in sorted(collect().items()):
        cells = (name, ", ".join(row["roles"]), row["type"], row["default"], row["description"])
        lines.append("| `%s` | %s | %s | %s | %s |" % cells)
    lines += ["", END]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = README.read_text()
    if BEGIN not in text or END not in text:
        print("README.md has no variables markers", file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN, 1)
    _old, tail = rest.split(END, 1)
    new = head + table() + tail
    if args.check:
        if new != text:
            print("README.md's variable table is out of date: run python scripts/vars_table.py", file=sys.stderr)
            return 1
        return 0
    README.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
