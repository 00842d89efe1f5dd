"""The exceptions of `eum_social`: one base class, one for the control API's refusals, one for a
server that would not start."""

from __future__ import annotations

from typing import Any, Optional, Sequence


class EumSocialError(Exception):
    """Base class of every error this package raises (and of the emulator being unreachable)."""


class ControlError(EumSocialError):
    """The control API refused a request: ``status`` is the HTTP status (400, 401, 404, 409, …),
    ``message`` the emulator's ``{"message": …}``, ``body`` the whole parsed answer (or its text
    when it was not JSON)."""

    def __init__(self, status: int, message: str, method: str, path: str, body: Any = None):
        super().__init__(f"{method} {path}: {status} {message}")
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        self.body = body


class StartupError(EumSocialError):
    """The binary did not print its ``READY`` line: it exited (``returncode``) or timed out
    (``returncode`` is ``None``). ``stderr`` holds what it printed, also part of the message."""

    def __init__(
        self,
        reason: str,
        command: Sequence[str],
        stderr: str,
        returncode: Optional[int] = None,
    ):
        shown = stderr.strip() or "(nothing on stderr)"
        super().__init__(f"{reason}\ncommand: {' '.join(command)}\nstderr:\n{shown}")
        self.reason = reason
        self.command = list(command)
        self.stderr = stderr
        self.returncode = returncode
