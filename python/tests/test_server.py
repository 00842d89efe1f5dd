"""EumSocial as a process: start on a free port, stop, no process left behind whatever happens,
clear errors when the binary refuses its flags, several servers at once."""

from __future__ import annotations

import importlib.metadata
import os
import re
import stat
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

from conftest import CUSTOMER, pids_in, process_gone, run_python
from eum_social import BINARY_ENV, EumSocial, EumSocialError, StartupError, binary_path


def test_starts_on_a_free_loopback_port_and_stops():
    with EumSocial() as server:
        pid = server.pid
        assert pid is not None and server.running
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", server.endpoint_url)
        assert server.endpoint_url.endswith(f":{server.port}")
        assert server.health()["status"] == "ok"
        assert any(line.startswith("READY http://127.0.0.1:") for line in server.log)
    assert not server.running
    assert server.returncode == 0  # SIGTERM: a graceful stop
    assert process_gone(pid)
    with pytest.raises(EumSocialError, match="unreachable"):
        server.health()
    server.stop()  # idempotent


def test_the_version_is_the_workspace_version():
    with EumSocial() as server:
        assert server.health()["version"] == importlib.metadata.version("eum-social")


@pytest.mark.skipif(bool(os.environ.get(BINARY_ENV)), reason=f"{BINARY_ENV} picks the binary")
def test_the_binary_is_the_one_the_wheel_installed():
    path = Path(binary_path())
    assert path.parent == Path(sysconfig.get_path("scripts")), path
    assert path.name == "eum-social"


def test_two_servers_at_once_are_independent():
    with EumSocial() as a, EumSocial() as b:
        assert a.port != b.port
        a.inbound.text("only on a", from_=CUSTOMER)
        assert len(a.events(kind="inbound")["events"]) == 1
        assert b.events(kind="inbound")["events"] == []
        assert b.health()["status"] == "ok"
    assert process_gone(a.pid) and process_gone(b.pid)


def test_flags_the_binary_refuses_raise_with_its_stderr():
    with pytest.raises(StartupError) as refused:
        EumSocial(status_delays=(5, 1, 2))
    assert refused.value.returncode not in (None, 0)
    assert "--status-delays" in refused.value.command
    assert "status" in refused.value.stderr.lower()
    assert refused.value.stderr.strip() in str(refused.value)

    with pytest.raises(StartupError, match="unexpected argument '--no-such-flag'") as unknown:
        EumSocial("--no-such-flag")
    assert unknown.value.returncode == 2


def test_a_bad_seed_given_as_a_dict_names_the_failing_path():
    with pytest.raises(StartupError) as bad:
        EumSocial(seed={"account": "809904170947", "region": "us-east-1", "wabas": "none"})
    assert bad.value.returncode == 2
    assert "wabas" in bad.value.stderr


def test_a_missing_binary_is_a_startup_error():
    with pytest.raises(StartupError, match="cannot run /nonexistent/eum-social"):
        EumSocial(binary="/nonexistent/eum-social")


def fake_binary(tmp_path: Path, script: str) -> str:
    path = tmp_path / "fake-eum-social"
    path.write_text("#!/bin/sh\n" + textwrap.dedent(script))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_a_binary_that_never_gets_ready_times_out_and_is_killed(tmp_path):
    binary = fake_binary(tmp_path, 'echo "warming up" >&2\nexec sleep 60\n')
    server = EumSocial(binary=binary, start=False, startup_timeout=1, stop_timeout=2)
    with pytest.raises(StartupError, match="no READY line within 1 s") as slow:
        server.start()
    assert "warming up" in slow.value.stderr
    assert slow.value.returncode is None
    assert process_gone(server.pid)


def test_a_binary_that_closes_stderr_is_stopped(tmp_path):
    binary = fake_binary(tmp_path, "exec 2>&-\nexec sleep 60\n")
    server = EumSocial(binary=binary, start=False, startup_timeout=10, stop_timeout=1)
    with pytest.raises(StartupError, match="closed its stderr"):
        server.start()
    assert process_gone(server.pid)


def test_flags_in_snake_case(tmp_path):
    rule = {"operation": "TagResource", "error": {"type": "InvalidParametersException"}}
    with EumSocial(
        deterministic=True,
        deterministic_seed=7,
        quotas="off",
        faults=[rule],
        status_delays=[100, 200, 300],
        data_dir=tmp_path / "data",
        log="warn",
    ) as server:
        clock = server.clock.get()
        assert clock["frozen"] is True
        assert clock["now"] == "2026-01-01T00:00:00.000Z"
        assert server.request("GET", "/quotas")["enabled"] is False
        [loaded] = server.faults.list()["rules"]
        assert loaded["operation"] == "TagResource"
        assert str(tmp_path / "data") in server.health()["s3"]
        assert not any(" INFO " in line for line in server.log)  # --log warn


def test_state_dir_keeps_the_state_across_restarts(tmp_path):
    with EumSocial(state_dir=tmp_path) as first:
        wamid = first.inbound.text("remember me", from_=CUSTOMER)["wamid"]
    with EumSocial(state_dir=tmp_path) as second:
        assert [e["wamid"] for e in second.events(kind="inbound")["events"]] == [wamid]


def test_keyboard_interrupt_in_a_with_block_leaves_no_process():
    result = run_python(
        "from eum_social import EumSocial\n"
        "with EumSocial() as s:\n"
        "    print('PID', s.pid, flush=True)\n"
        "    raise KeyboardInterrupt\n"
    )
    assert "KeyboardInterrupt" in result.stderr
    [pid] = pids_in(result.stdout)
    assert process_gone(pid)


def test_a_server_never_stopped_is_stopped_at_exit():
    result = run_python(
        "from eum_social import EumSocial\n"
        "s = EumSocial()\n"
        "print('PID', s.pid, flush=True)\n"
        "raise SystemExit(3)\n"
    )
    assert result.returncode == 3, result.stderr
    [pid] = pids_in(result.stdout)
    assert process_gone(pid)


def test_a_forgotten_server_is_stopped_when_collected():
    result = run_python(
        "import gc, os\n"
        "from eum_social import EumSocial\n"
        "s = EumSocial()\n"
        "pid = s.pid\n"
        "del s\n"
        "gc.collect()\n"
        "try:\n"
        "    os.kill(pid, 0)\n"
        "    print('ALIVE')\n"
        "except ProcessLookupError:\n"
        "    print('GONE')\n"
    )
    assert result.stdout.strip() == "GONE", result.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PDEATHSIG is Linux's")
def test_a_killed_parent_takes_its_server_along():
    result = run_python(
        "import os, signal\n"
        "from eum_social import EumSocial\n"
        "s = EumSocial()\n"
        "print('PID', s.pid, flush=True)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    assert result.returncode == -9
    [pid] = pids_in(result.stdout)
    assert process_gone(pid, timeout=15)
