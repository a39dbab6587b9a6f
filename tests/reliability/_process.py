"""Start, crash and stop the worker process of ``tests/reliability/worker.py``."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import IO

REPO = Path(__file__).resolve().parents[2]

__all__ = ["REPO", "WorkerProcess"]


class WorkerProcess:
    """``python -m tests.reliability.worker`` against ``address``; its stderr goes to ``log``."""

    def __init__(
        self,
        address: str,
        task_queue: str,
        log: Path,
        *,
        max_history: int = 2000,
        reactors: bool = False,
    ) -> None:
        self.env = {
            **os.environ,
            "TEMPORAL_ADDRESS": address,
            "RELIABILITY_TASK_QUEUE": task_queue,
            "RELIABILITY_MAX_HISTORY": str(max_history),
            "RELIABILITY_REACTORS": "1" if reactors else "",
            "PYTHONPATH": os.pathsep.join(
                p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p
            ),
        }
        self.log_path = log
        self._log: IO[bytes] | None = None
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.kills = 0

    async def start(self, timeout: float = 60.0) -> None:
        """Start the worker and wait until it prints ``ready``."""
        assert self.proc is None or self.proc.returncode is not None
        self._log = self.log_path.open("ab")
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.reliability.worker",
            cwd=REPO,
            env=self.env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=self._log,
        )
        self.starts += 1
        assert self.proc.stdout is not None
        try:
            line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        except TimeoutError:
            line = b""
        if line.strip() != b"ready":
            await self.kill()
            raise AssertionError(f"worker did not start; its log:\n{self.log_tail()}")

    async def kill(self) -> None:
        """SIGKILL, as a crash would: no graceful shutdown, nothing flushed."""
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        self.kills += 1
        self._close()

    async def stop(self) -> None:
        """SIGTERM and wait (SIGKILL after 15 s)."""
        proc = self.proc
        if proc is None or proc.returncode is not None:
            self._close()
            return
        proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 15)
        except TimeoutError:
            proc.kill()
            await proc.wait()
        self._close()

    def _close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, limit: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-limit:]
        except OSError:
            return ""
