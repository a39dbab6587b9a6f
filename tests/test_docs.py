"""The documentation runs: every ```python block of README.md and docs/**/*.md is either a
complete program, run on its own in CI, or marked as a fragment; and every command line parses.

A block preceded (on the line before) by an HTML comment ``<!-- fragment: why -->`` is a
fragment: not standalone, so a reader knows not to paste it alone. A fragment whose reason
starts with ``continues`` (``<!-- fragment: continues the example above -->``) is appended
to the complete program before it and runs as part of it; any other fragment (configuration
shown for another file, code that needs a cluster) is not run. No other marker is accepted
(the former ``<!-- no-run: ... -->`` is now ``<!-- fragment: ... -->``).

Every unmarked block is a complete program: imports included, no ``await`` outside a
function, no name from another block. Each runs, with the fragments that continue it, in a
fresh Python process, as the page's mode says:

- ``python``: saved as a file and run with ``python file.py`` (Temporal code connects to
  ``TEMPORAL_ADDRESS``, set to the session's dev server, or starts its own ``DevServer``);
- ``pytest``: a test module run by pytest with the
  ``temporal_router.testing.pytest_plugin`` fixtures (docs/testing.md);
- ``newcomer``: the one block is ``quickstart.py``, run as the README says, in an empty
  directory with the installed package and no Temporal configured.

A page whose mode is None may hold only fragments that are not run. Shell blocks are not
run, but every ``temporal-router ...`` line in them (and in the README) must parse with the
real CLI parser.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from temporal_router.cli._parser import build_parser
from temporal_router.testing import DevServer

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"

#: How each page's programs run (None: it has none), by path in the repository.
MODES: dict[str, str | None] = {
    "README.md": "newcomer",
    "docs/router.md": "python",
    "docs/hooks.md": "python",
    "docs/interceptors.md": "python",
    "docs/otel.md": "python",
    "docs/deployment.md": None,
    "docs/architecture.md": None,
    "docs/security.md": None,
    "docs/testing.md": "pytest",
    "docs/tutorial.md": "python",
    "docs/index.md": None,
    "docs/reference/index.md": None,
    "docs/reference/router.md": None,
    "docs/reference/adapter.md": None,
    "docs/reference/workflows.md": None,
    "docs/reference/otel.md": None,
    "docs/reference/testing.md": None,
}

_BLOCK = re.compile(
    r"(?:<!--(?P<comment>[^>]*)-->[ \t]*\n[ \t]*)?```(?P<lang>[\w-]*)\n(?P<code>.*?)```", re.S
)
_FRAGMENT = re.compile(r"\s*fragment:\s*(?P<why>\S.*?)\s*$", re.S)


@dataclass(frozen=True)
class Block:
    page: str
    line: int  # 1-based line of the opening fence
    code: str
    kind: str  # "program", "continues" (a fragment run with the program above) or "fragment"
    problem: str | None = None


@dataclass(frozen=True)
class Program:
    page: str
    line: int
    code: str  # the program's block and the fragments that continue it, joined
    blocks: int


def _pages() -> list[str]:
    return ["README.md", *(p.relative_to(REPO).as_posix() for p in DOCS.rglob("*.md"))]


def _python_blocks(page: str, text: str) -> list[Block]:
    blocks: list[Block] = []
    for match in _BLOCK.finditer(text):
        if match["lang"] != "python":
            continue
        line = text[: match.start("lang")].count("\n") + 1
        code = textwrap.dedent(match["code"])
        comment = match["comment"]
        if comment is None:
            blocks.append(Block(page, line, code, "program"))
            continue
        marker = _FRAGMENT.match(comment)
        if marker is None:
            problem = f"unknown marker <!--{comment}--> (use <!-- fragment: why -->)"
            blocks.append(Block(page, line, code, "fragment", problem))
        elif marker["why"].startswith("continues"):
            blocks.append(Block(page, line, code, "continues"))
        else:
            blocks.append(Block(page, line, code, "fragment"))
    return blocks


def _check_page(page: str, text: str, mode: str | None) -> tuple[list[Program], list[str]]:
    """The page's programs, and what is wrong with its blocks."""
    programs: list[Program] = []
    problems: list[str] = []
    current: list[Block] = []

    def close() -> None:
        if current:
            code = "\n\n".join(b.code for b in current)
            programs.append(Program(page, current[0].line, code, len(current)))
            current.clear()

    for block in _python_blocks(page, text):
        where = f"{page}:{block.line}"
        if block.problem:
            problems.append(f"{where}: {block.problem}")
        if block.kind == "program":
            close()
            current.append(block)
            try:  # standalone: no top-level await (names from other blocks fail when it runs)
                compile(block.code, where, "exec", dont_inherit=True)
            except SyntaxError as exc:
                problems.append(f"{where}: not a complete program ({exc.msg}); mark it a fragment")
        elif block.kind == "continues":
            if not current:
                problems.append(f"{where}: a fragment continues no program above it")
            else:
                current.append(block)
        else:
            close()
    close()
    if mode is None and programs:
        problems.append(
            f"{page}: has unmarked python blocks (lines {[p.line for p in programs]}) but no "
            "mode in tests/test_docs.py MODES: mark them as fragments or give the page a mode"
        )
    if mode == "newcomer" and len(programs) != 1:
        problems.append(f"{page}: the quick start is one program, found {len(programs)}")
    return programs, problems


