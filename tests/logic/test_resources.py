"""actors.resources: parsing, validation, coercion, scaling, fallback queues (DESIGN.md s.4)."""

from __future__ import annotations

import math

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from actors.errors import ConfigError
from actors.resources import (
    DEFAULT_SCALES,
    QueueLimits,
    ResourceError,
    ResourcePolicy,
    ResourceSet,
    adjust,
    coerce,
    fits,
    merge_computed,
    parse_cores,
    parse_memory,
    parse_runtime,
    parse_scales,
    resources_from_mapping,
    scale,
)

ALL = QueueLimits.from_params("c", "all", {"min_cores": 1, "max_cores": 8, "min_memory": 0.5,
                                           "max_memory": 16, "min_runtime": 10,
                                           "max_runtime": 3600})
LONG = QueueLimits.from_params("c", "long", {"max_cores": 8, "max_memory": 64,
                                             "max_runtime": 86400})
HUGE = QueueLimits.from_params("c", "huge", {"max_cores": 64, "max_memory": 1024,
                                             "max_runtime": 7 * 86400})


# ------------------------------------------------------------------------------ parsing

@pytest.mark.parametrize(("text", "gib"), [
    ("8G", 8.0), ("400M", 400 / 1024), ("1.5G", 1.5), ("512MB", 0.5), ("2T", 2048.0),
    ("1024k", 1 / 1024), ("8 GiB", 8.0), ("3", 3.0), (3, 3.0), (0.25, 0.25), ("2g", 2.0),
])
def test_memory_is_parsed_into_gib(text: object, gib: float) -> None:
    assert parse_memory(text) == pytest.approx(gib)


@pytest.mark.parametrize(("text", "seconds"), [
    ("1h", 3600), ("60m", 3600), ("90s", 90), ("01:00:00", 3600), ("1-02:03:04", 93784),
    ("1-12", 129600), ("1-00:30", 1800 + 86400), ("1:30", 90), ("1h30m", 5400),
    ("1.5h", 5400), ("3600", 3600), (3600, 3600), (90.2, 91), ("2d", 172800),
    ("10 min", 600), ("1.1h", 3960),
])
def test_runtime_is_parsed_into_seconds(text: object, seconds: int) -> None:
    assert parse_runtime(text) == seconds


@pytest.mark.parametrize(("value", "cores"), [(1, 1), (4.0, 4), ("16", 16)])
def test_cores_are_whole_numbers(value: object, cores: int) -> None:
    assert parse_cores(value) == cores


@pytest.mark.parametrize("bad", ["8X", "", "G", "-1G", "0", 0, -2, True, None, "nan",
                                 float("inf"), [8], "1e999G"])
def test_bad_memory_is_a_resource_error_naming_field_and_value(bad: object) -> None:
    with pytest.raises(ResourceError) as info:
        parse_memory(bad, where="task 'a'")
    err = info.value
    assert isinstance(err, ConfigError) and isinstance(err, ValueError)
    assert err.field == "memory" and err.value is bad or err.value == bad
    assert str(err).startswith("task 'a': memory:") and repr(bad) in str(err)


@pytest.mark.parametrize("bad", ["1x", "abc", "", "-5", "1h30", "25:99", "1-24:00:00", 0,
                                 False, float("nan"), "1:2:3:4"])
def test_bad_runtime_is_a_resource_error(bad: object) -> None:
    with pytest.raises(ResourceError) as info:
        parse_runtime(bad, where="task 7")
    assert info.value.field == "runtime" and "task 7" in str(info.value)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "two", True, None])
def test_bad_cores_are_a_resource_error(bad: object) -> None:
    with pytest.raises(ResourceError, match="cores"):
        parse_cores(bad)


@given(st.integers(min_value=1, max_value=10 ** 7),
       st.sampled_from([("K", 1 / 1024 ** 2), ("M", 1 / 1024), ("G", 1.0), ("T", 1024.0),
                        ("MB", 1 / 1024), ("GiB", 1.0), ("", 1.0)]))
def test_memory_units_scale_by_1024(number: int, unit: tuple[str, float]) -> None:
    suffix, factor = unit
    assert parse_memory(f"{number}{suffix}") == pytest.approx(number * factor)


