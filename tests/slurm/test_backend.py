"""``SlurmBackend`` against an in-memory stand-in for Slurm's commands (unit tests).

``FakeSlurm`` answers the commands ``SlurmCli`` runs (sbatch, squeue, scancel, scontrol, sinfo,
sacct) from a dict of job states the test changes; the clock is fake. The real commands are
exercised by ``test_e2e.py`` on a real cluster.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from actors.distributor.backend import DistributorId, LaunchRequest, Reporter
from actors.distributor.slurm import SlurmBackend, SlurmCli, SlurmConfig
from actors.distributor.slurm.errors import SlurmCommandError, SlurmError
from actors.worker import exitcodes
from messages.values import TaskInstanceId, TaskInstanceStatus

S = TaskInstanceStatus


class FakeSlurm(SlurmCli):
    """Slurm's commands answered from ``jobs``: did → (state, raw exit status)."""

    def __init__(self, jobcomp: Path | None = None, *, accounting: bool = False) -> None:
        super().__init__()
        self.jobs: dict[str, tuple[str, int]] = {}
        self.submitted: list[tuple[list[str], str, dict[str, str]]] = []
        self.cancelled: list[str] = []
        self.sacct_records: dict[str, str] = {}
        self.fail: set[str] = set()
        self.jobcomp = jobcomp
        self.accounting = accounting
        self.next_job = 100

    def run(self, argv: Sequence[str], *, stdin: str | None = None,
            env: Mapping[str, str] | None = None) -> str:
        self.calls[argv[0]] = self.calls.get(argv[0], 0) + 1
        name = argv[0]
        if name in self.fail:
            raise SlurmCommandError(argv, "exit code 1", returncode=1, stderr="down")
        if name == "scontrol" and argv[-1] == "config":
            acct = "accounting_storage/slurmdbd" if self.accounting else "accounting_storage/none"
            comp = f"JobCompType = jobcomp/filetxt\nJobCompLoc = {self.jobcomp}\n" \
                if self.jobcomp else "JobCompType = jobcomp/none\n"
            return f"MaxArraySize = 3\nAccountingStorageType = {acct}\n{comp}"
        if name == "scontrol":
            return "PartitionName=debug MaxTime=1-00:00:00 Nodes=n1 State=UP\n"
        if name == "sinfo":
            return "n1|debug|4|8192\n"
        if name == "sbatch":
            job = str(self.next_job)
            self.next_job += 1
            array = next(o for o in argv if o.startswith("--array="))
            count = int(array.split("=", 1)[1].split("-")[1].split("%")[0]) + 1
            for i in range(count):
                self.jobs[f"{job}_{i}"] = ("PENDING", 0)
            self.submitted.append((list(argv), stdin or "", dict(env or {})))
            return f"{job}\n"
        if name == "squeue":
            return "".join(f"{did}|{state}|None|{raw}|\n"
                           for did, (state, raw) in self.jobs.items())
        if name == "scancel":
            for did in argv[1:]:
                self.cancelled.append(did)
                if did in self.jobs and self.jobs[did][0] in ("PENDING", "RUNNING"):
                    self.jobs[did] = ("CANCELLED", 15)
            return ""
        if name == "sacct":
            if not self.accounting:
                raise SlurmCommandError(argv, "exit code 1", returncode=1,
                                        stderr="Slurm accounting storage is disabled")
            return "".join(self.sacct_records.values())
        raise AssertionError(f"unexpected command {argv}")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _request(ti: int, array: int = 1, memory: float = 0.5) -> LaunchRequest:
    return LaunchRequest(task_instance_id=TaskInstanceId(ti), task_id=ti, array_id=array,
                         name=f"t{ti}", command="true", attempt=1, queue_name="debug",
                         memory_gib=memory, cores=1, runtime_s=30)


def _backend(tmp_path: Path, fake: FakeSlurm, clock: Clock,
             limits: dict[int, int] | None = None, **kw: object) -> SlurmBackend:
    config = SlurmConfig(server="http://10.0.0.1:5000", workflow_run_id=9,
                         state_dir=tmp_path, working_dir=tmp_path, workflow_id=2,
                         token="secret", poll_interval=2.0, **kw)  # type: ignore[arg-type]
    return SlurmBackend(config, cli=fake, clock=clock,
                        array_limit=lambda aid: (limits or {}).get(aid))


