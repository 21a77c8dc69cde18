"""Pure limit checks and verdicts of the worker (fake clock, no processes)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from actors.worker.limits import (
    Breach,
    LimitKind,
    Limits,
    LimitWatch,
    classify,
    format_bytes,
)
from messages.values import TaskInstanceStatus as S

MiB = 2 ** 20


def test_no_limits_never_breach() -> None:
    watch = LimitWatch(Limits(), started=100.0)
    assert watch.check(1e9, 10 ** 12) is None
    assert watch.deadline() is None


def test_runtime_breach_after_the_limit_on_the_fake_clock() -> None:
    watch = LimitWatch(Limits(runtime_s=5), started=100.0)
    assert watch.check(105.0, None) is None
    breach = watch.check(105.01, None)
    assert breach is not None and breach.kind is LimitKind.RUNTIME
    assert "runtime limit exceeded" in breach.message and "5 s" in breach.message
    assert watch.deadline() == 105.0


def test_memory_breach_only_when_resident_memory_is_watched() -> None:
    watch = LimitWatch(Limits(memory_bytes=200 * MiB), started=0.0)
    assert watch.check(1.0, 200 * MiB) is None
    assert watch.check(1.0, None) is None  # a cgroup enforces it
    breach = watch.check(1.0, 600 * MiB)
    assert breach is not None and breach.kind is LimitKind.MEMORY
    assert "600 MiB > limit 200 MiB" in breach.message


@given(st.integers(0, 10 ** 13), st.integers(1, 10 ** 13), st.floats(0, 1e6), st.floats(0.1, 1e6))
def test_breach_iff_over_a_limit(rss: int, limit: int, elapsed: float, runtime: float) -> None:
    now = 10.0 + elapsed
    breach = LimitWatch(Limits(limit, runtime), started=10.0).check(now, rss)
    assert (breach is not None) == (rss > limit or now - 10.0 > runtime)
    if rss > limit:
        assert breach is not None and breach.kind is LimitKind.MEMORY


def test_classify_outcomes() -> None:
    done = classify(0, breach=None, oom_kills=0, memory_bytes=None, stderr_tail="warn")
    assert (done.status, done.error_message, done.exit_code) == (S.DONE, None, 0)
    err = classify(3, breach=None, oom_kills=0, memory_bytes=None, stderr_tail="boom")
    assert err.status is S.ERROR and err.exit_code == 3
    assert "exit code 3" in (err.error_message or "") and "boom" in (err.error_message or "")
    sig = classify(-15, breach=None, oom_kills=0, memory_bytes=None, stderr_tail="")
    assert sig.status is S.ERROR and "SIGTERM" in (sig.error_message or "")
    assert sig.exit_code == 143
    oom = classify(137, breach=None, oom_kills=1, memory_bytes=200 * MiB, stderr_tail="")
    assert oom.status is S.RESOURCE_ERROR and "200 MiB" in (oom.error_message or "")
    # an OOM kill inside a command that still succeeded is a success
    assert classify(0, breach=None, oom_kills=2, memory_bytes=1, stderr_tail="").status is S.DONE
    breach = Breach(LimitKind.RUNTIME, "runtime limit exceeded: ran longer than 1 s")
    z = classify(-9, breach=breach, oom_kills=0, memory_bytes=None, stderr_tail="tail")
    assert z.status is S.RESOURCE_ERROR and (z.error_message or "").startswith("runtime limit")


@given(st.integers(-64, 255), st.integers(0, 3), st.booleans())
def test_classify_is_total_and_consistent(code: int, ooms: int, breached: bool) -> None:
    breach = Breach(LimitKind.MEMORY, "memory limit exceeded") if breached else None
    verdict = classify(code, breach=breach, oom_kills=ooms, memory_bytes=MiB, stderr_tail="")
    if breached or (code != 0 and ooms):
        assert verdict.status is S.RESOURCE_ERROR
    elif code == 0:
        assert verdict.status is S.DONE
    else:
        assert verdict.status is S.ERROR
    assert verdict.exit_code is not None and verdict.exit_code >= 0


def test_format_bytes() -> None:
    assert format_bytes(512) == "512 B"
    assert format_bytes(200 * MiB) == "200 MiB"
    assert format_bytes(3 * 2 ** 30 // 2) == "1.5 GiB"
