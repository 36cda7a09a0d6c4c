"""The wallet and the settlement core talk only over HTTP: no wallet-side
module may import core_platform (DESIGN.md, Architecture)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
WALLET_SIDE = ["accounts", "wallet", "codes", "terminal", "payments", "demo", "family", "referrals", "staff", "settlement", "common", "config"]


def _imports(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in {
            "import_module", "__import__"
        }:
            for arg in node.args[:1]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.append((node.lineno, arg.value))
    return found


def find_violations(root: Path = ROOT) -> list[str]:
    violations = []
    for app in WALLET_SIDE:
        for path in sorted((root / app).rglob("*.py")):
            for lineno, module in _imports(path):
                if module == "core_platform" or module.startswith("core_platform."):
                    violations.append(f"{path.relative_to(root)}:{lineno} imports {module}")
    return violations


def test_no_wallet_app_imports_core_platform():
    assert find_violations() == []


def test_the_check_catches_an_import(tmp_path):
    (tmp_path / "wallet").mkdir()
    (tmp_path / "wallet" / "bad.py").write_text("from core_platform.models import InsuredPerson\n")
    (tmp_path / "settlement").mkdir()
    (tmp_path / "settlement" / "sneaky.py").write_text("import importlib\nimportlib.import_module('core_platform.services')\n")
    for app in WALLET_SIDE:
        (tmp_path / app).mkdir(exist_ok=True)
    assert find_violations(tmp_path) == [
        "wallet/bad.py:1 imports core_platform.models",
        "settlement/sneaky.py:2 imports core_platform.services",
    ]
