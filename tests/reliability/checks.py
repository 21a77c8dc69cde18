"""What a finished workflow must look like in the server's database (read-only SQLite reads).

``ledger(db, workflow_id)`` collects, per task, its status, max_attempts and instances; the
``problems`` of a ledger are every broken promise, as sentences:

- a task queued twice for one attempt (two instances with the same task, run and attempt);
- a task with more instances in one run than its max_attempts allow;
- a task not D, or a D task without exactly one D instance;
- (``rerun_after``) a task that was D before a crash and got an instance after it.
"""

from __future__ import annotations

import collections
from pathlib import Path

import attrs

from tests.reliability.servers import db_rows

__all__ = ["Instance", "Ledger", "TaskLine", "ledger", "problems"]


@attrs.frozen
class Instance:
    task_instance_id: int
    run_id: int
    attempt: int
    status: str


@attrs.frozen
class TaskLine:
    task_id: int
    name: str
    status: str
    max_attempts: int
    instances: tuple[Instance, ...]


Ledger = dict[int, TaskLine]


def ledger(db: Path, workflow_id: int) -> Ledger:
    """Every task of the workflow with its instances, as the database holds them."""
    tasks = db_rows(db, "SELECT id, name, status, max_attempts FROM task WHERE workflow_id = ?",
                    (workflow_id,))
    rows = db_rows(db, "SELECT ti.task_id, ti.id, ti.workflow_run_id, ti.attempt, ti.status "
                       "FROM task_instance ti JOIN task t ON t.id = ti.task_id "
                       "WHERE t.workflow_id = ? ORDER BY ti.id", (workflow_id,))
    by_task: dict[int, list[Instance]] = collections.defaultdict(list)
    for task_id, ti, run, attempt, status in rows:
        by_task[task_id].append(Instance(ti, run, attempt, status))
    return {t: TaskLine(t, name, status, max_attempts, tuple(by_task.get(t, ())))
            for t, name, status, max_attempts in tasks}


def problems(lines: Ledger, *, all_done: bool = True,
             done_before: frozenset[int] = frozenset(), rerun_after: int = 0) -> list[str]:
    """Every broken promise of ``lines`` (empty when all is well).

    ``done_before``/``rerun_after``: tasks D before a crash must have no instance with an id
    above ``rerun_after`` (the largest instance id at the crash).
    """
    out: list[str] = []
    for line in lines.values():
        keys = collections.Counter((i.run_id, i.attempt) for i in line.instances)
        twice = sorted(k for k, n in keys.items() if n > 1)
        if twice:
            out.append(f"task {line.name} was queued twice for (run, attempt) {twice}")
        per_run = collections.Counter(i.run_id for i in line.instances)
        over = {run: n for run, n in per_run.items() if n > line.max_attempts}
        if over:
            out.append(f"task {line.name} has {over} instances per run, over its "
                       f"max_attempts {line.max_attempts}")
        done = [i for i in line.instances if i.status == "D"]
        if all_done and line.status != "D":
            out.append(f"task {line.name} ended {line.status}, not D")
        if line.status == "D" and len(done) != 1:
            out.append(f"task {line.name} is D with {len(done)} D instances")
        if line.task_id in done_before:
            again = [i.task_instance_id for i in line.instances
                     if i.task_instance_id > rerun_after]
            if again:
                out.append(f"task {line.name} was D before the crash and ran again: "
                           f"instances {again}")
    return out