def test_queues_come_from_the_partitions(tmp_path: Path) -> None:
    backend = _backend(tmp_path, FakeSlurm(), Clock())
    [(name, limits)] = backend.queues().items()
    assert name == "debug" and limits.max_cores == 4 and limits.max_memory == 8.0
    assert limits.max_runtime == 86400 and backend.max_array == 3


def test_launch_batches_sbatch_per_array_and_resources(tmp_path: Path) -> None:
    fake, clock = FakeSlurm(), Clock()
    backend = _backend(tmp_path, fake, clock, limits={1: 2})
    batch = [_request(1), _request(2), _request(3, array=2), _request(4), _request(5),
             _request(6, memory=2.0)]
    ids = backend.launch(batch)
    # array 1 at 0.5 GiB: four instances, max array size 3 -> two job arrays
    assert ids == ["100_0", "100_1", "102_0", "100_2", "101_0", "103_0"]
    assert fake.calls["sbatch"] == 4
    options, script, env = fake.submitted[0]
    assert "--array=0-2%2" in options and "--mem=512M" in options and "--time=1" in options
    assert env["ACTORSWARM_TOKEN"] == "secret" and "secret" not in script
    assert backend.capacity() == 10_000 - 6


def test_a_failed_sbatch_leaves_its_instances_without_id(tmp_path: Path) -> None:
    fake = FakeSlurm()
    backend = _backend(tmp_path, fake, Clock())
    fake.fail.add("sbatch")
    assert backend.launch([_request(1), _request(2)]) == [None, None]
    assert backend.capacity() == 10_000


def test_poll_runs_one_squeue_per_interval_and_reads_final_states(tmp_path: Path) -> None:
    fake, clock = FakeSlurm(), Clock()
    backend = _backend(tmp_path, fake, clock)
    ids = backend.launch([_request(i) for i in range(1, 4)] + [_request(4, array=2)])
    assert backend.poll() == [] and fake.calls["squeue"] == 1
    assert backend.poll() == [] and fake.calls["squeue"] == 1  # not due yet
    fake.jobs["100_0"] = ("COMPLETED", 0)
    fake.jobs["100_1"] = ("TIMEOUT", 15)
    fake.jobs["100_2"] = ("RUNNING", 0)
    fake.jobs["101_0"] = ("OUT_OF_MEMORY", 253)
    clock.now += 2.0
    found = {o.distributor_id: o for o in backend.poll()}
    assert fake.calls["squeue"] == 2
    assert found[DistributorId("100_0")].reporter is Reporter.WORKER
    assert found[DistributorId("100_1")].status is S.RESOURCE_ERROR
    assert found[DistributorId("101_0")].status is S.RESOURCE_ERROR
    assert DistributorId("100_2") not in found
    running, done = DistributorId(str(ids[2])), DistributorId(str(ids[0]))
    assert backend.alive([running, done]) == {running: True, done: False}


def test_an_unreported_outcome_file_is_reported_by_the_distributor(tmp_path: Path) -> None:
    fake, clock = FakeSlurm(), Clock()
    backend = _backend(tmp_path, fake, clock)
    [did] = backend.launch([_request(1)])
    outcome = backend.log_dir / "t1.1.outcome.json"
    outcome.write_text(json.dumps({"status": "D", "error_message": None, "exit_code": 0}))
    fake.jobs[str(did)] = ("FAILED", exitcodes.UNREPORTED << 8)
    clock.now += 5
    assert [o.status for o in backend.poll()] == [S.RUNNING, S.DONE]
    assert not outcome.exists()


def test_kill_is_one_scancel_and_ends_as_f(tmp_path: Path) -> None:
    fake, clock = FakeSlurm(), Clock()
    backend = _backend(tmp_path, fake, clock)
    ids = [DistributorId(str(d)) for d in backend.launch([_request(1), _request(2)])]
    backend.kill([DistributorId("100_0"), DistributorId("100_1"), DistributorId("999_0")])
    assert fake.calls["scancel"] == 1 and fake.cancelled == ["100_0", "100_1"]
    clock.now += 5
    assert [(o.status, o.error_message) for o in backend.poll()] == [
        (S.ERROR_FATAL, "killed on KILL_SELF (scancel)")] * 2
    assert backend.alive(ids) == {ids[0]: False, ids[1]: False}


