"""Pure parts of the Slurm backend: reading Slurm's output, planning sbatch calls, outcomes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.distributor import slurm
from actors.distributor.backend import DistributorId, LaunchRequest, QueueLimits, Reporter
from actors.distributor.slurm import outcomes, parse, script
from actors.distributor.slurm.errors import SlurmCommandError, SlurmOutputError
from actors.distributor.slurm.parse import JobRecord
from actors.worker import exitcodes
from messages.values import TaskInstanceId, TaskInstanceStatus

S = TaskInstanceStatus
TI = TaskInstanceId(7)
DID = DistributorId("12_3")

SCONTROL_LINE = (
    "JobId=15 ArrayJobId=12 ArrayTaskId=3 ArrayTaskThrottle=2 JobName=actorswarm-wfr1 "
    "UserId=root(0) JobState=FAILED Reason=NonZeroExitCode Dependency=(null) ExitCode=75:0 "
    "RunTime=00:00:02 WorkDir=/tmp/a dir/with spaces StdOut=/tmp/x.log Power=")
JOBCOMP_LINE = (
    "JobId=16 UserId=root(0) GroupId=root(0) Name=actorswarm-wfr1 JobState=TIMEOUT "
    "Partition=debug TimeLimit=1 StartTime=2026-11-29T03:46:21 EndTime=2026-11-29T03:47:22 "
    "NodeList=vm ArrayJobId=12 ArrayTaskId=4 DerivedExitCode=0:0 ExitCode=0:15")


def test_public_names() -> None:
    assert set(slurm.__all__) == {"SlurmBackend", "SlurmCli", "SlurmCommandError",
                                  "SlurmConfig", "SlurmError", "SlurmOutputError"}
    for module in (parse, script, outcomes):
        assert all(hasattr(module, name) for name in module.__all__)


def test_squeue_output_is_read_with_raw_exit_statuses() -> None:
    text = ("12_2|PENDING|JobArrayTaskLimit|0|\n12_1|RUNNING|None|0|\n"
            "12_0|FAILED|NonZeroExitCode|19200|\n12_4|OUT_OF_MEMORY|OutOfMemory|253|\n"
            "13|COMPLETED|None|0|\n\n")
    records = parse.parse_squeue(text)
    assert set(records) == {"12_0", "12_1", "12_2", "12_4"}  # 13 is no array task: not ours
    assert records[DistributorId("12_0")] == JobRecord(DistributorId("12_0"), "FAILED",
                                                       "NonZeroExitCode", 75, 0)
    assert records[DistributorId("12_1")].reason == "" and not records[DistributorId("12_1")].final
    assert records[DistributorId("12_2")].state == "PENDING"
    assert records[DistributorId("12_4")].final and records[DistributorId("12_4")].signal == 125


def test_malformed_squeue_output_names_the_line() -> None:
    with pytest.raises(SlurmOutputError, match="squeue.*12_0\\|RUNNING"):
        parse.parse_squeue("12_0|RUNNING\n")
    with pytest.raises(SlurmOutputError, match="exit_code is not a number"):
        parse.parse_squeue("12_0|RUNNING|None|lots|\n")


def test_scontrol_and_jobcomp_lines() -> None:
    record = parse.parse_record_line(SCONTROL_LINE, "scontrol")
    assert record == JobRecord(DistributorId("12_3"), "FAILED", "NonZeroExitCode", 75, 0)
    assert parse.parse_key_values(SCONTROL_LINE)["WorkDir"] == "/tmp/a dir/with spaces"
    timeout = parse.parse_record_line(JOBCOMP_LINE)
    assert timeout == JobRecord(DistributorId("12_4"), "TIMEOUT", "", 0, 15)
    assert timeout.returncode == -15
    assert parse.parse_record_line("JobId=3 JobState=COMPLETED ExitCode=0:0") is None
    with pytest.raises(SlurmOutputError, match="lacks JobId"):
        parse.parse_record_line("Name=x ExitCode=0:0")
    with pytest.raises(SlurmOutputError, match="CODE:SIGNAL"):
        parse.parse_record_line("JobId=3 ArrayJobId=3 ArrayTaskId=0 JobState=FAILED ExitCode=x")


def test_sacct_and_config() -> None:
    records = parse.parse_sacct("12_3|CANCELLED by 0|0:15|None\n12|COMPLETED|0:0|None\n"
                                "12_5|COMPLETED|0:0|\n")
    assert records[DistributorId("12_3")] == JobRecord(DistributorId("12_3"), "CANCELLED",
                                                       "", 0, 15)
    assert set(records) == {"12_3", "12_5"}
    config = parse.parse_config("Configuration data as of now\nMaxArraySize            = 1001\n"
                                "JobCompLoc              = /var/log/slurm jobcomp.txt\n")
    assert config == {"MaxArraySize": "1001", "JobCompLoc": "/var/log/slurm jobcomp.txt"}


@pytest.mark.parametrize(("text", "seconds"), [
    ("UNLIMITED", None), ("INFINITE", None), ("30", 1800), ("05:30", 330),
    ("02:00:00", 7200), ("1-00:00:00", 86400), ("2-12", 216000), ("1-01:30", 91800)])
def test_time_limits(text: str, seconds: int | None) -> None:
    assert parse.parse_time_limit(text) == seconds


def test_bad_time_limit() -> None:
    with pytest.raises(SlurmOutputError, match="time limit"):
        parse.parse_time_limit("soon")


def test_partitions_become_queues_with_node_limits() -> None:
    partitions = (
        "PartitionName=debug MaxNodes=UNLIMITED MaxTime=UNLIMITED Nodes=n[1-2] "
        "MaxCPUsPerNode=UNLIMITED MaxMemPerNode=UNLIMITED State=UP\n"
        "PartitionName=long MaxTime=7-00:00:00 Nodes=n2 MaxCPUsPerNode=4 MaxMemPerNode=8192\n")
    sinfo = "n1|debug|8|16000\nn2|debug|16|64000\nn2|long|16|64000\n"
    queues = parse.parse_partitions(partitions, sinfo)
    assert queues["debug"] == QueueLimits(min_cores=1, max_cores=16, min_memory=0.001,
                                          max_memory=62.5, min_runtime=60,
                                          max_runtime=365 * 86400)
    assert queues["long"] == QueueLimits(min_cores=1, max_cores=4, min_memory=0.001,
                                         max_memory=8.0, min_runtime=60, max_runtime=7 * 86400)
    with pytest.raises(SlurmOutputError, match="sinfo"):
        parse.parse_partitions(partitions, "n1|debug|many|1\n")


# ------------------------------------------------------------------------------ script


def _request(ti: int, *, array: int | None = 1, memory: float | None = 0.5, cores: int = 1,
             runtime: float | None = 90, queue: str | None = "debug",
             command: str = "echo hi") -> LaunchRequest:
    return LaunchRequest(task_instance_id=TaskInstanceId(ti), task_id=100 + ti, array_id=array,
                         name=f"task {ti}", command=command, attempt=1, queue_name=queue,
                         memory_gib=memory, cores=cores, runtime_s=runtime)


def _settings(tmp: Path = Path("/shared/logs")) -> script.WorkerSettings:
    return script.WorkerSettings(python="/venv/bin/python", server="http://srv:1",
                                 workflow_run_id=5, log_dir=tmp, working_dir=Path("/work dir"),
                                 workflow_id=3, kill_grace=2.0)


def test_units() -> None:
    assert script.memory_mib(0.25) == 256 and script.memory_mib(1e-9) == 1
    assert script.memory_mib(1.0001) == 1025
    assert script.time_minutes(1) == 1 and script.time_minutes(60) == 1
    assert script.time_minutes(61) == 2 and script.time_minutes(3600) == 60


def test_one_sbatch_per_array_and_resource_set() -> None:
    batch = [_request(1), _request(2, memory=1.0), _request(3), _request(4, array=2),
             _request(5, memory=1.0)]
    plans = script.plan_submissions(batch, _settings(), max_array=1000, throttles={1: 1})
    assert [[int(r.task_instance_id) for r in p.requests] for p in plans] == [[1, 3], [2, 5], [4]]
    first = plans[0]
    assert "--array=0-1%1" in first.options and "--mem=512M" in first.options
    assert "--time=2" in first.options and "--partition=debug" in first.options
    assert "--job-name=actorswarm-wfr5" in first.options and "--no-requeue" in first.options
    assert "--chdir=/work dir" in first.options and "--cpus-per-task=1" in first.options
    assert "--output=/shared/logs/slurm-%A_%a.log" in first.options
    assert "--array=0-0" in plans[2].options  # array 2 has no throttle
    assert first.distributor_ids("77") == ["77_0", "77_1"]


def test_unrequested_resources_are_left_to_slurm() -> None:
    [plan] = script.plan_submissions([_request(1, memory=None, runtime=None, queue=None)],
                                     _settings(), max_array=10)
    assert not any(o.startswith(("--mem", "--time", "--partition")) for o in plan.options)


def test_script_has_one_case_per_index() -> None:
    [plan] = script.plan_submissions([_request(1), _request(2)], _settings(), max_array=10)
    assert plan.script.startswith("#!/bin/bash\n")
    assert plan.script.count(") set -- --task-instance-id ") == 2
    assert "--memory-limit" not in plan.script and "--runtime-limit" not in plan.script
    assert plan.script.rstrip().splitlines()[-1].startswith(
        "exec /venv/bin/python -m actors.worker --server http://srv:1 --workflow-run-id 5 ")


@given(st.lists(st.tuples(st.integers(1, 3), st.sampled_from([None, 0.5, 2.0]),
                          st.integers(1, 2)), max_size=60),
       st.integers(1, 7))
def test_plans_keep_every_instance_once_in_homogeneous_bounded_groups(
        specs: list[tuple[int, float | None, int]], max_array: int) -> None:
    batch = [_request(i, array=a, memory=m, cores=c) for i, (a, m, c) in enumerate(specs)]
    plans = script.plan_submissions(batch, _settings(), max_array=max_array)
    planned = [r.task_instance_id for p in plans for r in p.requests]
    assert sorted(planned) == [r.task_instance_id for r in batch]
    for plan in plans:
        assert 1 <= len(plan.requests) <= max_array
        assert len({(r.array_id, r.memory_gib, r.cores) for r in plan.requests}) == 1
        assert f"--array=0-{len(plan.requests) - 1}" in plan.options
        assert plan.script.count(") set -- ") == len(plan.requests)


def test_bad_max_array() -> None:
    with pytest.raises(ValueError, match="max_array"):
        script.plan_submissions([_request(1)], _settings(), max_array=0)


# ------------------------------------------------------------------------------ outcomes


def _record(state: str, code: int | None = 0, sig: int | None = 0) -> JobRecord:
    return JobRecord(DID, state, "", code, sig)


def _one(record: JobRecord, *, kill: bool = False, outcome: str | None = None,
         tail: str = "") -> list[tuple[S, Reporter, str]]:
    found = outcomes.job_outcomes(TI, record, kill_requested=kill, outcome_text=outcome,
                                  log_tail=tail, limits="--mem=256M --time=1")
    return [(o.status, o.reporter, o.error_message or "") for o in found]


def test_slurm_limits_are_resource_errors() -> None:
    [(status, who, text)] = _one(_record("TIMEOUT", 0, 15))
    assert status is S.RESOURCE_ERROR and who is Reporter.DISTRIBUTOR
    assert text.startswith("runtime limit exceeded") and "--time=1" in text
    [(status, _, text)] = _one(_record("OUT_OF_MEMORY", 0, 125))
    assert status is S.RESOURCE_ERROR and text.startswith("memory limit exceeded")
    tail = "slurmstepd-vm: error: Exceeded job memory limit\n*** JOB 9 CANCELLED ***"
    [(status, _, text)] = _one(_record("FAILED", 0, 9), tail=tail)
    assert status is S.RESOURCE_ERROR and "Exceeded job memory limit" in text


def test_cancellations_and_node_failures() -> None:
    assert _one(_record("CANCELLED", 0, 15), kill=True)[0][0] is S.ERROR_FATAL
    [(status, _, text)] = _one(_record("CANCELLED", 0, 15))
    assert status is S.UNKNOWN_ERROR and "cancelled outside actorswarm" in text
    [(status, _, text)] = _one(_record("NODE_FAIL", None, None))
    assert status is S.UNKNOWN_ERROR and "NODE_FAIL" in text
    assert _one(_record("PREEMPTED", None, None), kill=True)[0][0] is S.ERROR_FATAL


def test_worker_exit_codes_say_who_reports() -> None:
    assert _one(_record("COMPLETED", exitcodes.REPORTED)) == [(S.DONE, Reporter.WORKER, "")]
    assert _one(_record("FAILED", exitcodes.KILLED_SELF))[0][0] is S.ERROR_FATAL
    saved = json.dumps({"status": "E", "error_message": "boom", "exit_code": 3})
    assert _one(_record("FAILED", exitcodes.UNREPORTED), outcome=saved) == [
        (S.RUNNING, Reporter.DISTRIBUTOR, ""), (S.ERROR, Reporter.DISTRIBUTOR, "boom")]
    [(status, _, text)] = _one(_record("FAILED", 1), tail="Traceback: no module named x")
    assert status is S.UNKNOWN_ERROR and "no module named x" in text
    [(status, _, text)] = _one(_record("FAILED", 0, 9))
    assert status is S.UNKNOWN_ERROR and "SIGKILL" in text


def test_command_error_names_the_command() -> None:
    error = SlurmCommandError(["sbatch", "--parsable"], "exit code 1", returncode=1,
                              stderr="sbatch: error: invalid partition specified: x\n")
    assert str(error) == ("slurm backend: sbatch --parsable: exit code 1: sbatch: error: "
                          "invalid partition specified: x")
    assert error.returncode == 1
