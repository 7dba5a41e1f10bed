"""Layers point one way (STYLE.md rule 11, docs/architecture.md):

    logplatform  <-  accounts  <-  analyses        spark_client: no Django, no app

A module may import only from the layers below its own. `spark_client` imports no
Django and none of the apps, and nothing outside it imports pyspark. Every import
counts: module level, inside functions, under TYPE_CHECKING, in migrations, and
`import_module("...")` / `import_string("...")` with a literal name. Strings Django
resolves itself (settings, `include("accounts.api_urls")`) are not imports.
`from package import name` counts as an import of `package.name` when that is a
module (`from spark_client import server` imports spark_client.server).

A web process loads no pyspark. The worker side of analyses is what never runs in
one: `analyses.services.execute` (runs an analysis), `analyses.engine_config`
(builds the engine's inputs, sessions and servers) and `analyses.management`
(commands). Every other module of analyses is a web module (a page, a form, the
API, a selector or service they call), and a web module:
- imports from spark_client only the modules of plain values, which import no
  pyspark: `spark_client` itself, `spark_client.types`, `spark_client.errors`,
  `spark_client.rows`, `spark_client.lines_layout` and `spark_client.lines_filter`
  (not `spark_client.engine`, nor `spark_client.server`, whose session module
  loads pyspark as it connects); inside a function too, since a view's function
  runs in the web process;
- imports no worker-side module, but for the one hop a task takes: a function-level
  import in `analyses.tasks` (its functions run in a qcluster worker; the web only
  queues them by name).

One exception, the Lines view (README, "How it fits together"): the one place a web request
waits on Spark. Inside their functions, and only there, the modules of
`analyses.lines` may import the session (`analyses.engine_config`) and the
Lines queries (`spark_client.engine.lines_query`), so pyspark loads in a web
process when it serves its first Lines request, never when it starts.
accounts and logplatform import neither spark_client nor analyses (rules above).

The runtime test checks what the static ones cannot see: a web process (everything
logplatform.wsgi loads: every URL, view, form and serializer) has no pyspark in it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import BASE_DIR, child_env

PACKAGES = ("logplatform", "accounts", "analyses", "spark_client")
DJANGO = ("django", "rest_framework", "drf_spectacular", "django_q")
# What each layer must not import (analyses sits on top and may import any layer).
FORBIDDEN = {
    "logplatform": {"accounts", "analyses", "spark_client"},
    "accounts": {"analyses", "spark_client"},
    "spark_client": {*DJANGO, "logplatform", "accounts", "analyses"},
}
DYNAMIC_IMPORTS = {"import_module", "import_string", "__import__"}
# The spark_client modules a web module may import: plain values, no pyspark.
WEB_SPARK_CLIENT = {
    "spark_client",
    "spark_client.types",
    "spark_client.errors",
    "spark_client.rows",
    "spark_client.lines_layout",
    "spark_client.lines_filter",
}
# The modules of analyses that never run in a web process.
WORKER_SIDE = ("analyses.services.execute", "analyses.engine_config", "analyses.management")
# The one web module that may reach the worker side, inside its functions.
TASKS = "analyses.tasks"
# The Lines view's service, and what it may import inside its functions.
LINES = "analyses.lines"
LINES_LAZY = {"analyses.engine_config", "spark_client.engine.lines_query"}
WHO = {"pyspark": "outside spark_client", "web": "web module"}


@dataclass(frozen=True)
class Violation:
    rule: str  # the importing layer, "pyspark" or "web"
    where: str  # path:line
    imported: str

    def __str__(self) -> str:
        return f"{self.where}: {WHO.get(self.rule, self.rule)} imports {self.imported}"


@dataclass(frozen=True)
class Import:
    line: int
    module: str
    lazy: bool  # inside a function: runs when the function is called, not on import


def _call_name(func: ast.expr) -> str:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return ""


def _is_module(root: Path, name: str) -> bool:
    path = root.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def _imported(node: ast.AST, package: str, root: Path) -> list[str]:
    """The absolute module names one node imports (none if it is no import)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        if node.level:
            parts = package.split(".")
            base_parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join([*base_parts, node.module] if node.module else base_parts)
        else:
            base = node.module or ""
        names = [f"{base}.{a.name}" if _is_module(root, f"{base}.{a.name}") else base for a in node.names]
        return list(dict.fromkeys(names))
    if (
        isinstance(node, ast.Call)
        and _call_name(node.func) in DYNAMIC_IMPORTS
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    ):
        return [node.args[0].value]
    return []


