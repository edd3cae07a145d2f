"""The documentation runs: every ```python block of README.md and docs/**/*.md, and the site.

Execution model (also stated on docs/index.md): the python blocks of ONE file run in order in
ONE shared namespace, as a single script would — later blocks may use names defined by earlier
ones — and every file starts from a fresh namespace. Blocks run with the working directory set
to a temporary folder and matplotlib's Agg backend. A block is skipped only when it is preceded
by the line ``<!-- no-test -->``, or when it imports a package that is not installed (an
optional integration such as dask or ray; the skip is reported). Files whose blocks need
PyTorch are skipped without it.

``mkdocs build --strict`` is run into a temporary folder when mkdocs and mkdocstrings are
importable (the ``docs`` extra), and skipped otherwise.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "README.md"] + sorted((ROOT / "docs").rglob("*.md"))
BLOCK = re.compile(r"^(<!-- no-test -->\s*\n)?```python[^\n]*\n(.*?)^```[ \t]*$",
                   re.MULTILINE | re.DOTALL)


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """(line number, code) of every tested ```python block of a markdown file."""
    text = path.read_text(encoding="utf-8")
    out = []
    for m in BLOCK.finditer(text):
        if m.group(1):
            continue
        out.append((text[:m.start(2)].count("\n") + 1, m.group(2)))
    return out


IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][\w]*)", re.MULTILINE)


def missing_imports(code: str) -> list[str]:
    """Top-level packages imported by a block that are not installed."""
    return sorted({m for m in IMPORT.findall(code) if importlib.util.find_spec(m) is None})


DOC_FILES = [p for p in FILES if p.exists() and python_blocks(p)]


def test_there_are_code_blocks():
    names = {p.name for p in DOC_FILES}
    assert "README.md" in names and "first_global_solve.md" in names


SLOW_PAGES = {"estimators.md"}  # > 30 s of fits (2 cores): run with -m slow


@pytest.mark.parametrize("path", [pytest.param(p, marks=pytest.mark.slow)
                                  if p.name in SLOW_PAGES else p for p in DOC_FILES],
                         ids=[str(p.relative_to(ROOT)) for p in DOC_FILES])
def test_markdown_python_blocks_run(path, tmp_path, monkeypatch):
    blocks = python_blocks(path)
    source = "\n".join(code for _, code in blocks)
    if re.search(r"train_sgd|to_torch|import torch", source) and \
            importlib.util.find_spec("torch") is None:
        pytest.skip(f"{path.name} needs PyTorch (pip install 'cvxrelu[torch]')")
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT))
    namespace: dict = {"__name__": f"doc_{path.stem}"}
    rel = path.relative_to(ROOT)
    skipped = []
    for line, code in blocks:
        missing = missing_imports(code)
        if missing:
            skipped.append(f"{rel}:{line} (needs {', '.join(missing)})")
            continue
        try:
            exec(compile(code, f"{rel}:{line}", "exec"), namespace)
        except Exception as exc:  # report the file and line of the failing block
            raise AssertionError(f"python block at {rel}:{line} failed: "
                                 f"{type(exc).__name__}: {exc}") from exc
    if skipped:
        import warnings

        warnings.warn("skipped python blocks that import packages not installed here: "
                      + "; ".join(skipped), stacklevel=1)


def test_mkdocs_build_strict(tmp_path):
    for mod in ("mkdocs", "mkdocstrings", "mkdocstrings_handlers.python"):
        if importlib.util.find_spec(mod.split(".")[0]) is None or (
                "." in mod and importlib.util.find_spec(mod) is None):
            pytest.skip(f"{mod} is not installed (pip install -e '.[docs]')")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(ROOT / "mkdocs.yml"),
         "-d", str(tmp_path / "site")],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"mkdocs build --strict failed:\n{proc.stdout}\n{proc.stderr}"
    assert (tmp_path / "site" / "index.html").exists()
    assert (tmp_path / "site" / "api" / "index.html").exists()


NAME = re.compile(r"\b(cr|cvxrelu)\.([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)")


def resolve(dotted: str):
    """The object named ``cvxrelu.<dotted>``: the longest importable module prefix, then
    attributes (a module may be shadowed by a function of the same name, e.g.
    ``cvxrelu.programs.closed_form``)."""
    import importlib

    parts = dotted.split(".")
    for k in range(len(parts), -1, -1):
        try:
            obj = importlib.import_module(".".join(["cvxrelu"] + parts[:k]))
        except ImportError:
            continue
        for part in parts[k:]:
            obj = getattr(obj, part)
        return obj
    raise ImportError(dotted)


@pytest.mark.parametrize("page", ["theory.md", "architecture.md", "api.md"])
def test_names_on_reference_pages_exist(page, monkeypatch):
    """Every ``cr.name`` / ``cvxrelu.module.name`` on the reference pages resolves."""
    monkeypatch.syspath_prepend(str(ROOT))
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    missing = []
    for _, dotted in set(NAME.findall(text)):
        dotted = dotted.rstrip(".")
        try:
            resolve(dotted)
        except (ImportError, AttributeError):
            missing.append(dotted)
    assert not missing, f"{page} names objects that do not exist: {sorted(missing)}"
