"""The documentation runs: every ```python block of docs/*.md, and every command line.

Each page's blocks run in a fresh Python process, in one of three ways:

- ``session``: the blocks run in order in one namespace, ``await`` allowed at top level (as
  in ``python -m asyncio``);
- ``script``: the blocks, joined, are a program run as ``python page.py`` (pages that define
  Temporal workflows, which the sandbox imports from their module);
- ``pytest``: the blocks, joined, are a test module run by pytest with the
  ``temporal_router.testing.pytest_plugin`` fixtures;
- ``newcomer``: the one block is ``quickstart.py``, run as the README says, in an empty
  directory with the installed package and no Temporal configured.

A block preceded by ``<!-- no-run: why -->`` is skipped. Pages that talk to Temporal get
``TEMPORAL_ADDRESS`` of the session's dev server. Shell blocks are not run, but every
``temporal-router ...`` line in them (and in the README) must parse with the real CLI parser.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from temporal_router.cli._parser import build_parser
from temporal_router.testing import DevServer

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"

#: How each page's code runs (None: it has no runnable Python), by path in the repository.
MODES: dict[str, str | None] = {
    "README.md": "newcomer",
    "docs/router.md": "session",
    "docs/hooks.md": "script",
    "docs/interceptors.md": "script",
    "docs/otel.md": "session",
    "docs/deployment.md": None,
    "docs/architecture.md": None,
    "docs/security.md": None,
    "docs/testing.md": "pytest",
    "docs/tutorial.md": "script",
    "docs/index.md": None,
}

_BLOCK = re.compile(
    r"(?P<skip><!--\s*no-run[^>]*-->\s*)?```(?P<lang>[\w-]*)\n(?P<code>.*?)```", re.S
)

_SESSION_RUNNER = """
import ast, asyncio, gc, re, sys, textwrap, types
from pathlib import Path

BLOCK = re.compile(sys.argv[2], re.S)


async def main() -> None:
    path = sys.argv[1]
    text = Path(path).read_text()
    module = types.ModuleType("docpage")
    sys.modules["docpage"] = module
    for match in BLOCK.finditer(text):
        if match["skip"] or match["lang"] != "python":
            continue
        line = text[: match.start("code")].count("\\n")
        tree = ast.parse(textwrap.dedent(match["code"]), filename=path)
        ast.increment_lineno(tree, line)
        code = compile(tree, path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
        result = eval(code, module.__dict__)
        if asyncio.iscoroutine(result):
            await result
    module.__dict__.clear()


asyncio.run(main())
gc.collect()  # free Temporal clients before the interpreter exits (sdk-python#300)
"""

_PYTEST_CONFTEST = """import gc

pytest_plugins = ["temporal_router.testing.pytest_plugin"]


def pytest_unconfigure(config):
    gc.collect()  # free Temporal clients before the interpreter exits (sdk-python#300)
"""

_PYTEST_CONFIG = """[pytest]
asyncio_mode = auto
asyncio_default_fixture_loop_scope = session
asyncio_default_test_loop_scope = session
filterwarnings = ignore::DeprecationWarning
"""


def _python_blocks(text: str) -> list[str]:
    return [
        textwrap.dedent(m["code"])
        for m in _BLOCK.finditer(text)
        if m["lang"] == "python" and not m["skip"]
    ]


def _env(target: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "OTEL_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["TEMPORAL_ADDRESS"] = target
    return env


def test_every_page_is_covered() -> None:
    pages = ["README.md", *(f"docs/{p.name}" for p in DOCS.glob("*.md"))]
    assert sorted(pages) == sorted(MODES)
    for name, mode in MODES.items():
        has_code = bool(_python_blocks((REPO / name).read_text()))
        assert has_code == (mode is not None), name


def test_the_readme_quick_start_runs_as_pasted_into_an_empty_directory(tmp_path: Path) -> None:
    (block,) = _python_blocks((REPO / "README.md").read_text())
    (tmp_path / "quickstart.py").write_text(block)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "OTEL_"))}
    done = subprocess.run(
        [sys.executable, "quickstart.py"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "anonymous: DomainFailure(code='Declined'" in done.stdout
    assert "ada: Paid total=30 receipt='rcpt-tok-30'" in done.stdout
    assert done.stderr == ""


@pytest.mark.parametrize(
    "page", [name for name, mode in MODES.items() if mode not in (None, "newcomer")]
)
def test_the_code_of_the_page_runs(
    page: str, temporal_dev_server: DevServer, tmp_path: Path
) -> None:
    path = REPO / page
    mode = MODES[page]
    env = _env(temporal_dev_server.target)
    if mode == "session":
        runner = tmp_path / "run_session.py"
        runner.write_text(_SESSION_RUNNER)
        argv = [sys.executable, str(runner), str(path), _BLOCK.pattern]
    elif mode == "script":
        script = tmp_path / f"{path.stem}_example.py"
        script.write_text("\n\n".join(_python_blocks(path.read_text())))
        argv = [sys.executable, str(script)]
    else:
        module = tmp_path / f"test_{path.stem}_example.py"
        module.write_text("\n\n".join(_python_blocks(path.read_text())))
        (tmp_path / "conftest.py").write_text(_PYTEST_CONFTEST)
        (tmp_path / "pytest.ini").write_text(_PYTEST_CONFIG)
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(module)]
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"{page}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def _command_lines() -> list[tuple[str, str]]:
    """Every ``temporal-router ...`` line of the shell blocks in docs/ and the README, and
    every inline ```temporal-router ...``` that is a complete command (no ``[optional]``
    usage syntax, no ``...``)."""
    found: list[tuple[str, str]] = []
    for path in [REPO / "README.md", *sorted(DOCS.glob("*.md"))]:
        text = path.read_text()
        for match in _BLOCK.finditer(text):
            if match["lang"] not in ("bash", "sh", "shell", ""):
                continue
            joined = match["code"].replace("\\\n", " ")
            for line in joined.splitlines():
                line = line.split(" #")[0].strip()
                if line.startswith("temporal-router "):
                    found.append((path.name, line))
        prose = _BLOCK.sub("", text)
        for span in re.findall(r"`(temporal-router [^`]+)`", prose):
            if "[" not in span and "..." not in span:
                found.append((path.name, span))
    return found


def test_documented_command_lines_parse() -> None:
    lines = _command_lines()
    assert len(lines) >= 4
    parser = build_parser()
    for page, line in lines:
        words = [w for w in shlex.split(line) if "$" not in w]
        try:
            parser.parse_args(words[1:])
        except SystemExit as exc:
            pytest.fail(f"{page}: `{line}` does not parse (exit {exc.code})")


def test_the_site_builds_strict(tmp_path: Path) -> None:
    """``mkdocs build --strict``: every page in the nav, no broken link, and an API reference
    whose docstrings griffe parses without a warning."""
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    reference = (tmp_path / "site" / "reference" / "adapter" / "index.html").read_text()
    assert "HookClient" in reference
    assert "RouterPlugin" in reference
