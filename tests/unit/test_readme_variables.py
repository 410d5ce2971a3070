"""The README's variable table is generated from the roles' argument specs and must stay in step with them."""

from __future__ import annotations

import importlib.util
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]


def load_generator():
    spec = importlib.util.spec_from_file_location("vars_table", ROOT / "scripts" / "vars_table.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_role_variable_is_in_the_readme_table():
    generator = load_generator()
    readme = (ROOT / "README.md").read_text()
    rows = generator.collect()
    assert rows, "no role argument specs were found"
    missing = [name for name in rows if "| `%s` |" % name not in readme]
    assert not missing, "README.md lacks %s: run python scripts/vars_table.py" % missing


def test_readme_table_is_current():
    assert load_generator().main(["--check"]) == 0, "run python scripts/vars_table.py"
