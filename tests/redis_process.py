"""A private redis-server for tests that stop and restart Redis (never the shared one)."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests import support


class RedisProcess:
    """redis-server on a free loopback port, without persistence: a restart starts empty, as
    after losing the host."""

    def __init__(self, log_dir: Path):
        if shutil.which("redis-server") is None:
            pytest.skip("redis-server is not installed")
        self.port = support.free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._log = log_dir / f"redis-{self.port}.log"
        self._proc: subprocess.Popen | None = None

    def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        with open(self._log, "ab") as log:
            self._proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        support.wait_for(lambda: support.check_redis(self.url) is None, 15, 0.05, "redis-server to accept connections")

    def kill(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.send_signal(signal.SIGKILL)
            self._proc.wait(10)
        self._proc = None

    def restart_after(self, seconds: float) -> None:
        self.kill()
        time.sleep(seconds)
        self.start()
