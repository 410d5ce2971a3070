"""The cluster-wide variables are declared once (scripts/shared_variables.yml) and every role says them the same way."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))

import shared_vars  # noqa: E402  (a script, not a package)


def test_every_role_block_is_written_from_the_declaration():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "shared_vars.py"), "--check"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_a_shared_variable_is_declared_nowhere_else():
    source = shared_vars.load_source()
    for role_dir in (ROOT / "roles").iterdir():
        defaults_file = role_dir / "defaults" / "main.yml"
        if not defaults_file.exists():
            continue
        text = defaults_file.read_text()
        after = text.split(shared_vars.END)[1] if shared_vars.END in text else ""
        outside = text.split(shared_vars.BEGIN)[0] + after
        for name in source:
            assert "\n%s:" % name not in "\n" + outside, "%s: %s is declared outside the generated block" % (
                role_dir.name, name)


def test_each_role_gets_exactly_the_variables_it_is_declared_for():
    source = shared_vars.load_source()
    for role, point in {pair for entry in source.values() for pair in shared_vars.role_entries(entry)}:
        defaults = yaml.safe_load((ROOT / "roles" / role / "defaults" / "main.yml").read_text())
        specs = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
        options = specs["argument_specs"][point]["options"]
        for name, entry in source.items():
            if (role, point) in shared_vars.role_entries(entry):
                assert defaults[name] == entry["spec"]["default"], (role, name)
                assert options[name] == entry["spec"], (role, point, name)


def test_the_check_fails_on_a_role_out_of_step(tmp_path, monkeypatch):
    roles = tmp_path / "roles" / "server"
    (roles / "defaults").mkdir(parents=True)
    (roles / "meta").mkdir()
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "shared_variables.yml").write_text(yaml.safe_dump({"redis_x": {
        "roles": ["server"], "comment": "X.", "spec": {"type": "int", "default": 1, "description": "X."}}}))
    (roles / "defaults" / "main.yml").write_text("---\n%s\nredis_x: 2\n%s\n" % (shared_vars.BEGIN, shared_vars.END))
    specs = "---\nargument_specs:\n  main:\n    options:\n      %s\n      %s\n" % (shared_vars.BEGIN, shared_vars.END)
    (roles / "meta" / "argument_specs.yml").write_text(specs)
    monkeypatch.setattr(shared_vars, "ROOT", tmp_path)
    monkeypatch.setattr(shared_vars, "SOURCE", tmp_path / "meta" / "shared_variables.yml")
    assert shared_vars.main(["--check"]) == 1
    assert shared_vars.main([]) == 0
    assert shared_vars.main(["--check"]) == 0
    assert yaml.safe_load((roles / "defaults" / "main.yml").read_text()) == {"redis_x": 1}
