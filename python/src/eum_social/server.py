"""`EumSocial`: the bundled ``eum-social`` binary on a free loopback port, started and stopped
from Python, with the control API's helpers (:class:`eum_social.control.Control`)."""

from __future__ import annotations

import collections
import functools
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import weakref
from typing import IO, Any, Callable, Deque, Dict, List, Mapping, Optional, Union

from .control import Control
from .errors import EumSocialError, StartupError

__all__ = ["EumSocial", "binary_path", "BINARY_ENV"]

#: An environment variable naming another binary (e.g. ``target/debug/eum-social``).
BINARY_ENV = "EUM_SOCIAL_BINARY"

_READY = re.compile(r"^READY (http://\S+)\s*$")
# Flags whose value is a JSON file: a dict or list given for them is written to a temp file.
_FILE_FLAGS = {"seed", "quotas", "faults", "credentials"}
# The only repeatable flag: `--sns-subscribe TOPIC_ARN=URL`.
_REPEATED_FLAGS = {"sns_subscribe"}
_LOG_LINES = 2000


def binary_path() -> str:
    """The ``eum-social`` binary this package runs: ``$EUM_SOCIAL_BINARY``, else the one the
    wheel installed next to this interpreter's scripts, else the first on ``PATH``."""
    override = os.environ.get(BINARY_ENV)
    if override:
        return override
    name = "eum-social.exe" if os.name == "nt" else "eum-social"
    dirs = [sysconfig.get_path("scripts"), os.path.dirname(sys.executable)]
    try:
        dirs.append(sysconfig.get_path("scripts", f"{os.name}_user"))
    except KeyError:  # pragma: no cover - no user scheme on this platform
        pass
    for d in dirs:
        candidate = os.path.join(d, name)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    if found:
        return found
    raise EumSocialError(
        f"the {name} binary was not found (looked in {', '.join(dirs)} and PATH): "
        f"install the eum-social wheel, or set {BINARY_ENV} to the binary"
    )


def _flag_value(name: str, value: Any, tmpdir: str) -> str:
    if name in _FILE_FLAGS and isinstance(value, (dict, list)):
        path = os.path.join(tmpdir, f"{name}.json")
        with open(path, "w", encoding="utf-8") as f:
            json.dump(value, f)
        return path
    if isinstance(value, (list, tuple)):  # --status-delays 200,700,2000
        return ",".join(str(v) for v in value)
    if isinstance(value, os.PathLike):
        return str(os.fspath(value))
    return str(value)


def _flags_to_args(flags: Mapping[str, Any], tmpdir: str) -> List[str]:
    """``state_dir="x"`` → ``--state-dir x``; ``True`` → the bare flag; ``None``/``False`` → left
    out; ``sns_subscribe`` takes a list or a ``{topic_arn: url}`` mapping (repeated flag)."""
    args: List[str] = []
    for name, value in flags.items():
        if value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        if value is True:
            args.append(flag)
        elif name in _REPEATED_FLAGS:
            items = [f"{k}={v}" for k, v in value.items()] if isinstance(value, Mapping) else value
            for item in [items] if isinstance(items, str) else items:
                args += [flag, str(item)]
        else:
            args += [flag, _flag_value(name, value, tmpdir)]
    return args


def _die_with_parent() -> Optional[Any]:
    """Linux: a ``preexec_fn`` giving the server SIGTERM when the process that started it dies,
    even by SIGKILL (where neither atexit nor a finalizer runs). PDEATHSIG fires when the
    starting *thread* ends, so only a start from the main thread uses it. The libc function is
    looked up here, before the fork: the child only calls it."""
    if (
        not sys.platform.startswith("linux")
        or threading.current_thread() is not threading.main_thread()
    ):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (ImportError, OSError, AttributeError):  # pragma: no cover - exotic libc
        return None
    pr_set_pdeathsig = 1
    return functools.partial(prctl, pr_set_pdeathsig, int(signal.SIGTERM))


class _Stderr:
    """The binary's stderr, read by a thread that holds this and not the :class:`EumSocial`
    (so a forgotten server can still be collected, and its finalizer stop the process)."""

    def __init__(self) -> None:
        self._lines: Deque[str] = collections.deque(maxlen=_LOG_LINES)
        self._lock = threading.Lock()  # list() of a deque that grows meanwhile would raise
        self.ready = threading.Event()
        self.url: Optional[str] = None

    def lines(self) -> List[str]:
        with self._lock:
            return list(self._lines)

    def read(self, stream: IO[bytes]) -> None:
        with stream:
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                with self._lock:
                    self._lines.append(line)
                if self.url is None:
                    match = _READY.match(line)
                    if match:
                        self.url = match.group(1)
                        self.ready.set()
        self.ready.set()  # end of stderr: the binary is exiting


def _stop_process(proc: "subprocess.Popen[bytes]", timeout: float, tmpdir: Optional[str]) -> None:
    """SIGTERM to the server's process group (graceful: in-flight requests finish), SIGKILL after
    ``timeout``; then its temp files. Safe to call twice; also runs at interpreter exit."""
    try:
        if proc.poll() is None:
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(proc, getattr(signal, "SIGKILL", signal.SIGTERM))
                proc.wait()
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)


def _signal_group(proc: "subprocess.Popen[bytes]", sig: int) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, sig)  # its own session: the group id is its pid
        else:  # pragma: no cover
            proc.terminate() if sig == signal.SIGTERM else proc.kill()
    except ProcessLookupError:  # exited since poll()
        pass