def imports_of(path: Path, module: str, root: Path) -> Iterator[Import]:
    """Every import in the file, with its absolute module name."""
    tree = ast.parse(path.read_bytes(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(node: ast.AST, lazy: bool) -> Iterator[Import]:
        for child in ast.iter_child_nodes(node):
            for name in _imported(child, package, root):
                yield Import(child.lineno, name, lazy)
            inside = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            yield from visit(child, inside)

    yield from visit(tree, False)


def _worker_side(module: str) -> bool:
    return any(module == side or module.startswith(side + ".") for side in WORKER_SIDE)


def violations(root: Path) -> list[Violation]:
    found = []
    for layer in PACKAGES:
        for path in sorted((root / layer).rglob("*.py")):
            relative = path.relative_to(root)
            module = ".".join(relative.with_suffix("").parts)
            web = layer == "analyses" and not _worker_side(module)
            lines = module == LINES or module.startswith(LINES + ".")
            for imp in imports_of(path, module, root):
                imported = imp.module
                if lines and imp.lazy and imported in LINES_LAZY:
                    continue
                top = imported.split(".")[0]
                where = f"{relative}:{imp.line}"
                if top in FORBIDDEN.get(layer, ()):
                    found.append(Violation(layer, where, imported))
                if top == "pyspark" and layer != "spark_client":
                    found.append(Violation("pyspark", where, imported))
                if web and top == "spark_client" and imported not in WEB_SPARK_CLIENT:
                    found.append(Violation("web", where, imported))
                if web and _worker_side(imported) and not (module == TASKS and imp.lazy):
                    found.append(Violation("web", where, imported))
    return found


def _of(rule: str, root: Path = BASE_DIR) -> list[str]:
    return [str(v) for v in violations(root) if v.rule == rule]


def test_logplatform_imports_no_app():
    assert _of("logplatform") == []


def test_accounts_imports_neither_analyses_nor_spark_client():
    assert _of("accounts") == []


def test_spark_client_imports_no_django_and_no_app():
    assert _of("spark_client") == []


def test_nothing_outside_spark_client_imports_pyspark():
    assert _of("pyspark") == []


def test_web_modules_import_only_the_plain_spark_client_modules():
    assert _of("web") == []


def test_the_checker_sees_every_kind_of_import(tmp_path):
    files = {
        "logplatform/urls.py": "from analyses.api.errors import ApiNotFound\n",
        "logplatform/lazy.py": "def f():\n    from accounts import models\n",
        "logplatform/ok.py": "from django.urls import include\ninclude('analyses.api.urls')\n",
        "accounts/services.py": "def f():\n    import analyses.alerting\n",
        "accounts/dynamic.py": "from importlib import import_module\nimport_module('spark_client.engine')\n",
        "accounts/ok.py": "from logplatform.api import errors\nfrom . import models\n",
        "analyses/ok.py": "import accounts.models\nimport logplatform.api\nimport spark_client.types\n",
        "analyses/migrations/0001_initial.py": "import pyspark\n",
        "spark_client/engine/run.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from django.conf import settings\n",
        "spark_client/engine/api.py": "from rest_framework import serializers\n",
        "spark_client/engine/ok.py": "from . import django\nfrom ..types import LEVELS\nfrom pyspark.sql import functions\n",
        "spark_client/engine/__init__.py": "from .ok import LEVELS\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)

    assert _of("logplatform", tmp_path) == [
        "logplatform/lazy.py:2: logplatform imports accounts",
        "logplatform/urls.py:1: logplatform imports analyses.api.errors",
    ]
    assert _of("accounts", tmp_path) == [
        "accounts/dynamic.py:2: accounts imports spark_client.engine",
        "accounts/services.py:2: accounts imports analyses.alerting",
    ]
    assert _of("spark_client", tmp_path) == [
        "spark_client/engine/api.py:1: spark_client imports rest_framework",
        "spark_client/engine/run.py:3: spark_client imports django.conf",
    ]
    assert _of("pyspark", tmp_path) == [
        "analyses/migrations/0001_initial.py:1: outside spark_client imports pyspark"
    ]


def test_the_checker_sees_a_web_module_reach_pyspark(tmp_path):
    files = {
        "spark_client/__init__.py": "",
        "spark_client/rows.py": "",
        "spark_client/engine/__init__.py": "",
        "spark_client/server/__init__.py": "",
        "analyses/engine_config.py": "from spark_client.server.session import connect\n",
        "analyses/services/execute.py": "from spark_client.engine import analyze\n",
        "analyses/management/commands/spark_server.py": "from spark_client.server import local_server\n",
        "analyses/dashboard.py": "from spark_client.engine.aggregate import OTHER\n",
        "analyses/views/page.py": "from spark_client import FORMATS, server\n",
        "analyses/forms.py": "def clean():\n    from spark_client.engine import analyze\n",
        "analyses/selectors.py": "from analyses import engine_config\n",
        "analyses/tasks.py": (
            "from analyses.services.execute import analysis_execute\n"
            "def run():\n    from analyses.services.execute import analysis_execute\n"
        ),
        "analyses/ok.py": (
            "from spark_client import FORMATS, rows\nfrom spark_client.rows import OTHER\n"
            "import spark_client.types\nfrom spark_client.errors import InputFileError\n"
        ),
        # The Lines view: its session and queries inside functions, nothing else.
        "analyses/lines/ok.py": (
            "def page():\n    from analyses.engine_config import spark_session\n"
            "    from spark_client.engine.lines_query import lines_page\n"
        ),
        "analyses/lines/eager.py": "from spark_client.engine.lines_query import lines_page\n",
        "analyses/lines/other.py": "def page():\n    from spark_client.engine import analyze\n",
        "analyses/views/lines.py": "def page():\n    from spark_client.engine.lines_query import lines_page\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)

    assert _of("web", tmp_path) == [
        "analyses/dashboard.py:1: web module imports spark_client.engine.aggregate",
        "analyses/forms.py:2: web module imports spark_client.engine",
        "analyses/lines/eager.py:1: web module imports spark_client.engine.lines_query",
        "analyses/lines/other.py:2: web module imports spark_client.engine",
        "analyses/selectors.py:1: web module imports analyses.engine_config",
        "analyses/tasks.py:1: web module imports analyses.services.execute",
        "analyses/views/lines.py:2: web module imports spark_client.engine.lines_query",
        "analyses/views/page.py:1: web module imports spark_client.server",
    ]


WEB_PROCESS = """
import json, sys
import logplatform.wsgi
print(json.dumps({
    "pyspark": sorted(m for m in sys.modules if m.split(".")[0] == "pyspark"),
    "spark_client": sorted(m for m in sys.modules if m.split(".")[0] == "spark_client"),
}))
"""


def test_a_web_process_loads_no_pyspark():
    # A child process: this one has pyspark loaded by the Spark fixtures.
    proc = subprocess.run(
        [sys.executable, "-c", WEB_PROCESS],
        cwd=BASE_DIR,
        env=child_env(DJANGO_SETTINGS_MODULE="logplatform.settings"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if proc.returncode != 0:
        # Not an AssertionError: a web process that cannot start is never the expected failure.
        raise RuntimeError(f"importing logplatform.wsgi failed:\n{proc.stderr}")
    loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert loaded["pyspark"] == [], f"pyspark loaded; spark_client modules loaded: {loaded['spark_client']}"
