"""Tests of the eum_social package and its pytest plugin, run against the installed binary (the
wheel's; `EUM_SOCIAL_BINARY` picks another, e.g. `target/debug/eum-social` while developing)."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
from typing import List

pytest_plugins = ["pytester"]

CUSTOMER = "+14255550150"


def process_gone(pid: int, timeout: float = 0.0) -> bool:
    """Whether process `pid` has exited (a zombie counts), waiting up to `timeout` seconds for it
    on a pidfd (Linux 5.3+), without polling."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(int(timeout * 1000)))
    finally:
        os.close(fd)


def run_python(code: str, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """`code` in a new interpreter of this environment (its output captured)."""
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def pids_in(text: str) -> List[int]:
    """The process ids a script or test printed as `PID <n>`."""
    return [int(pid) for pid in re.findall(r"\bPID (\d+)", text)]
