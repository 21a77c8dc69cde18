"""The sim backend: seeded statistics, timing on a fake clock, kills (no processes)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from actors.distributor.backend import LaunchRequest
from actors.distributor.sim import Duration, SimBackend, SimConfig, sim_queues
from actors.errors import ConfigError
from messages.values import TaskInstanceId
from messages.values import TaskInstanceStatus as S


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _batch(n: int, start: int = 1) -> list[LaunchRequest]:
    return [LaunchRequest(TaskInstanceId(i), i, 1, f"t{i}", "true", 1)
            for i in range(start, start + n)]


def test_defaults_finish_at_once_without_failures() -> None:
    sim = SimBackend(clock=Clock())
    ids = sim.launch(_batch(3))
    assert ids == ["sim-1", "sim-2", "sim-3"]
    out = sim.poll()
    assert [(o.task_instance_id, o.status) for o in out] == [
        (1, S.RUNNING), (2, S.RUNNING), (3, S.RUNNING), (1, S.DONE), (2, S.DONE), (3, S.DONE)]
    assert sim.poll() == []


def _fates(config: SimConfig, n: int) -> dict[S, int]:
    clock = Clock()
    sim = SimBackend(config, clock=clock)
    sim.launch(_batch(n))
    clock.now = 1e9
    counts: dict[S, int] = {}
    for o in sim.poll():
        if o.final:
            counts[o.status] = counts.get(o.status, 0) + 1
    return counts


def test_rates_with_a_seed_are_reproducible_and_close_to_the_probabilities() -> None:
    config = SimConfig(failure_rate=0.2, resource_error_rate=0.1, seed=42)
    n = 20_000
    counts = _fates(config, n)
    assert counts == _fates(config, n)  # same seed, same fates
    assert sum(counts.values()) == n
    for status, p in ((S.ERROR, 0.2), (S.RESOURCE_ERROR, 0.1), (S.DONE, 0.7)):
        sd = math.sqrt(n * p * (1 - p))
        assert abs(counts[status] - n * p) < 5 * sd, (status, counts)
    assert _fates(SimConfig(failure_rate=0.2, resource_error_rate=0.1, seed=7), n) != counts


def test_durations_follow_the_distribution_on_the_fake_clock() -> None:
    clock = Clock()
    sim = SimBackend(SimConfig(duration=Duration.from_spec("uniform:10:20"), seed=1),
                     clock=clock)
    sim.launch(_batch(4000))
    assert all(o.status is S.RUNNING for o in sim.poll())
    clock.now = 9.99
    assert sim.poll() == []
    clock.now = 15.0
    half = len(sim.poll())
    assert abs(half - 2000) < 5 * math.sqrt(4000 * 0.25)
    clock.now = 20.0
    assert half + len(sim.poll()) == 4000
    assert sim.capacity() == SimConfig().max_in_flight


def test_exponential_mean() -> None:
    import random
    d = Duration.from_spec("exp:2")
    rng = random.Random(3)
    draws = [d.draw(rng) for _ in range(20_000)]
    assert abs(sum(draws) / len(draws) - 2.0) < 0.1
    assert min(draws) >= 0


def test_kill_ends_as_f_and_alive_follows() -> None:
    clock = Clock()
    sim = SimBackend(SimConfig(duration=Duration.from_spec("100")), clock=clock)
    a, b = sim.launch(_batch(2))
    assert a is not None and b is not None
    sim.poll()
    sim.kill([a])
    assert sim.alive([a, b]) == {a: False, b: True}
    out = sim.poll()
    assert [(o.task_instance_id, o.status, o.error_message) for o in out] == [
        (1, S.ERROR_FATAL, "killed on KILL_SELF")]
    clock.now = 100
    assert [(o.task_instance_id, o.status) for o in sim.poll()] == [(2, S.DONE)]
    sim.close()
    assert sim.alive([b]) == {b: False}


@pytest.mark.parametrize("spec", ["", "weird:1", "uniform:3:1", "exp:-1", "normal:1", "const:x",
                                  "uniform:1:2:3"])
def test_bad_duration_specs_are_config_errors(spec: str) -> None:
    with pytest.raises(ConfigError, match="--sim-duration"):
        Duration.from_spec(spec)


def test_bad_rates_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="failure-rate"):
        SimConfig(failure_rate=1.5)
    with pytest.raises(ConfigError, match="exceed 1"):
        SimConfig(failure_rate=0.6, resource_error_rate=0.6)


@given(st.sampled_from(["0", "2.5", "const:1", "uniform:0:3", "exp:1", "normal:1:2",
                        "lognormal:0:1"]), st.integers(0, 2 ** 32))
def test_draws_are_never_negative(spec: str, seed: int) -> None:
    import random
    assert Duration.from_spec(spec).draw(random.Random(seed)) >= 0


def test_queues() -> None:
    queues = sim_queues()
    assert set(queues) == {"all", "long"}
    assert queues["long"].max_runtime > queues["all"].max_runtime
    assert set(queues["all"].to_params()) == {"min_cores", "max_cores", "min_memory",
                                              "max_memory", "min_runtime", "max_runtime"}
