"""The README ships in the built collection: its links must point at shipped files, or say "repository only"."""

from __future__ import annotations

import fnmatch
import pathlib
import re

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
LINK = re.compile(r"\]\(([^)\s]+)\)")
MARKER = "repository only"
# How far after a link the marker may come (the rest of the parenthesis or sentence that holds the link).
MARKER_REACH = 60


def ignored(path):
    """Whether ``ansible-galaxy collection build`` leaves ``path`` out: it or a parent matches build_ignore."""
    patterns = yaml.safe_load((ROOT / "galaxy.yml").read_text())["build_ignore"]
    parts = pathlib.PurePosixPath(path).parts
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    return any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes for pattern in patterns)


def readme_links():
    text = (ROOT / "README.md").read_text()
    for match in LINK.finditer(text):
        target = match.group(1)
        if re.match(r"^[a-z]+:", target) or target.startswith("#"):
            continue
        yield target.split("#", 1)[0], text[match.end():match.end() + MARKER_REACH]


def test_readme_links_exist_and_ship_or_say_repository_only():
    links = list(readme_links())
    assert links, "the README has no relative links: the pattern is wrong"
    missing = [path for path, _after in links if not (ROOT / path).exists()]
    assert not missing, "README.md links to files that do not exist: %s" % missing
    unmarked = [path for path, after in links if ignored(path) and MARKER not in " ".join(after.split())]
    assert not unmarked, "README.md links to files that do not ship, without %r: %s" % (MARKER, unmarked)


def test_build_ignore_leaves_out_the_tests_and_repository_tools():
    for path in ("tests/unit/test_readme_links.py", "tests/functional/cluster.py", "ruff.toml", "scripts/vars_table.py",
                 "molecule/default/molecule.yml", "bench/bench.py"):
        assert ignored(path), path
    for path in ("LICENSE", "README.md", "bindep.txt", "requirements.txt", "meta/execution-environment.yml",
                 "meta/runtime.yml", "docs/DESIGN.md", "plugins/modules/sentinel_info.py", "playbooks/site.yml"):
        assert (ROOT / path).exists() and not ignored(path), path
