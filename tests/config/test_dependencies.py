"""The dependency order between the apps (docs/architecture.md, "Dependency order"):

    common <- settlement <- accounts <- wallet <- codes <- terminal <- payments <- family / referrals <- staff <- demo

A module may import its own app and the apps below it, never one above; config
is the composition root and may import anything; core_platform is a separate
service and imports only common (and the wallet side never imports it). Every
import counts: module level, inside functions, relative, and string literals
given to importlib.import_module / __import__. On the wallet side, an import
placed inside a function must be in ALLOWED_FUNCTION_LEVEL with its reason. Another app's
models are reached only through that app's services and selectors: no module
outside an app names ``<app>.models`` (migrations and config excepted).
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent

# Lower number = lower layer. Apps on one level may not import each other.
LAYER = {"common": 0, "settlement": 1, "accounts": 2, "wallet": 3, "codes": 4, "terminal": 5, "payments": 6,
         "family": 7, "referrals": 7, "staff": 8, "demo": 9}
COMPOSITION_ROOT = "config"
SEPARATE_SERVICE = "core_platform"  # may import common only; nobody on the wallet side imports it
SCANNED = [*LAYER, COMPOSITION_ROOT, SEPARATE_SERVICE]
MODELS_EXEMPT = {COMPOSITION_ROOT}  # the composition root wires apps together (admin, urls, routing)

# "path:qualified function": reason. Each entry must still exist (stale entries fail).
ALLOWED_FUNCTION_LEVEL: dict[str, str] = {
    "common/apps.py:CommonConfig.ready":
        "AppConfig.ready() runs after the app registry is loaded; the schema extension imports DRF settings",
    "accounts/apps.py:AccountsConfig.ready":
        "AppConfig.ready() fills settlement's sync hooks with accounts' services; models may not load earlier",
    "wallet/apps.py:WalletConfig.ready":
        "AppConfig.ready() fills settlement's sync hooks with the wallet's services; models may not load earlier",
    "terminal/apps.py:TerminalConfig.ready":
        "AppConfig.ready() registers the ecToken sweep and fills the wallet's hooks; models may not load earlier",
    "payments/apps.py:PaymentsConfig.ready":
        "AppConfig.ready() registers 2101/2102/2103/2601 with the gateway and fills the sync and wallet hooks; "
        "models may not load earlier",
    "referrals/apps.py:ReferralsConfig.ready":
        "AppConfig.ready() registers 2501/2502 with the wallet's gateway; models may not load earlier",
    "family/apps.py:FamilyConfig.ready":
        "AppConfig.ready() fills the wallet's hooks (wallet/hooks.py) with family's services; models may not load earlier",
    "staff/apps.py:StaffConfig.ready":
        "AppConfig.ready() connects post_migrate to the role groups' setup; models may not load earlier",
}


class Import:
    def __init__(self, path: str, lineno: int, module: str, function: str | None):
        self.path, self.lineno, self.module, self.function = path, lineno, module, function

    @property
    def app(self) -> str:
        return self.module.split(".")[0]

    def __repr__(self) -> str:
        return f"{self.path}:{self.lineno} {self.module}"


def _resolve(path: Path, root: Path, level: int, module: str | None) -> str:
    package = list(path.relative_to(root).with_suffix("").parts)
    package = package[:-1] if package[-1] != "__init__" else package[:-1]
    if level > 1:
        package = package[: len(package) - (level - 1)]
    return ".".join(package + ([module] if module else []))


def imports_of(path: Path, root: Path = ROOT) -> list[Import]:
    rel = str(path.relative_to(root))
    tree = ast.parse(path.read_text(), filename=rel)
    found: list[Import] = []

    def visit(node: ast.AST, scope: list[str], function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                name = getattr(child, "name", "<lambda>")
                visit(child, scope + [name], ".".join(scope + [name]))
                continue
            if isinstance(child, ast.ClassDef):
                visit(child, scope + [child.name], function)
                continue
            if isinstance(child, ast.Import):
                found.extend(Import(rel, child.lineno, alias.name, function) for alias in child.names)
            elif isinstance(child, ast.ImportFrom):
                base = _resolve(path, root, child.level, child.module) if child.level else child.module or ""
                found.append(Import(rel, child.lineno, base, function))
                # ``from app import models`` names the models module too
                found.extend(Import(rel, child.lineno, f"{base}.{alias.name}", function)
                             for alias in child.names if alias.name == "models")
            elif isinstance(child, ast.Call):
                callee = getattr(child.func, "id", getattr(child.func, "attr", ""))
                if callee in {"import_module", "__import__"} and child.args:
                    arg = child.args[0]
                    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                        found.append(Import(rel, child.lineno, arg.value, function))
            visit(child, scope, function)

    visit(tree, [], None)
    return found


def _modules(root: Path):
    for app in SCANNED:
        for path in sorted((root / app).rglob("*.py")):
            yield app, path


def find_violations(root: Path = ROOT, allowed: dict[str, str] | None = None) -> list[str]:
    allowed = ALLOWED_FUNCTION_LEVEL if allowed is None else allowed
    violations: list[str] = []
    graph: dict[str, set[str]] = {}
    used_allowances: set[str] = set()
    for app, path in _modules(root):
        is_migration = "migrations" in path.relative_to(root).parts
        for imp in imports_of(path, root):
            target = imp.app
            if target in SCANNED and target != app:
                graph.setdefault(app, set()).add(target)
                if app == SEPARATE_SERVICE and target != "common":
                    violations.append(f"{imp!r}: core_platform imports only common")
                elif target == SEPARATE_SERVICE and app != COMPOSITION_ROOT:
                    violations.append(f"{imp!r}: the wallet side reaches the core over HTTP only")
                elif target == COMPOSITION_ROOT and app != COMPOSITION_ROOT:
                    violations.append(f"{imp!r}: nothing imports the composition root")
                elif app in LAYER and target in LAYER and LAYER[target] >= LAYER[app]:
                    violations.append(f"{imp!r}: {app} (layer {LAYER[app]}) may not import {target} "
                                      f"(layer {LAYER[target]})")
                parts = imp.module.split(".")
                if (len(parts) > 1 and parts[1] == "models" and app not in MODELS_EXEMPT and not is_migration
                        and target in LAYER):
                    violations.append(f"{imp!r}: another app's models (use {target}'s services or selectors)")
            if imp.function is not None and not is_migration and app != SEPARATE_SERVICE:
                key = f"{imp.path}:{imp.function}"
                if key in allowed:
                    used_allowances.add(key)
                else:
                    violations.append(f"{imp!r}: function-level import in {imp.function} (not allowlisted)")
    violations += [f"{key}: allowlisted function-level import no longer exists" for key in allowed
                   if key not in used_allowances]
    violations += [f"cycle between apps: {' -> '.join(c)}" for c in _cycles(graph)]
    return violations


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of apps (Tarjan), in a stable order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group) + [sorted(group)[0]])

    for v in sorted(graph):
        if v not in index:
            strong(v)
    return sorted(groups)


def test_the_apps_depend_one_way():
    assert find_violations() == []


def test_every_allowlisted_function_level_import_says_why():
    assert all(len(reason) > 20 for reason in ALLOWED_FUNCTION_LEVEL.values())


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_check_catches_a_bad_tree(tmp_path):
    for app in SCANNED:
        (tmp_path / app).mkdir()
    _write(tmp_path, "settlement/services/pulls.py", "from accounts.models import Person\n")
    _write(tmp_path, "accounts/services/pin.py",
           "def pin_verify():\n    from wallet.services import vouchers\n")
    _write(tmp_path, "wallet/services/sneaky.py",
           "import importlib\nimportlib.import_module('family.services')\n")
    _write(tmp_path, "wallet/services/ok.py", "from ..models import Voucher\nfrom accounts.services import audit_record\n")
    _write(tmp_path, "common/health.py", "from config.settings import redis\n")
    _write(tmp_path, "family/services.py", "from referrals import services\n")
    _write(tmp_path, "referrals/services.py", "from family import services\n")
    _write(tmp_path, "wallet/apps.py", "class C:\n    def ready(self):\n        from .services import ok\n")
    _write(tmp_path, "wallet/migrations/0001_initial.py", "from accounts.models import Person\n")
    _write(tmp_path, "config/urls.py", "from wallet.models import Voucher\nimport core_platform.urls\n")
    _write(tmp_path, "core_platform/views.py", "from wallet.services import codes\n")
    _write(tmp_path, "settlement/bad_core.py", "from core_platform.models import InsuredPerson\n")
    allowed = {"wallet/apps.py:C.ready": "AppConfig.ready() runs after the registry is loaded",
               "accounts/apps.py:Gone.ready": "a stale entry"}
    assert sorted(find_violations(tmp_path, allowed)) == sorted([
        "settlement/services/pulls.py:1 accounts.models: settlement (layer 1) may not import accounts (layer 2)",
        "settlement/services/pulls.py:1 accounts.models: another app's models (use accounts's services or selectors)",
        "accounts/services/pin.py:2 wallet.services: accounts (layer 2) may not import wallet (layer 3)",
        "accounts/services/pin.py:2 wallet.services: function-level import in pin_verify (not allowlisted)",
        "wallet/services/sneaky.py:2 family.services: wallet (layer 3) may not import family (layer 7)",
        "common/health.py:1 config.settings: nothing imports the composition root",
        "family/services.py:1 referrals: family (layer 7) may not import referrals (layer 7)",
        "referrals/services.py:1 family: referrals (layer 7) may not import family (layer 7)",
        "core_platform/views.py:1 wallet.services: core_platform imports only common",
        "settlement/bad_core.py:1 core_platform.models: the wallet side reaches the core over HTTP only",
        "accounts/apps.py:Gone.ready: allowlisted function-level import no longer exists",
        "cycle between apps: accounts -> wallet -> accounts",
        "cycle between apps: family -> referrals -> family",
    ])