class EumSocial(Control):
    """The ``eum-social`` binary on a free port of 127.0.0.1, as a context manager::

        with EumSocial(deterministic=True, quotas="off") as server:
            sm = server.client()            # boto3 socialmessaging client
            server.inbound.text("Hi", from_="+14255550150")

    Positional arguments are raw flags (``EumSocial("--quotas", "off")``); keyword arguments
    are flags in snake_case: ``seed=``, ``state_dir=``, ``quotas=``, ``faults=``, ``deterministic=
    True``, ``status_delays=(200, 700, 2000)``, ``log="debug"``, … (a dict or list for ``seed``,
    ``quotas``, ``faults`` or ``credentials`` is written to a temp file). ``control_token`` is
    passed and sent with every control request.

    It starts at once (``start=False`` defers to :meth:`start` or ``with``), waits up to
    ``startup_timeout`` seconds for the ``READY`` line and raises :class:`StartupError` with the
    binary's stderr if it exits first. :meth:`stop` (or leaving the ``with`` block, also by an
    exception or KeyboardInterrupt) stops it: SIGTERM, SIGKILL after ``stop_timeout``. A server
    still running when the interpreter exits is stopped then; on Linux it also gets SIGTERM if
    the starting process is killed outright.
    """

    def __init__(
        self,
        *args: str,
        binary: Optional[str] = None,
        host: str = "127.0.0.1",
        port: int = 0,
        control_token: Optional[str] = None,
        env: Optional[Mapping[str, str]] = None,
        stdout: Union[None, int, IO[Any]] = subprocess.DEVNULL,
        startup_timeout: float = 60.0,
        stop_timeout: float = 10.0,
        timeout: float = 30.0,
        start: bool = True,
        **flags: Any,
    ) -> None:
        super().__init__(None, control_token=control_token, timeout=timeout)
        self._tmpdir = tempfile.mkdtemp(prefix="eum-social-py-")
        try:
            flag_args = _flags_to_args(dict(flags, control_token=control_token), self._tmpdir)
            self.command: List[str] = [
                binary or binary_path(),
                "--host",
                host,
                "--port",
                str(port),
                *flag_args,
                *args,
            ]
        except BaseException:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            raise
        self._env = dict(os.environ)
        self._env.setdefault("NO_COLOR", "1")  # plain log lines in errors and `log`
        self._env.update(env or {})
        self._stdout = stdout
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self._proc: Optional["subprocess.Popen[bytes]"] = None
        self._finalizer: Optional[Callable[[], Any]] = None
        self._reader: Optional[threading.Thread] = None
        self._stderr = _Stderr()
        if start:
            self.start()

    # -- the process -----------------------------------------------------------------------------

    def start(self) -> "EumSocial":
        """Starts the binary and waits for its READY line (see the class)."""
        if self._proc is not None:
            raise EumSocialError("this EumSocial was already started")
        popen: Dict[str, Any] = {}
        if os.name == "posix":
            popen["start_new_session"] = True  # its own process group, no terminal's SIGINT
            preexec = _die_with_parent()
            if preexec is not None:
                popen["preexec_fn"] = preexec
        try:
            proc = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=self._stdout,
                stderr=subprocess.PIPE,
                env=self._env,
                **popen,
            )
        except OSError as e:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            raise StartupError(f"cannot run {self.command[0]}: {e}", self.command, "") from e
        self._proc = proc
        self._finalizer = weakref.finalize(
            self, _stop_process, proc, self.stop_timeout, self._tmpdir
        )
        self._reader = threading.Thread(
            target=self._stderr.read,
            args=(proc.stderr,),
            name=f"eum-social-{proc.pid}",
            daemon=True,
        )
        self._reader.start()
        try:
            self._wait_ready()
            self._endpoint_url = self._stderr.url
            self._health = self.health()
            self.snapshot_configuration()
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self) -> None:
        proc = self._proc
        assert proc is not None
        if not self._stderr.ready.wait(self.startup_timeout):
            self.stop()
            raise StartupError(
                f"eum-social printed no READY line within {self.startup_timeout:g} s",
                self.command,
                self.log_text(),
            )
        if self._stderr.url is None:
            try:
                code: Optional[int] = proc.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                code = None
            self.stop()
            reason = f"eum-social exited with code {code} before it was ready"
            if code is None:
                reason = "eum-social closed its stderr before it was ready"
            raise StartupError(reason, self.command, self.log_text(), code)

    def stop(self) -> None:
        """Stops the server (SIGTERM, then SIGKILL after ``stop_timeout``) and removes its temp
        files. Idempotent."""
        if self._finalizer is not None:
            self._finalizer()
        else:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
        if self._reader is not None:
            self._reader.join(self.stop_timeout)

    def __enter__(self) -> "EumSocial":
        if self._proc is None:
            self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> Optional[int]:
        """The server's process id (``None`` before :meth:`start`)."""
        return self._proc.pid if self._proc else None

    @property
    def returncode(self) -> Optional[int]:
        """The exit code once it has exited, else ``None``."""
        return self._proc.poll() if self._proc else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def port(self) -> int:
        return int(self.endpoint_url.rsplit(":", 1)[1])

    @property
    def log(self) -> List[str]:
        """The binary's stderr lines so far (the last 2000)."""
        return self._stderr.lines()

    def log_text(self) -> str:
        return "\n".join(self._stderr.lines())

    def _unreachable(self, method: str, path: str, error: BaseException) -> EumSocialError:
        base = super()._unreachable(method, path, error)
        if self._proc is not None and self._proc.poll() is not None:
            tail = "\n".join(self._stderr.lines()[-20:])
            return EumSocialError(
                f"{base}\neum-social exited with code {self._proc.returncode}; stderr:\n{tail}"
            )
        return base

    def __repr__(self) -> str:
        state = self._endpoint_url if self.running else "stopped"
        return f"<EumSocial {state}>"
