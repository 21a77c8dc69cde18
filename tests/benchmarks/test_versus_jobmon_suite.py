"""Suite "versus-jobmon": the skip without the reference venv, the ratios, the probe's tally,
and (interop tier) a tiny real run against the real Jobmon server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks.__main__ import main
from benchmarks.jobmon_probe import Tally
from benchmarks.jobmon_side import find_reference
from benchmarks.procwatch import RoleUsage
from benchmarks.versus_jobmon import ratios
from tests.benchmarks.helpers import check_document


class _Rec:
    """Stands in for JobmonRecord / OursRecord / SimRecord: the attributes ratios() reads."""

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)


def _usage(cpu: float) -> dict[str, RoleUsage]:
    return {r: RoleUsage(r, cpu, 1, 1) for r in ("orchestrator", "scheduler", "synchronizer",
                                                  "heartbeat", "root")}


def test_ratios_compare_medians_with_the_targets() -> None:
    chain = {"t0": 0.0, "t1": 1.0, "t2": 2.0}
    fast = {"t0": 0.0, "t1": 0.05, "t2": 0.1}
    results = {
        "layered": {"jobmon": [_Rec(elapsed_s=30.0, swarm_cpu_s=2.0)] * 3,
                    "ours on jobmon": [_Rec(usage=_usage(0.02))],
                    "ours whole": [_Rec(wall_s=0.5), _Rec(wall_s=1.0), _Rec(wall_s=9.0)],
                    "ours whole, server up": [_Rec(wall_s=0.6)]},
        "chains": {"jobmon": [_Rec(done=chain)], "ours on jobmon": [_Rec(done=fast)],
                   "ours whole": []},
    }
    (what, whole, op, target), (what_up, up, op_up, _), (_, cpu, _, _), (_, hop, _, _) = \
        ratios(1000, results, ["t0", "t1", "t2"])
    assert "1000 layered tasks" in what and (op, target) == (">=", 30.0)
    assert whole == pytest.approx(30.0)  # the median of ours: 1.0 s
    assert "already up" in what_up and op_up == ">=" and up == pytest.approx(50.0)
    assert cpu == pytest.approx(5 * 0.02 / 2.0)
    assert hop == pytest.approx(0.05)


def test_ratios_without_our_runs_are_unknown() -> None:
    results = {"layered": {"jobmon": [_Rec(elapsed_s=1.0, swarm_cpu_s=1.0)],
                           "ours on jobmon": [], "ours whole": []},
               "chains": {"jobmon": [_Rec(done={"a": 0.0, "b": 1.0})], "ours on jobmon": [],
                          "ours whole": []}}
    assert [r[1] for r in ratios(5, results, ["a", "b"])] == [None, None, None, None]


def test_the_probe_tallies_the_outermost_calls_only() -> None:
    tally = Tally()

    def inner() -> int:
        return 1

    wrapped_inner = tally.wrap("inner", inner)

    def outer() -> int:
        return wrapped_inner() + 1

    wrapped_outer = tally.wrap("outer", outer)
    assert wrapped_outer() == 2 and wrapped_inner() == 1
    assert tally.calls == {"outer": 1, "inner": 2}
    assert tally.cpu >= 0.0 and tally.wall > 0.0


def test_without_the_reference_venv_the_suite_says_it_skipped(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("JOBMON_REF_VENV", str(tmp_path / "no-venv"))
    env, why = find_reference()
    assert env is None and "missing" in why and "jobmon_ref.py install" in why
    out = tmp_path / "versus.json"
    assert main(["versus-jobmon", "--tiny", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["suite"] == "versus-jobmon" and doc["measurements"] == []
    assert doc["parameters"]["skipped"] is True
    assert doc["notes"][0].startswith("skipped: the Jobmon reference venv is missing")
    assert "skipped: the Jobmon reference venv is missing" in capsys.readouterr().out


def test_an_unverified_venv_is_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").write_text("")
    (venv / "actorswarm-jobmon-ref.json").write_text('{"packages": ["other"]}')
    monkeypatch.setenv("JOBMON_REF_VENV", str(venv))
    env, why = find_reference()
    assert env is None and "not verified" in why


def test_bad_sizes_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["versus-jobmon", "--tiny", "--chain", "1"]) == 2
    assert "--chain must be at least 2" in capsys.readouterr().err


@pytest.mark.interop
@pytest.mark.process
@pytest.mark.timeout(420)
def test_tiny_real_comparison(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    env, why = find_reference()
    if env is None:
        pytest.skip(why)
    out = tmp_path / "versus.json"
    assert main(["versus-jobmon", "--tiny", "--json", str(out)]) == 0
    doc = json.loads(out.read_text())
    measurements = check_document(doc, "versus-jobmon", "tiny")
    names = {(m["group"], m["name"]) for m in measurements}
    for group in ("versus-jobmon: layered, 12 tasks", "versus-jobmon: chains, 3 tasks"):
        for name in ("swarm run: Jobmon swarm, Jobmon server",
                     "swarm run: our swarm, Jobmon server",
                     "client CPU: Jobmon swarm (in its client process)",
                     "client CPU: our swarm (4 actors + root)"):
            assert (group, name) in names
    assert ("versus-jobmon: chains, 3 tasks", "chain hop: Jobmon swarm, Jobmon server") in names
    assert not [n for n in doc["notes"] if "failed" in n], doc["notes"]
    assert all(v is not None for v in doc["parameters"]["ratios"].values())
    assert ("versus-jobmon: layered, 12 tasks",
            "end to end: ours whole, server already up (bind + run)") in names
    assert "ratio whole system tasks/s" in capsys.readouterr().out
