"""Readiness of external distributors (``actors.tree``): a line, a run status, or a delay.

Pure parts with a fake clock; then the supervisor starting real commands (``sh``) for each way,
including a line without its newline (Jobmon's distributor writes ``ALIVE`` and nothing else)
and the clear errors when readiness never comes. No Jobmon needed.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from actors.errors import ConfigError, StartError
from actors.runtime import Node, Supervisor
from actors.tree import (
    DEFAULT_READY_STATUSES,
    DelayProbe,
    DistributorNotReady,
    Readiness,
    RunStatusProbe,
    external_distributor_spec,
)
from messages.values import RunStatus

B, O, R, E = RunStatus.BOUND, RunStatus.LAUNCHED, RunStatus.RUNNING, RunStatus.ERROR


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# -- choosing the way ----------------------------------------------------------------------

def test_a_regex_on_a_stream_is_the_line_way() -> None:
    ready = Readiness.from_options("^ALIVE", "stderr", 30)
    assert (ready.kind, ready.pattern, ready.stream, ready.timeout) == ("line", "^ALIVE",
                                                                        "stderr", 30.0)


@pytest.mark.parametrize("stream", ["stdout", "stderr"])
def test_no_regex_is_the_status_way_with_launched_or_running(stream: str) -> None:
    ready = Readiness.from_options(None, stream, 60)
    assert ready.kind == "status" and ready.statuses == {O, R}
    assert DEFAULT_READY_STATUSES == "OR"


def test_status_and_delay_ways() -> None:
    assert Readiness.from_options("O", "status", 5).statuses == {O}
    assert Readiness.from_options("O, R", "status", 5).statuses == {O, R}
    assert Readiness.from_options(None, "status", 5).statuses == {O, R}
    delay = Readiness.from_options(None, "delay", 2.5)
    assert (delay.kind, delay.timeout) == ("delay", 2.5)


@pytest.mark.parametrize("ready,stream,timeout,named", [
    ("x", "stdin", 5, "--distributor-ready-stream"),
    ("(unclosed", "stderr", 5, "--distributor-ready"),
    ("OQ", "status", 5, "'Q'"),
    (",", "status", 5, "no run status letter"),
    ("ALIVE", "delay", 5, "takes no --distributor-ready"),
    (None, "stderr", 0, "--distributor-ready-timeout"),
    (None, "stderr", float("nan"), "--distributor-ready-timeout"),
])
def test_bad_readiness_options_name_the_option(ready: str | None, stream: str, timeout: float,
                                               named: str) -> None:
    with pytest.raises(ConfigError, match=named.replace("(", r"\(")):
        Readiness.from_options(ready, stream, timeout)


# -- the probes ------------------------------------------------------------------------------

def test_status_probe_polls_at_its_interval_until_the_run_is_launched() -> None:
    clock = FakeClock()
    answers = iter([B, None, O])
    reads: list[float] = []

    def read() -> RunStatus | None:
        reads.append(clock.now)
        return next(answers)

    probe = RunStatusProbe(4, frozenset({O, R}), 10, read, clock=clock, interval=0.5)
    assert probe() is False            # B
    clock.now += 0.1
    assert probe() is False            # too soon: no read
    clock.now += 0.5
    assert probe() is False            # the server did not answer: keep waiting
    clock.now += 0.5
    assert probe() is True             # O
    assert reads == [100.0, 100.6, 101.1]
    assert probe.last is O


def test_status_probe_names_the_run_and_what_it_saw_after_its_timeout() -> None:
    clock = FakeClock()
    probe = RunStatusProbe(4, frozenset({O, R}), 3, lambda: B, clock=clock, interval=0.5)
    assert probe() is False
    clock.now += 3.0
    with pytest.raises(DistributorNotReady) as info:
        probe()
    assert isinstance(info.value, StartError)
    assert str(info.value) == ("the distributor did not bring workflow run 4 to O or R within "
                               "3 s (the run is B)")


def test_status_probe_gives_up_at_once_on_a_run_that_cannot_launch() -> None:
    probe = RunStatusProbe(9, frozenset({O}), 60, lambda: E, clock=FakeClock())
    with pytest.raises(DistributorNotReady, match="workflow run 9 is E .*cannot bring it to O"):
        probe()


def test_status_probe_says_when_the_server_never_answered() -> None:
    clock = FakeClock()
    probe = RunStatusProbe(4, frozenset({O}), 1, lambda: None, clock=clock, interval=0.5)
    probe()
    clock.now += 1.0
    with pytest.raises(DistributorNotReady, match="unknown: the server did not answer"):
        probe()


def test_delay_probe_counts_from_its_first_call() -> None:
    clock = FakeClock()
    probe = DelayProbe(2.0, clock)
    assert probe() is False
    clock.now += 1.9
    assert probe() is False
    clock.now += 0.1
    assert probe() is True


# -- the spec --------------------------------------------------------------------------------

def test_spec_substitutes_the_run_and_server() -> None:
    spec = external_distributor_spec("dist --run {workflow_run_id} --url {server_url}",
                                     "http://h:1", 7, ready="UP", stream="stdout", timeout=9,
                                     token="t")
    assert spec.argv == ("dist", "--run", "7", "--url", "http://h:1")
    assert (spec.ready_pattern, spec.ready_stream, spec.start_timeout) == ("UP", "stdout", 9)
    assert spec.env == {"ACTORSWARM_TOKEN": "t"} and spec.ready_probe is None


def test_spec_of_the_status_way_needs_a_status_reader() -> None:
    with pytest.raises(ConfigError, match="read the run's status"):
        external_distributor_spec("d {workflow_run_id}", "http://h:1", 7, ready=None,
                                  stream="stdout", timeout=9, token=None)
    spec = external_distributor_spec("d {workflow_run_id}", "http://h:1", 7, ready=None,
                                     stream="stdout", timeout=9, token=None,
                                     read_status=lambda: O)
    assert isinstance(spec.ready_probe, RunStatusProbe) and spec.ready_pattern is None
    assert spec.start_timeout > 9  # the probe's own, clearer, error comes first


def test_spec_rejects_bad_templates() -> None:
    with pytest.raises(ConfigError, match="cannot substitute"):
        external_distributor_spec("d {run}", "http://h:1", 7, ready="x", stream="stdout",
                                  timeout=9, token=None)
    with pytest.raises(ConfigError, match="empty"):
        external_distributor_spec("   ", "http://h:1", 7, ready="x", stream="stdout",
                                  timeout=9, token=None)


# -- real commands under the supervisor ---------------------------------------------------------

@pytest.fixture
def node() -> Iterator[Node]:
    with tempfile.TemporaryDirectory(prefix="ready-") as rundir:
        node = Node(rundir, name="root")
        try:
            yield node
        finally:
            node.close()


def _start(node: Node, tmp_path: Path, command: str, **options: object) -> Supervisor:
    spec = external_distributor_spec(command, "http://127.0.0.1:9", 3, token=None,
                                     **options)  # type: ignore[arg-type]
    sup = Supervisor(node, [], log_dir=str(tmp_path))
    sup.start()
    try:
        sup.add_child(spec)
    except BaseException:
        sup.stop()
        raise
    return sup


@pytest.mark.process
@pytest.mark.timeout(60)
def test_a_ready_word_without_newline_on_stderr_is_enough(node: Node, tmp_path: Path) -> None:
    sup = _start(node, tmp_path, "sh -c 'printf ALIVE >&2; exec sleep 60'", ready="ALIVE",
                 stream="stderr", timeout=20)
    try:
        assert sup.ready_line("distributor") == "ALIVE"
    finally:
        sup.stop()


@pytest.mark.process
@pytest.mark.timeout(60)
def test_no_ready_line_is_a_clear_start_error(node: Node, tmp_path: Path) -> None:
    with pytest.raises(StartError) as info:
        _start(node, tmp_path, "sh -c 'echo starting >&2; exec sleep 60'", ready="ALIVE",
               stream="stderr", timeout=1.5)
    text = str(info.value)
    assert "'ALIVE' on its stderr" in text and "within 1.5 s" in text and "starting" in text


@pytest.mark.process
@pytest.mark.timeout(60)
def test_the_status_way_waits_for_the_run_and_stops_a_hopeless_command(
        node: Node, tmp_path: Path) -> None:
    answers = iter([B, B, O])
    sup = _start(node, tmp_path, "sh -c 'exec sleep 60'", ready=None, stream="stdout",
                 timeout=20, read_status=lambda: next(answers))
    try:
        assert sup.pid("distributor") is not None
    finally:
        sup.stop()
    with pytest.raises(DistributorNotReady, match="is E"):
        _start(node, tmp_path, "sh -c 'exec sleep 60'", ready=None, stream="stdout",
               timeout=20, read_status=lambda: E)
    # (the autouse fixture fails the test if the sleeping command was left behind)


@pytest.mark.process
@pytest.mark.timeout(60)
def test_the_delay_way_needs_the_command_to_stay_up(node: Node, tmp_path: Path) -> None:
    sup = _start(node, tmp_path, "sh -c 'exec sleep 60'", ready=None, stream="delay",
                 timeout=0.5)
    sup.stop()
    with pytest.raises(StartError, match="exit code"):
        _start(node, tmp_path, "sh -c 'exit 3'", ready=None, stream="delay", timeout=2)
