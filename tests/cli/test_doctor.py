"""``temporal-router doctor`` on a plain ``temporal server start-dev``: names what is missing,
creates the search attributes when asked, sees the worker once one polls."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from temporal_router.testing import DevServer
from tests.cli.test_errors import run
from tests.test_cli import APP, _clean_env


@pytest_asyncio.fixture(scope="module")
async def bare_server() -> AsyncIterator[DevServer]:
    async with DevServer(search_attributes=()) as server:
        yield server


def test_doctor_names_each_problem_and_fixes_the_search_attributes(
    bare_server: DevServer, tmp_path: Path
) -> None:
    where = bare_server.target
    first = run("doctor", *APP, TEMPORAL_ADDRESS=where)
    assert first.code == 3, first.err
    assert f"ok   server {where} answers" in first.out
    assert "ok   namespace 'default' exists" in first.out
    assert "FAIL search attributes RouterState and RouterDefinition: missing" in first.out
    assert (
        "fix: temporal-router doctor --app examples.orders --create-search-attributes" in first.out
    )
    assert "FAIL task queue 'orders': no worker" in first.out

    fixed = run("doctor", *APP, "--create-search-attributes", TEMPORAL_ADDRESS=where)
    assert "created the search attributes RouterState, RouterDefinition" in fixed.out
    assert "ok   search attributes RouterState and RouterDefinition" in fixed.out
    assert fixed.code == 3  # still no worker

    log = tmp_path / "worker.log"
    with log.open("w") as sink:
        worker = subprocess.Popen(
            [sys.executable, "-m", "temporal_router", "worker", *APP],
            env=_clean_env(TEMPORAL_ADDRESS=where),
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            ready = run("doctor", *APP, TEMPORAL_ADDRESS=where)
            if ready.code == 0 or time.monotonic() > deadline:
                break
            time.sleep(1)
        assert ready.code == 0, ready.out + log.read_text()
        assert "ok   task queue 'orders': 1 worker(s) polling" in ready.out
    finally:
        worker.terminate()
        worker.wait(timeout=30)


def test_doctor_on_an_unknown_namespace_says_how_to_create_it(bare_server: DevServer) -> None:
    result = run("doctor", *APP, "--namespace", "nope", TEMPORAL_ADDRESS=bare_server.target)
    assert result.code == 3
    assert "FAIL namespace 'nope' does not exist" in result.out
    assert "temporal operator namespace create --namespace nope" in result.out
