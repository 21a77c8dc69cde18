"""The server's public names: ``__all__`` lists exactly what each public module defines."""

from __future__ import annotations

import importlib

import pytest

MODULES = ["actors.server", "actors.server.fsm", "actors.server.errors", "actors.server.clock",
           "actors.server.schema", "actors.server.db", "actors.server.changes",
           "actors.server.settings", "actors.server.app", "actors.server.serve",
           "actors.server.models", "actors.server.state", "actors.server.notify",
           "actors.server.migrations"]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__, name
    for attr in module.__all__:
        assert hasattr(module, attr), f"{name}.{attr}"
    assert len(set(module.__all__)) == len(module.__all__)


def test_error_classes_subclass_the_project_tree() -> None:
    from actors.errors import ActorswarmError, ConfigError
    from actors.server import errors
    assert issubclass(errors.RequestError, ActorswarmError)
    assert issubclass(errors.ServerConfigError, ConfigError)
    assert issubclass(errors.InvalidInput, ValueError)
    assert issubclass(errors.UnknownId, LookupError)
    assert {c.status_code for c in (errors.InvalidInput, errors.UnknownId, errors.Conflict,
                                    errors.AuthError)} == {422, 404, 409, 401}
