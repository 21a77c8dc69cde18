"""Example messages for every registered type, and the codec measurements (real codec)."""

from __future__ import annotations

import attrs
import pytest

from benchmarks.codec_bench import (
    ENVELOPE_SAMPLES,
    bulk_message,
    codec_measurements,
    example_message,
)
from benchmarks.errors import BenchmarkError
from messages import decode, encode, message, registered_tags
from messages.protocols import load_all

load_all()
import benchmarks.bench_actor  # noqa: F401 - registers bench.*

PROTOCOL_TAGS = sorted(t for t, c in registered_tags().items()
                       if c.__module__.split(".")[0] in ("messages", "benchmarks")
                       and t != "envelope")


@pytest.mark.parametrize("tag", PROTOCOL_TAGS)
def test_every_registered_type_gets_a_valid_round_tripping_example(tag: str) -> None:
    cls = registered_tags()[tag]
    msg = example_message(cls)
    assert type(msg) is cls
    assert decode(encode(msg)) == msg


def test_examples_look_realistic() -> None:
    from messages.synchronizer import TaskStatusesChanged

    msg = example_message(TaskStatusesChanged)
    ids = [task_id for task_id, _ in msg.changes]
    assert len(ids) == 3 and len(set(ids)) == 3 and min(ids) > 1000  # distinct task ids
    assert msg.server_time == "2024-05-01 12:34:56"


@message("test.bench.Unbuildable")
@attrs.frozen
class Unbuildable:
    value: float = attrs.field(validator=lambda _i, _a, v: _refuse(v))


def _refuse(value: float) -> None:
    raise ValueError(f"never {value}")


def test_a_class_refusing_the_example_values_is_named() -> None:
    with pytest.raises(BenchmarkError, match="Unbuildable: the example values were refused"):
        example_message(Unbuildable)


class FastClock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        self.now += 500
        return self.now


def test_measurements_cover_each_tag_and_the_envelope_and_bulk_samples() -> None:
    tags = ["heartbeat.ReportStatus", "scheduler.QueueTasks", "bench.Probe", "runtime.Ping",
            "scheduler.TaskGroup"]
    out = codec_measurements(tags, iterations=20, block=5, rounds=2, clock=FastClock())
    names = [m.name for m in out]
    assert names[:5] == tags
    wrapped = [m for m in out if m.name.startswith("envelope(")]
    assert len(wrapped) == sum(1 for tag, _ in ENVELOPE_SAMPLES if tag in tags)
    bulk = [m for m in out if m.group.startswith("codec: messages at the sizes")]
    assert [m.name for m in bulk] == ["scheduler.TaskGroup with 500 task_ids"]
    assert bulk[0].params["items"] == 500 and bulk[0].params["frame_bytes"] > 500 * 4
    for m in out:
        assert m.stats is not None and len(m.rounds) == 2
        if m in bulk:
            assert m.stats.n == 2 * 3 and m.stats.p50 == 500.0  # one call per sample
        else:
            assert m.stats.n == 2 * 4 and m.stats.p50 == 100.0  # 500 ns per block of 5
        assert m.params["frame_bytes"] > 0
    small = {m.name: bool(m.targets) for m in out}
    assert small["heartbeat.ReportStatus"] and not small["scheduler.QueueTasks"]


def test_bulk_message_fills_a_tuple_field_with_distinct_items() -> None:
    from messages.synchronizer import TaskStatusesChanged

    msg = bulk_message(TaskStatusesChanged, "changes", 250)
    assert len({task_id for task_id, _ in msg.changes}) == 250
    assert decode(encode(msg)) == msg
    with pytest.raises(BenchmarkError, match="not a tuple"):
        bulk_message(TaskStatusesChanged, "server_time", 3)
