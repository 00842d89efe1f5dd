"""The pytest plugin of ``eum-social`` (entry point ``pytest11``, so installing the wheel is
enough): one emulator per test session, reset before each test that uses it.

Fixtures:

- ``eum_social``: the session's :class:`eum_social.EumSocial`, started when a test first asks
  for it. Before every later test that uses it, the emulator is reset to its seed
  (``reset()``) and the fault rules, SNS subscriptions and quotas a test changed are put back
  (``restore_configuration()``). ``@pytest.mark.eum_social_no_reset`` on a test (or a module,
  through ``pytestmark``) skips that; ``eum_social_reset = false`` in the ini file skips it
  everywhere.
- ``eum_social_client``: a boto3 ``socialmessaging`` client pointed at it.

Options (command line, or the ini file's ``[pytest]`` section):

- ``--eum-social-args="--quotas off --deterministic"`` (repeatable) / ``eum_social_args``:
  extra flags of the binary, shell-quoted;
- ``--eum-social-binary=PATH`` / ``eum_social_binary``: another binary (default: the wheel's,
  or ``$EUM_SOCIAL_BINARY``);
- ``eum_social_startup_timeout``: seconds to wait for its READY line (default 60).
"""

from __future__ import annotations

import shlex
from typing import Any, Iterator, List

import pytest

from .server import EumSocial

NO_RESET_MARKER = "eum_social_no_reset"
_SERVER = pytest.StashKey[EumSocial]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("eum-social", "eum-social emulator")
    group.addoption(
        "--eum-social-args",
        action="append",
        default=[],
        metavar="FLAGS",
        help="extra flags of the eum-social binary, shell-quoted (repeatable)",
    )
    group.addoption(
        "--eum-social-binary",
        default=None,
        metavar="PATH",
        help="the eum-social binary to run (default: the one the wheel installed)",
    )
    parser.addini(
        "eum_social_args", "extra flags of the eum-social binary", type="args", default=[]
    )
    parser.addini("eum_social_binary", "the eum-social binary to run", default="")
    parser.addini(
        "eum_social_startup_timeout", "seconds to wait for the binary's READY line", default="60"
    )
    parser.addini(
        "eum_social_reset",
        "reset the emulator before each test that uses it",
        type="bool",
        default=True,
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{NO_RESET_MARKER}: do not reset the eum-social emulator before this test "
        "(it sees what earlier tests left)",
    )


def _args(config: pytest.Config) -> List[str]:
    args: List[str] = list(config.getini("eum_social_args"))
    for text in config.getoption("eum_social_args"):
        args += shlex.split(text)
    return args


@pytest.fixture(scope="session")
def eum_social(request: pytest.FixtureRequest) -> Iterator[EumSocial]:
    """The session's emulator (see the module)."""
    config = request.config
    binary = config.getoption("eum_social_binary") or config.getini("eum_social_binary") or None
    server = EumSocial(
        *_args(config),
        binary=binary,
        startup_timeout=float(config.getini("eum_social_startup_timeout")),
    )
    config.stash[_SERVER] = server
    try:
        yield server
    finally:
        del config.stash[_SERVER]
        server.stop()


@pytest.fixture(scope="session")
def eum_social_client(eum_social: EumSocial) -> Any:
    """A boto3 ``socialmessaging`` client of the session's emulator (default account, Region)."""
    return eum_social.client()


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before the test's fixtures are set up, so that its own fixtures start from the seed. The
    # first test to use the emulator starts it fresh.
    server = item.config.stash.get(_SERVER, None)
    if server is None or "eum_social" not in getattr(item, "fixturenames", ()):
        return
    if not item.config.getini("eum_social_reset") or item.get_closest_marker(NO_RESET_MARKER):
        return
    server.reset()
    server.restore_configuration()
