"""End to end through real processes: DAG shapes, scale, and thread mode against process mode.

Each test runs ``actors.app.run_workflow`` (server, distributor and the four actors as real
processes) and checks the result against the server's own records and the commands' outputs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from actors.workflow import Task, WorkflowDefinition
from messages.orchestrator import Progress, RunFinished, TasksChanged
from messages.values import RunStatus, TaskStatus
from tests.swarm.helpers import (
    ACTIVE,
    Run,
    instance_counts,
    run_and_wait,
    sim_args,
    statuses_by_name,
    workflow,
)

pytestmark = pytest.mark.process


def _done_order(run: Run, names: dict[int, str]) -> list[str]:
    """Task names in the order the orchestrator published their D."""
    order = []
    for event in run.of_type(TasksChanged):
        order += [names[t] for t, s in event.changes if s is TaskStatus.DONE]
    return order


@pytest.mark.timeout(120)
def test_diamond_through_the_embedded_server(tmp_path: Path) -> None:
    """split -> left, right -> join with real commands; no server_url: the embedded server."""
    definition = workflow("diamond", tmp_path, [
        Task("split", "seq 1 20 > numbers.txt"),
        Task("left", "awk '$1 % 2 == 0' numbers.txt > even.txt", upstream=["split"]),
        Task("right", "awk '$1 % 2 == 1' numbers.txt > odd.txt", upstream=["split"]),
        Task("join", "cat even.txt odd.txt | sort -n > joined.txt", upstream=["left", "right"]),
    ])
    outcome, run = run_and_wait(definition, tmp_path / "state", backend="local")

    assert outcome.exit_code == 0, outcome.result.error
    result = outcome.result
    assert result.final_status is RunStatus.DONE and result.error is None
    assert (result.total_tasks, result.done_count, result.failed_count) == (4, 4, 0)
    assert set(statuses_by_name(outcome).values()) == {TaskStatus.DONE}
    assert (tmp_path / "joined.txt").read_text().split() == [str(i) for i in range(1, 21)]
    order = _done_order(run, dict(outcome.task_names))
    assert order[0] == "split" and order[-1] == "join" and sorted(order) == sorted(
        ["split", "left", "right", "join"])
    # the embedded server is gone now: count instances by their log files and Q events
    logs = sorted(p.name for p in (tmp_path / "state" / "logs").rglob("*.out"))
    assert len(logs) == 4 and {name.split(".")[0] for name in logs} == {
        "split", "left", "right", "join"}, logs
    queued = [t for e in run.of_type(TasksChanged) for t, s in e.changes
              if s is TaskStatus.QUEUED]
    assert sorted(queued) == sorted(outcome.task_names)
    assert len(run.of_type(RunFinished)) == 1
    assert set(outcome.actors) >= {"server", "distributor", "orchestrator", "heartbeat",
                                   "synchronizer", "scheduler"}


@pytest.mark.timeout(120)
def test_fan_out_fan_in_keeps_the_array_limit(tmp_path: Path, server_url: str) -> None:
    """prepare -> 8 workers (array limit 3) -> collect; the workers' outputs are all collected."""
    workers = [Task(f"work-{i}", f"sleep 0.2 && echo {i * i} > part-{i}.txt", array="work",
                    upstream=["prepare"]) for i in range(1, 9)]
    definition = workflow("fan", tmp_path, [
        Task("prepare", "rm -f part-*.txt"),
        *workers,
        Task("collect", "cat part-*.txt | awk '{s += $1} END {print s}' > sum.txt",
             upstream=[w.name for w in workers]),
    ], max_concurrently_running=6, arrays={"work": 3})
    outcome, run = run_and_wait(definition, tmp_path / "state", server_url=server_url,
                                backend="local")

    assert outcome.exit_code == 0, outcome.result.error
    assert outcome.result.done_count == 10
    assert (tmp_path / "sum.txt").read_text().strip() == str(sum(i * i for i in range(1, 9)))
    names = dict(outcome.task_names)
    active: dict[str, TaskStatus] = {}
    most = 0
    for event in run.of_type(TasksChanged):
        for task_id, status in event.changes:
            if names[task_id].startswith("work-"):
                active[names[task_id]] = status
        most = max(most, sum(1 for s in active.values() if s in ACTIVE))
    assert 1 <= most <= 3
    order = _done_order(run, names)
    assert order[0] == "prepare" and order[-1] == "collect"


