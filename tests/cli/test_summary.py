"""The summary of a finished run and the failed tasks' last error lines (pure text)."""

from __future__ import annotations

from actors.cli.summary import failure_lines, run_status_word, summary_lines
from messages.orchestrator import ErrorInfo
from messages.values import RunStatus
from tests.cli.helpers import instance, outcome, result


def test_summary_of_a_done_run() -> None:
    lines = summary_lines(outcome(result(done=(1, 2), previously=1)))
    assert lines[0] == "workflow 7, run 9: D (done) after 12.5 s"
    assert "2 total, 2 done, 0 failed, 1 already done before this run" in lines[1]
    assert lines[-1] == "  task logs: /logs/run-1"


def test_summary_of_an_interrupted_run() -> None:
    res = result(RunStatus.STOPPED, error=ErrorInfo("RunStopped", "interrupted by the user"))
    text = "\n".join(summary_lines(outcome(res, interrupted=True)))
    assert "S (stopped)" in text and "interrupted" in text
    assert "error: RunStopped: interrupted by the user" in text


def test_run_status_word() -> None:
    assert run_status_word(RunStatus.TERMINATED) == "T (terminated)"
    assert run_status_word("E") == "E (error)"
    assert run_status_word("?") == "?"


def test_failure_lines_show_the_newest_instance_and_its_last_lines() -> None:
    long_error = "\n".join(f"line {i}" for i in range(30))
    rows = [instance(1, 2, "bad", 1, error="first attempt"),
            instance(5, 2, "bad", 2, error=long_error, exit_code=3, stderr="/l/bad.5.err"),
            instance(3, 1, "ok", 1, status="D", error=None, exit_code=0)]
    lines = failure_lines(rows, [2], {2: "bad"}, max_lines=4)
    assert lines[0] == "failed 'bad' (task 2): attempt 2, instance 5 ended E, exit code 3"
    assert lines[1:5] == ["  | line 26", "  | line 27", "  | line 28", "  | line 29"]
    assert lines[5] == "  stderr: /l/bad.5.err"
    assert "first attempt" not in "\n".join(lines)


def test_failure_lines_without_instances_or_messages_and_many_tasks() -> None:
    rows = [instance(1, 4, "quiet", 1, status="F", error=None, exit_code=None)]
    lines = failure_lines(rows, [3, 4, 5], {}, max_tasks=2)
    assert lines[0] == "failed task 3: the server has no task instance for it"
    assert lines[1] == "failed 'quiet' (task 4): attempt 1, instance 1 ended F"
    assert lines[2] == "  (no error message recorded)"
    assert lines[3].startswith("... and 1 more failed task(s)")
