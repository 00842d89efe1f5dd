"""The pytest plugin, in pytest sessions of their own (pytester, in a subprocess): one server per
session, reset between tests, the opt-out marker and ini setting, the options, and no process
left behind by a failing or interrupted session."""

from __future__ import annotations

from conftest import pids_in, process_gone

ISOLATION = """
import pytest

PIDS = set()

def test_a_changes_things(eum_social):
    eum_social.inbound.text("hi", from_="+14255550150")
    eum_social.faults.add(operation="TagResource", error={"type": "InvalidParametersException"})
    eum_social.sns.subscribe("arn:aws:sns:us-east-1:809904170947:base-wecare-digital",
                             "http://127.0.0.1:9/hook")
    eum_social.clock.freeze()
    PIDS.add(eum_social.pid)

def test_b_starts_from_the_seed(eum_social):
    assert eum_social.events()["events"] == []
    assert eum_social.faults.list()["rules"] == []
    assert eum_social.sns.subscriptions()["subscriptions"] == []
    assert eum_social.clock.get()["frozen"] is False
    eum_social.inbound.text("again", from_="+14255550150")
    PIDS.add(eum_social.pid)

def test_c_without_the_emulator():
    pass

@pytest.mark.eum_social_no_reset
def test_d_keeps_what_b_left(eum_social):
    [event] = eum_social.events(kind="inbound")["events"]
    PIDS.add(eum_social.pid)

def test_e_one_server_for_the_session(eum_social):
    PIDS.add(eum_social.pid)
    assert len(PIDS) == 1
"""


def test_one_server_per_session_reset_before_each_test(pytester):
    pytester.makepyfile(test_isolation=ISOLATION)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)


def test_reset_can_be_turned_off_in_the_ini_file(pytester):
    pytester.makeini("[pytest]\neum_social_reset = false\n")
    pytester.makepyfile(
        test_no_reset="""
def test_a(eum_social):
    eum_social.inbound.text("hi", from_="+14255550150")

def test_b(eum_social):
    assert len(eum_social.events(kind="inbound")["events"]) == 1
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)


def test_the_client_fixture(pytester):
    pytester.makepyfile(
        test_client="""
def test_lists_the_seed(eum_social_client):
    linked = eum_social_client.list_linked_whatsapp_business_accounts()["linkedAccounts"]
    assert len(linked) == 2
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


DETERMINISTIC = """
def test_deterministic(eum_social):
    clock = eum_social.clock.get()
    assert clock["frozen"] is True
    assert clock["now"] == "2026-01-01T00:00:00.000Z"
    assert eum_social.request("GET", "/quotas")["enabled"] is False
"""


def test_extra_flags_from_the_command_line(pytester):
    pytester.makepyfile(test_flags=DETERMINISTIC)
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "--eum-social-args=--deterministic",
        "--eum-social-args",
        "--quotas off",
    )
    result.assert_outcomes(passed=1)


def test_extra_flags_from_the_ini_file(pytester):
    pytester.makeini("[pytest]\neum_social_args = --deterministic --quotas off\n")
    pytester.makepyfile(test_flags=DETERMINISTIC)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_refused_flags_fail_the_tests_with_the_binary_s_message(pytester):
    pytester.makepyfile(test_refused="def test_x(eum_social):\n    pass\n")
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--eum-social-args=--no-such-flag"
    )
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*StartupError*", "*unexpected argument '--no-such-flag'*"])


def test_a_failing_test_leaves_no_process(pytester):
    pytester.makepyfile(
        test_fails="""
def test_fails(eum_social):
    print("PID", eum_social.pid)
    assert False, "the application is broken"
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    result.assert_outcomes(failed=1)
    [pid] = pids_in(result.stdout.str())
    assert process_gone(pid)


def test_an_interrupted_session_leaves_no_process(pytester):
    pytester.makepyfile(
        test_interrupted="""
def test_interrupted(eum_social):
    print("PID", eum_social.pid)
    raise KeyboardInterrupt
"""
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-s")
    assert result.ret == 2  # pytest's "interrupted"
    [pid] = pids_in(result.stdout.str())
    assert process_gone(pid)