def _layered(n_tasks: int) -> list[Task]:
    """1 root, two layers of (n-2)/2 tasks (each of the second on two of the first), 1 sink."""
    width = (n_tasks - 2) // 2
    root = Task("root", "true")
    first = [Task(f"a{i}", "true", upstream=[root]) for i in range(width)]
    second = [Task(f"b{i}", "true", upstream=[first[i], first[(i + 1) % width]])
              for i in range(width)]
    sink = Task("sink", "true", upstream=second)
    return [root, *first, *second, sink]


@pytest.mark.timeout(240)
def test_two_thousand_tasks_with_the_sim_backend(tmp_path: Path, server_url: str) -> None:
    definition = workflow("big", tmp_path, _layered(2000), max_concurrently_running=10_000)
    outcome, run = run_and_wait(definition, tmp_path / "state", server_url=server_url,
                                distributor_args=sim_args("0"), timeout=200)

    result = outcome.result
    assert outcome.exit_code == 0, result.error
    assert (result.total_tasks, result.done_count, result.failed_count) == (2000, 2000, 0)
    assert len(result.done_task_ids) == 2000
    counts = instance_counts(outcome.server_url, result.workflow_id)
    assert len(counts) == 2000 and set(counts.values()) == {1}
    order = _done_order(run, dict(outcome.task_names))
    assert order[0] == "root" and order[-1] == "sink" and len(order) == 2000
    last = run.of_type(Progress)[-1]
    assert (last.total, last.done) == (2000, 2000)


def _mixed(directory: Path) -> WorkflowDefinition:
    return workflow("mixed", directory, [
        Task("ok-1", "true"),
        Task("ok-2", "echo two > two.txt", upstream=["ok-1"]),
        Task("bad", "echo 'bad on purpose' >&2; exit 3", max_attempts=1),
        Task("after-bad", "touch after-bad.ran", upstream=["bad"]),
        Task("ok-3", "true", upstream=["ok-1"]),
    ])


@pytest.mark.timeout(180)
def test_thread_mode_gives_the_same_result_as_process_mode(tmp_path: Path,
                                                            server_url: str) -> None:
    """A run that ends E (D and F, nothing pending) reads the same in both modes."""
    outcomes = {}
    for mode in ("process", "thread"):
        directory = tmp_path / mode
        directory.mkdir()
        definition = _mixed(directory)
        outcomes[mode], _ = run_and_wait(definition, directory / "state", server_url=server_url,
                                         backend="local", mode=mode)
    for mode, outcome in outcomes.items():
        result = outcome.result
        assert result.final_status is RunStatus.ERROR, mode
        assert result.error is not None and result.error.type == "TasksFailed", mode
        assert outcome.exit_code == 1
        assert {outcome.task_names[t] for t in result.failed_task_ids} == {"bad"}
        assert {outcome.task_names[t] for t in result.done_task_ids} == {"ok-1", "ok-2", "ok-3"}
        assert not (tmp_path / mode / "after-bad.ran").exists()
    process, thread = outcomes["process"], outcomes["thread"]
    assert statuses_by_name(process) == statuses_by_name(thread)
    assert statuses_by_name(thread)["after-bad"] is TaskStatus.REGISTERING
    fields = ("total_tasks", "done_count", "failed_count", "num_previously_complete")
    assert [getattr(process.result, f) for f in fields] == [getattr(thread.result, f)
                                                             for f in fields]
    assert process.result.error is not None and thread.result.error is not None
    assert process.result.error.type == thread.result.error.type
    for outcome in (process, thread):  # the message names the failed task by its id
        bad = next(t for t, n in outcome.task_names.items() if n == "bad")
        error = outcome.result.error
        assert error is not None
        assert error.message == f"1 task(s) failed: {bad}; 1 task(s) can never run"
    assert set(thread.actors) >= {"orchestrator", "heartbeat", "synchronizer", "scheduler"}
    pids = {thread.actors[a] for a in ("orchestrator", "heartbeat", "synchronizer", "scheduler")}
    assert len(pids) == 1  # thread mode: the four actors live in the root process
    assert len({process.actors[a] for a in ("orchestrator", "heartbeat", "synchronizer",
                                            "scheduler")}) == 4
