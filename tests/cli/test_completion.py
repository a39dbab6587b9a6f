"""``temporal-router completion``: the script completes subcommands, each one's flags and
``@file`` arguments, in a real bash."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from temporal_router.cli._completion import completion_script
from temporal_router.cli._parser import build_parser
from tests.cli.test_errors import run


def complete(script: Path, words: list[str], cwd: Path) -> list[str]:
    array = " ".join(f"'{w}'" for w in words)
    probe = f'source {script}; COMP_WORDS=({array}); COMP_CWORD={len(words) - 1}; _temporal_router; printf "%s\\n" "${{COMPREPLY[@]}}"'
    done = subprocess.run(
        ["bash", "-c", probe], cwd=cwd, capture_output=True, text=True, check=True
    )
    return [line for line in done.stdout.splitlines() if line]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_subcommands_flags_and_files(tmp_path: Path) -> None:
    printed = run("completion", "bash")
    assert printed.code == 0, printed.err
    script = tmp_path / "completion.bash"
    script.write_text(printed.out)
    (tmp_path / "order.json").write_text("{}")
    assert complete(script, ["temporal-router", "di"], tmp_path) == ["dispatch"]
    assert complete(script, ["temporal-router", "do"], tmp_path) == ["doctor"]
    assert complete(script, ["temporal-router", "dispatch", "o-1", "Pay", "--pay"], tmp_path) == [
        "--payload"
    ]
    assert "--create-search-attributes" in complete(
        script, ["temporal-router", "doctor", "--"], tmp_path
    )
    assert complete(script, ["temporal-router", "create", "o-1", "--data", "@ord"], tmp_path) == [
        "@order.json"
    ]
    assert complete(script, ["temporal-router", "--debug", "dispatch", "--pay"], tmp_path) == [
        "--payload"
    ]
    assert complete(script, ["temporal-router", "completion", ""], tmp_path) == ["bash", "zsh"]
    assert complete(script, ["temporal-router", "get", "o-1", "-o", ""], tmp_path) == [
        "json",
        "table",
    ]
    (tmp_path / "my order.json").write_text("{}")
    assert complete(script, ["temporal-router", "create", "o-1", "--data", "@my"], tmp_path) == [
        "@my order.json"
    ]
    # Hidden flags stay hidden.
    assert "--definition" not in complete(script, ["temporal-router", "hook", "--"], tmp_path)


def test_every_subcommand_and_flag_is_in_the_script() -> None:
    parser = build_parser()
    script = completion_script(parser, "zsh")
    assert script.startswith("autoload -U +X bashcompinit && bashcompinit\n")
    for name in ("dev", "worker", "create", "dispatch", "doctor", "signal", "completion"):
        assert f"    {name}) opts=" in script
    assert "--expected-version" in script