def _all_programs() -> list[Program]:
    found: list[Program] = []
    for page in _pages():
        if page in MODES:
            found += _check_page(page, (REPO / page).read_text(), MODES[page])[0]
    return found


PROGRAMS = _all_programs()


def _env(target: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "OTEL_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env["TEMPORAL_ADDRESS"] = target
    return env


# -- every block is a complete program or a marked fragment --------------------------------------


def test_every_block_is_a_complete_program_or_a_marked_fragment() -> None:
    pages = _pages()
    assert sorted(pages) == sorted(MODES), "a page is missing from MODES (or MODES is stale)"
    problems: list[str] = []
    blocks = 0
    for page in pages:
        text = (REPO / page).read_text()
        blocks += len(_python_blocks(page, text))
        programs, found = _check_page(page, text, MODES[page])
        problems += found
        if MODES[page] is not None:
            assert programs, f"{page} has a mode but no complete program"
    assert not problems, "\n".join(problems)
    # Not vacuous: the pages hold dozens of blocks, and every program below runs.
    assert blocks >= 40
    assert len(PROGRAMS) >= 8
    assert sum(p.blocks for p in PROGRAMS) >= 38


@pytest.mark.parametrize(
    ("text", "mode", "complaint"),
    [
        ("```python\nprint(1)\n```\n", None, "no mode"),
        ("```python\nimport asyncio\nawait asyncio.sleep(0)\n```\n", "python", "await"),
        ("<!-- no-run: old -->\n```python\nx = 1\n```\n", "python", "unknown marker"),
        ("<!-- fragment: continues -->\n```python\nx = 1\n```\n", "python", "continues no"),
        ("```python\nprint(1)\n```\n\n```python\nprint(2)\n```\n", "newcomer", "one program"),
    ],
)
def test_the_check_refuses(text: str, mode: str | None, complaint: str) -> None:
    _, problems = _check_page("page.md", text, mode)
    assert any(complaint in p for p in problems), problems


def test_the_check_accepts_fragments_and_joins_continuations() -> None:
    text = (
        "```python\nx = 1\n```\n"
        "<!-- fragment: continues the example above -->\n```python\nawait f(x)\n```\n"
        "<!-- fragment: shown for your conftest.py -->\n```python\nawait g()\n```\n"
        "```bash\nawait nothing\n```\n"
    )
    programs, problems = _check_page("page.md", text, "python")
    assert problems == []
    assert [(p.line, p.code, p.blocks) for p in programs] == [(1, "x = 1\n\n\nawait f(x)\n", 2)]
    only_fragments = "<!-- fragment: needs a cluster -->\n```python\nawait g()\n```\n"
    assert _check_page("page.md", only_fragments, None) == ([], [])


# -- the programs run ----------------------------------------------------------------------------


def test_the_readme_quick_start_runs_as_pasted_into_an_empty_directory(tmp_path: Path) -> None:
    (quickstart,) = [p for p in PROGRAMS if p.page == "README.md"]
    (tmp_path / "quickstart.py").write_text(quickstart.code)
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


@pytest.mark.parametrize(
    "program",
    [p for p in PROGRAMS if MODES[p.page] != "newcomer"],
    ids=lambda p: f"{p.page}:{p.line}",
)
def test_the_program_runs(program: Program, temporal_dev_server: DevServer, tmp_path: Path) -> None:
    stem = Path(program.page).stem
    env = _env(temporal_dev_server.target)
    if MODES[program.page] == "pytest":
        module = tmp_path / f"test_{stem}_{program.line}.py"
        module.write_text(program.code)
        (tmp_path / "conftest.py").write_text(_PYTEST_CONFTEST)
        (tmp_path / "pytest.ini").write_text(_PYTEST_CONFIG)
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(module)]
    else:
        script = tmp_path / f"{stem}_{program.line}.py"
        script.write_text(program.code)
        argv = [sys.executable, str(script)]
    done = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    where = f"{program.page}:{program.line}"
    assert done.returncode == 0, f"{where}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"


def _command_lines() -> list[tuple[str, str]]:
    """Every ``temporal-router ...`` line of the shell blocks in docs/ and the README, and
    every inline ```temporal-router ...``` that is a complete command (no ``[optional]``
    usage syntax, no ``...``)."""
    found: list[tuple[str, str]] = []
    for path in [REPO / "README.md", *sorted(DOCS.rglob("*.md"))]:
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