@given(st.integers(0, 30), st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
def test_clock_formats_agree_with_units(days: int, hours: int, minutes: int,
                                        seconds: int) -> None:
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    assume(total > 0)
    assert parse_runtime(f"{days}-{hours:02d}:{minutes:02d}:{seconds:02d}") == total
    assert parse_runtime(f"{days * 24 + hours}:{minutes:02d}:{seconds:02d}") == total
    assert parse_runtime(f"{days}d{hours}h{minutes}m{seconds}s") == total


@given(st.one_of(st.text(max_size=20), st.text("0123456789.:-hmsdGKMBTi e+", max_size=20),
                 st.from_regex(r"[0-9]{300,400}(:00:00|h|G)?", fullmatch=True),
                 st.integers(), st.floats(), st.none(), st.booleans()))
def test_parsers_never_fail_with_anything_but_resource_error(value: object) -> None:
    for parse in (parse_memory, parse_runtime, parse_cores):
        try:
            parsed = parse(value)
        except ResourceError:
            continue
        assert parsed > 0 and math.isfinite(parsed)


def test_requested_resources_mapping_keeps_backend_keys_and_names_the_task() -> None:
    res = resources_from_mapping({"memory": "2G", "runtime": "10m", "cores": 2,
                                  "project": "proj_x"}, cluster="c", queue="all",
                                 where="task 'align'")
    assert res == ResourceSet("c", "all", cores=2, memory=2.0, runtime=600,
                              extra=(("project", "proj_x"),))
    assert res.to_requested() == {"memory": 2.0, "runtime": 600, "cores": 2,
                                  "project": "proj_x", "queue": "all"}
    with pytest.raises(ResourceError, match="task 'align': memory"):
        resources_from_mapping({"memory": "lots"}, cluster="c", queue="all",
                               where="task 'align'")
    with pytest.raises(ResourceError, match="queue"):
        resources_from_mapping({"memory": 1}, cluster="c", queue=None)
    with pytest.raises(ResourceError, match="nested"):
        resources_from_mapping({"nested": {"a": 1}}, cluster="c", queue="all")
    with pytest.raises(ResourceError, match="weight"):
        resources_from_mapping({"weight": float("nan")}, cluster="c", queue="all")


def test_equal_requests_give_one_canonical_hashable_value() -> None:
    a = resources_from_mapping({"memory": "1024M", "runtime": "1h", "x": 1, "y": 2},
                               cluster="c", queue="all")
    b = resources_from_mapping({"y": 2, "runtime": 3600, "x": 1, "memory": 1},
                               cluster="c", queue="all")
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != attrs.evolve(b, queue="long")


def test_resource_callable_must_return_a_dict() -> None:
    base = ResourceSet("c", "all", cores=1, memory=1.0, runtime=60)
    assert merge_computed(base, {"memory": "4G"}).memory == 4.0
    with pytest.raises(ResourceError, match="must return a dict"):
        merge_computed(base, [("memory", 4)], where="task 3")


# ------------------------------------------------------------------------------ queues

def test_queue_params_use_jobmon_keys_and_are_validated() -> None:
    assert ALL.bounds("memory") == (0.5, 16) and LONG.bounds("cores") == (None, 8)
    with pytest.raises(ResourceError, match="min_memory"):
        QueueLimits.from_params("c", "q", {"min_memory": 8, "max_memory": 4})
    with pytest.raises(ResourceError, match="max_cores"):
        QueueLimits.from_params("c", "q", {"max_cores": "many"})


def test_resources_are_coerced_to_the_queue_limits() -> None:
    big = ResourceSet("c", "all", cores=32, memory=100.0, runtime=10 ** 6)
    small = ResourceSet("c", "all", cores=1, memory=0.1, runtime=1)
    assert coerce(big, ALL) == ResourceSet("c", "all", cores=8, memory=16.0, runtime=3600)
    assert coerce(small, ALL) == ResourceSet("c", "all", cores=1, memory=0.5, runtime=10)
    assert coerce(ResourceSet("c", "all"), ALL) == ResourceSet("c", "all")


def test_resource_scales_default_to_half_memory_and_runtime() -> None:
    assert dict(parse_scales(None)) == DEFAULT_SCALES == dict(parse_scales({}))
    res = ResourceSet("c", "all", cores=3, memory=3.0, runtime=101)
    scaled = scale(res, parse_scales(None))
    assert (scaled.memory, scaled.runtime, scaled.cores) == (5.0, 152, 3)  # ceil(x * 1.5)
    with pytest.raises(ResourceError, match="resource_scales"):
        parse_scales({"gpus": 1.0})
    with pytest.raises(ResourceError, match="resource_scales"):
        parse_scales({"memory": -1})


def test_fallback_queues_are_tried_in_order_when_scaled_resources_exceed_the_queue() -> None:
    policy = ResourcePolicy.from_wire({"memory": 1.0, "runtime": 1.0}, ["long", "huge"])
    res = ResourceSet("c", "all", cores=1, memory=12.0, runtime=3000)
    adjusted = adjust(res, policy, [ALL, LONG, HUGE])
    assert adjusted == ResourceSet("c", "long", cores=1, memory=24.0, runtime=6000)
    still_fits = adjust(ResourceSet("c", "all", memory=1.0, runtime=60), policy, [ALL, LONG])
    assert still_fits.queue == "all" and still_fits.memory == 2.0


def test_when_no_queue_fits_resources_are_clamped_to_the_last_queue() -> None:
    policy = ResourcePolicy.from_wire({"memory": 0.5}, ["long"])
    res = ResourceSet("c", "all", cores=1, memory=60.0, runtime=60)
    assert adjust(res, policy, [ALL, LONG]) == ResourceSet("c", "long", cores=1, memory=64.0,
                                                           runtime=60)


# ------------------------------------------------------------------------------ properties

limits = st.tuples(st.floats(0, 100), st.floats(0, 100)).map(sorted)
queues = st.builds(
    lambda c, m, r: QueueLimits.from_params("c", "q", {
        "min_cores": c[0], "max_cores": c[1], "min_memory": m[0], "max_memory": m[1],
        "min_runtime": r[0], "max_runtime": r[1]}),
    st.tuples(st.integers(1, 8), st.integers(8, 64)), limits,
    st.tuples(st.integers(1, 100), st.integers(100, 10 ** 5)))
resource_sets = st.builds(
    ResourceSet, st.just("c"), st.just("q"), st.one_of(st.none(), st.integers(1, 200)),
    st.one_of(st.none(), st.floats(1e-300, 500)), st.one_of(st.none(), st.integers(1, 10 ** 6)))


@given(resource_sets, queues)
def test_coerced_resources_fit_and_coercion_is_idempotent(res: ResourceSet,
                                                          queue: QueueLimits) -> None:
    coerced = coerce(res, queue)
    assert fits(coerced, queue)
    assert coerce(coerced, queue) == coerced
    if fits(res, queue):
        assert coerced == attrs.evolve(res, cluster=queue.cluster, queue=queue.name)


@given(resource_sets, st.floats(0, 3), st.floats(0, 3))
def test_scaling_never_shrinks_and_is_ceil_of_factor(res: ResourceSet, mem: float,
                                                     run: float) -> None:
    scaled = scale(res, (("memory", mem), ("runtime", run)))
    if res.memory is not None:
        assert scaled.memory is not None and scaled.memory >= res.memory
        assert scaled.memory == max(1, math.ceil(round(res.memory * (1 + mem), 9)))
    if res.runtime is not None:
        assert scaled.runtime is not None and scaled.runtime >= res.runtime
    assert scaled.cores == res.cores


@given(resource_sets, st.lists(queues, min_size=1, max_size=4))
def test_adjust_lands_on_the_first_queue_that_fits_else_clamps_to_the_last(
        res: ResourceSet, qs: list[QueueLimits]) -> None:
    qs = [attrs.evolve(q, name=f"q{i}") for i, q in enumerate(qs)]
    policy = ResourcePolicy()
    adjusted = adjust(res, policy, qs)
    scaled = scale(res, policy.scales)
    first = next((q for q in qs if fits(scaled, q)), None)
    if first is not None:
        assert adjusted == attrs.evolve(scaled, queue=first.name)
    else:
        assert adjusted.queue == qs[-1].name and fits(adjusted, qs[-1])


extras = st.dictionaries(st.sampled_from(["project", "constraints", "gpus", "exclusive"]),
                         st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5),
                                   st.floats(allow_nan=False, allow_infinity=False)))


@given(resource_sets, extras)
def test_requested_resources_round_trip_through_the_wire_form(
        res: ResourceSet, extra: dict[str, str | int | float | bool | None]) -> None:
    res = attrs.evolve(res, extra=tuple(sorted(extra.items())))
    assume(res.memory is None or res.memory > 0)
    again = resources_from_mapping(res.to_requested(), cluster=res.cluster, queue=None)
    assert again == res and hash(again) == hash(res)
