"""No amount passes through a binary float (issue #10).

A static check of the source with ``ast``:

1. nowhere in wallet/, codes/, terminal/, payments/, demo/, settlement/, common/, core_platform/ is ``float(...)``
   called;
2. in the modules that read amounts off the national envelope (the envelope
   itself, the core client, the wallet's and the core's services), JSON is
   parsed with exact numbers: ``json.loads``/``simplejson.loads`` with
   ``parse_float=Decimal``, ``common.jsonbody.loads`` with
   ``decimal_numbers=True``, an HTTP response's ``.json(parse_float=Decimal)``.

The few parses there that never see an amount are listed in ``NO_AMOUNTS``
with the reason; an entry that no longer matches anything fails too, so the
list cannot rot.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("wallet", "codes", "terminal", "payments", "demo", "settlement", "common", "core_platform")
AMOUNT_MODULES = ("common/envelope.py", "settlement/client.py", "wallet/services/*.py", "terminal/services/*.py",
                  "payments/services/*.py", "codes/services/*.py", "core_platform/services/*.py")

# (module, enclosing function, call) → why no amount can be in what it parses
NO_AMOUNTS = {
    ("terminal/services/decode.py", "decode_handle", "jsonbody.loads"):
        "the ec.query request: orgId, businessType, operator and qrCode strings; no number is read",
    ("terminal/services/decode.py", "_answer_from_store", "json.loads"):
        "the wallet's own Redis record {id, token} of a decode answer",
}


def _call_name(node: ast.Call) -> str:
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        base = func.value
        if isinstance(base, ast.Name):
            return f"{base.id}.{func.attr}"
        return f"?.{func.attr}"
    return "?"


def _keyword(node: ast.Call, name: str):
    return next((k.value for k in node.keywords if k.arg == name), None)


def _is_name(value, *names: str) -> bool:
    return (isinstance(value, ast.Name) and value.id in names) or (
        isinstance(value, ast.Attribute) and value.attr in names)


def inexact_parse(node: ast.Call) -> str | None:
    """The call's name if it parses JSON with binary floats, else None."""
    name = _call_name(node)
    exact_float = _is_name(_keyword(node, "parse_float"), "Decimal")
    decimal_numbers = _keyword(node, "decimal_numbers")
    exact_reader = isinstance(decimal_numbers, ast.Constant) and decimal_numbers.value is True
    if name in ("json.loads", "json.load", "simplejson.loads", "simplejson.load"):
        return None if exact_float else name
    if name.endswith(".json") and not name.startswith(("json.", "simplejson.")):  # an HTTP response's .json()
        return None if exact_float else name
    if name == "jsonbody.loads":
        return None if exact_reader else name
    if name in ("loads", "load"):  # from json / common.jsonbody import loads
        return None if exact_float or exact_reader else name
    return None


class _Scanner(ast.NodeVisitor):
    def __init__(self, amounts: bool):
        self.amounts = amounts
        self.stack: list[str] = []
        self.found: list[tuple[int, str, str]] = []  # (line, function, what)

    def _scope(self, node):
        self.stack.append(node.name)
        self.generic_visit(node)
        self.stack.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scope

    def visit_Call(self, node: ast.Call):
        where = self.stack[-1] if self.stack else "<module>"
        if isinstance(node.func, ast.Name) and node.func.id == "float":
            self.found.append((node.lineno, where, "float"))
        elif self.amounts:
            what = inexact_parse(node)
            if what:
                self.found.append((node.lineno, where, what))
        self.generic_visit(node)


def scan_source(text: str, *, amounts: bool) -> list[tuple[int, str, str]]:
    scanner = _Scanner(amounts)
    scanner.visit(ast.parse(text))
    return scanner.found


def _amount_modules() -> set[Path]:
    return {p for pattern in AMOUNT_MODULES for p in ROOT.glob(pattern)}


def _sources():
    amounts = _amount_modules()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield path, path in amounts


def test_the_scan_finds_what_it_looks_for():
    sample = (
        "import json\nfrom decimal import Decimal\nfrom common import jsonbody\n"
        "def f(text, response, body):\n"
        "    a = float(text)\n"
        "    b = json.loads(text)\n"
        "    c = response.json()\n"
        "    d = jsonbody.loads(body)\n"
        "    e = json.loads(text, parse_float=Decimal)\n"
        "    g = response.json(parse_float=Decimal)\n"
        "    h = jsonbody.loads(body, decimal_numbers=True)\n"
        "    i = json.dumps(a)\n"
    )
    assert scan_source(sample, amounts=True) == [
        (5, "f", "float"), (6, "f", "json.loads"), (7, "f", "response.json"), (8, "f", "jsonbody.loads")]
    assert scan_source(sample, amounts=False) == [(5, "f", "float")]  # outside the amount modules: float() only


def test_the_amount_modules_exist():
    names = {str(p.relative_to(ROOT)) for p in _amount_modules()}
    assert {"common/envelope.py", "settlement/client.py", "payments/services/counter.py",
            "terminal/services/gateway.py", "core_platform/services/settle.py"} <= names


def test_no_amount_is_parsed_through_a_float():
    offenders, allowed_seen = [], set()
    for path, amounts in _sources():
        module = str(path.relative_to(ROOT))
        for line, function, what in scan_source(path.read_text(encoding="utf-8"), amounts=amounts):
            key = (module, function, what)
            if key in NO_AMOUNTS:
                allowed_seen.add(key)
                continue
            offenders.append(f"{module}:{line} in {function}: {what}(...)")
    assert not offenders, "amounts may pass through a binary float:\n" + "\n".join(offenders)
    stale = set(NO_AMOUNTS) - allowed_seen
    assert not stale, f"NO_AMOUNTS lists parses that no longer exist: {sorted(stale)}"


def test_the_strict_reader_reads_exact_numbers():
    """What the amount modules must use: a fraction as Decimal from its text."""
    from common import jsonbody

    value = jsonbody.loads(b'{"medfee_sumamt": 12.50, "cnt": 2}', decimal_numbers=True)
    assert repr(value["medfee_sumamt"]) == "Decimal('12.50')" and value["cnt"] == 2
