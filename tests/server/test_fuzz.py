"""Schemathesis over /openapi.json: no generated request (valid or not) gets a 5xx answer,
and every 4xx answer has the documented error body."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings

from tests.server.helpers import TestClient, bind_dag, claim_launch, queue, start_run

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import schemathesis


@pytest.mark.timeout(300)
def test_generated_requests_never_get_5xx(app: FastAPI, client: TestClient) -> None:
    ids = bind_dag(client, {"a": [], "b": ["a"]})  # ids 1.. exist, so some requests go deep
    wfr = start_run(client, ids)
    queue(client, ids, wfr, ["a"])
    claim_launch(client, wfr)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    problems: list[Any] = []

    def checker(label: str) -> Callable[[Any], None]:
        def check(case: Any) -> None:
            response = case.call()
            if response.status_code >= 500:
                problems.append((label, case.path_parameters, case.query, case.body,
                                 response.text[:200]))
            elif response.status_code >= 400:
                body = response.json()
                if set(body) != {"detail", "error"} or "type" not in body["error"]:
                    problems.append((label, "error body", body))
        return check

    for result in schema.get_all_operations():
        operation: Any = result.ok() if hasattr(result, "ok") else pytest.fail(str(result))
        run = settings(max_examples=15, deadline=None, database=None,
                       suppress_health_check=list(HealthCheck))(
            given(case=operation.as_strategy())(checker(operation.label)))
        run()
    assert not problems, problems[:5]
