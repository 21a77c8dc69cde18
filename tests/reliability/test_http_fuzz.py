"""Schemathesis over the state server's OpenAPI document: no 5xx for any generated request
(valid or not), every refusal has the documented error body, and a refused request leaves
the database exactly as it was (every row of every table compared before and after).

The default tier draws a few requests per operation; ``nightly`` draws hundreds.
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

from actors.server import ServerSettings, create_app
from tests.server.helpers import API, TestClient, bind_dag, claim_launch, queue, snapshot, start_run

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis


class FakeClock:
    """A wall clock that stands still: a refused request cannot even move a date."""

    def now(self) -> dt.datetime:
        return dt.datetime(2026, 1, 1, 12, 0, 0)


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "fuzz.sqlite"


@pytest.fixture
def app(db_path: Path) -> Iterator[FastAPI]:
    app = create_app(ServerSettings(db_url=f"sqlite:///{db_path}"), clock=FakeClock())
    with TestClient(app, base_url=API) as client:
        ids = bind_dag(client, {"a": [], "b": ["a"], "c": ["a"]})  # ids exist: requests go deep
        wfr = start_run(client, ids)
        queue(client, ids, wfr, ["a"])
        claim_launch(client, wfr)
    yield app
    app.state.server.db.dispose()


def _fuzz(app: FastAPI, db_path: Path, examples: int) -> list[Any]:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    problems: list[Any] = []
    counts = {"4xx": 0, "2xx": 0}

    def checker(label: str) -> Callable[[Any], None]:
        def check(case: Any) -> None:
            before = snapshot(db_path)
            response = case.call()
            where = (label, case.path_parameters, case.query, str(case.body)[:200])
            if response.status_code >= 500:
                problems.append((*where, "5xx", response.text[:200]))
            elif response.status_code >= 400:
                counts["4xx"] += 1
                body = response.json()
                if set(body) != {"detail", "error"} or "type" not in body["error"]:
                    problems.append((*where, "error body", body))
                if snapshot(db_path) != before:
                    problems.append((*where, f"{response.status_code} changed the database"))
            else:
                counts["2xx"] += 1
        return check

    for result in schema.get_all_operations():
        operation: Any = result.ok() if hasattr(result, "ok") else pytest.fail(str(result))
        run = settings(max_examples=examples, deadline=None, database=None,
                       suppress_health_check=list(HealthCheck))(
            given(case=operation.as_strategy())(checker(operation.label)))
        run()
    assert counts["4xx"] > examples and counts["2xx"] > 0, counts  # both kinds were tried
    return problems


@pytest.mark.timeout(600)
def test_refused_requests_never_5xx_and_never_change_the_database(app: FastAPI,
                                                                   db_path: Path) -> None:
    problems = _fuzz(app, db_path, 15)
    assert not problems, problems[:5]


@pytest.mark.nightly
@pytest.mark.timeout(7200)
def test_refused_requests_never_5xx_and_never_change_the_database_nightly(
        app: FastAPI, db_path: Path) -> None:
    problems = _fuzz(app, db_path, 300)
    assert not problems, problems[:5]
