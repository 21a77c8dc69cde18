"""Fixtures of the distributor tests (the no-leftover-process check is in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.distributor.fakeserver import FakeServer


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    """A stand-in for the server's worker routes, on a free loopback port."""
    with FakeServer() as server:
        yield server