def test_a_foreign_cancellation_is_an_error(tmp_path: Path) -> None:
    fake, clock = FakeSlurm(), Clock()
    backend = _backend(tmp_path, fake, clock)
    backend.launch([_request(1)])
    fake.jobs["100_0"] = ("CANCELLED", 15)
    clock.now += 5
    [outcome] = backend.poll()
    assert outcome.status is S.UNKNOWN_ERROR and "outside actorswarm" in str(outcome.error_message)


def test_purged_jobs_are_found_in_the_completion_log_then_lost(tmp_path: Path) -> None:
    jobcomp = tmp_path / "jobcomp.txt"
    jobcomp.write_text("JobId=1 JobState=COMPLETED ArrayJobId=1 ArrayTaskId=0 ExitCode=0:0\n")
    fake, clock = FakeSlurm(jobcomp), Clock()
    backend = _backend(tmp_path, fake, clock, lost_after=30.0)
    backend.launch([_request(1), _request(2)])
    fake.jobs.clear()  # purged from slurmctld (MinJobAge) before we looked
    with open(jobcomp, "a") as handle:
        handle.write("JobId=101 JobState=TIMEOUT ArrayJobId=100 ArrayTaskId=0 ExitCode=0:15\n"
                     "JobId=102 JobState=COMPLETED ArrayJobId=100 Array")  # unfinished line
    clock.now += 5
    [outcome] = backend.poll()
    assert outcome.distributor_id == "100_0" and outcome.status is S.RESOURCE_ERROR
    clock.now += 20
    assert backend.poll() == []
    clock.now += 20  # 100_1 unknown for 40 s > lost_after
    [lost] = backend.poll()
    assert lost.distributor_id == "100_1" and lost.status is S.UNKNOWN_ERROR
    assert "vanished" in str(lost.error_message)
    assert fake.calls.get("sacct") is None  # accounting is off: never asked


def test_sacct_answers_for_purged_jobs_when_accounting_is_on(tmp_path: Path) -> None:
    fake, clock = FakeSlurm(accounting=True), Clock()
    backend = _backend(tmp_path, fake, clock)
    backend.launch([_request(1)])
    fake.jobs.clear()
    fake.sacct_records["100_0"] = "100_0|NODE_FAIL|0:0|None\n"
    clock.now += 5
    [outcome] = backend.poll()
    assert outcome.status is S.UNKNOWN_ERROR and "NODE_FAIL" in str(outcome.error_message)


def test_a_failing_squeue_is_retried_and_loses_nothing(tmp_path: Path) -> None:
    fake, clock = FakeSlurm(), Clock()
    backend = _backend(tmp_path, fake, clock, lost_after=1.0)
    backend.launch([_request(1)])
    fake.fail.add("squeue")
    for _ in range(5):
        clock.now += 5
        assert backend.poll() == []
    fake.fail.clear()
    fake.jobs["100_0"] = ("COMPLETED", 0)
    clock.now += 5
    assert [o.reporter for o in backend.poll()] == [Reporter.WORKER]


def test_close_cancels_what_still_runs(tmp_path: Path) -> None:
    fake, clock = FakeSlurm(), Clock()
    backend = _backend(tmp_path, fake, clock)
    backend.launch([_request(1), _request(2)])
    fake.jobs["100_0"] = ("COMPLETED", 0)
    clock.now += 5
    backend.poll()
    backend.close()
    assert fake.cancelled == ["100_1"]


def test_a_cluster_without_slurm_is_a_clear_error(tmp_path: Path) -> None:
    fake = FakeSlurm()
    fake.fail.add("scontrol")
    with pytest.raises(SlurmError, match="scontrol show config: exit code 1: down"):
        _backend(tmp_path, fake, Clock())
    missing = SlurmCli(prefix=["/nonexistent/slurm-wrapper"])
    with pytest.raises(SlurmCommandError, match="command not found"):
        missing.config()
