"""Run configuration values that travel to the actors in their init messages.

Root (CLI or embedding host) -> every swarm actor, once, in its init message (see
``messages.swarm.SwarmInit``). ``WorkflowRunConfig`` is the user-facing part (Jobmon's names
and defaults); ``OrchestratorConfig`` adds what only the orchestrator needs.

``WorkflowRunConfig.from_defaults()`` reads, in increasing precedence: the defaults below, an
optional TOML config file (``$ACTORSWARM_CONFIG`` or ``~/.config/actorswarm/config.toml``,
section ``[run]``), and ``ACTORSWARM_*`` environment variables (e.g.
``ACTORSWARM_HEARTBEAT_INTERVAL=5``). Unknown keys and bad values raise ``ValueError`` naming
the key and where it came from.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from typing import Any

import attrs

from messages.codec import message

__all__ = ["GatewaySettings", "OrchestratorConfig", "WorkflowRunConfig"]

_BOOL_WORDS = {"1": True, "true": True, "yes": True, "on": True,
               "0": False, "false": False, "no": False, "off": False}


def _positive(instance: Any, attribute: Any, value: float) -> None:
    if not value > 0:
        raise ValueError(f"{attribute.name} must be > 0, got {value!r}")


@message("config.WorkflowRunConfig")
@attrs.frozen
class WorkflowRunConfig:
    """How one workflow run behaves (Jobmon defaults: 30 s heartbeat, buffer 3.1, 600 s sync)."""

    fail_fast: bool = False
    heartbeat_interval: float = attrs.field(default=30.0, validator=_positive)
    heartbeat_report_by_buffer: float = attrs.field(default=3.1, validator=_positive)
    wedged_workflow_sync_interval: float = attrs.field(default=600.0, validator=_positive)
    fail_after_n_executions: int | None = None

    @classmethod
    def from_defaults(cls, path: str | None = None,
                      environ: Mapping[str, str] | None = None, **overrides: Any) -> WorkflowRunConfig:
        """Defaults, then the config file's ``[run]`` table, then ACTORSWARM_* variables."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        file_path = path or env.get("ACTORSWARM_CONFIG") or os.path.join(
            os.path.expanduser("~"), ".config", "actorswarm", "config.toml")
        if os.path.exists(file_path):
            values.update(_read_run_table(file_path, cls))
        elif path is not None:
            raise ValueError(f"config file {path} does not exist")
        for field in attrs.fields(cls):
            raw = env.get(f"ACTORSWARM_{field.name.upper()}")
            if raw is not None:
                values[field.name] = _coerce(field, raw, f"ACTORSWARM_{field.name.upper()}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        try:
            return cls(**values)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"invalid run configuration: {exc}") from None


def _read_run_table(path: str, cls: type) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            doc = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"config file {path}: {exc}") from None
    table = doc.get("run", {})
    if not isinstance(table, dict):
        raise ValueError(f"config file {path}: [run] must be a table")
    known = {f.name: f for f in attrs.fields(cls)}
    out = {}
    for key, value in table.items():
        if key not in known:
            raise ValueError(f"config file {path}: unknown key run.{key} "
                             f"(known: {', '.join(sorted(known))})")
        out[key] = _coerce(known[key], value, f"{path}: run.{key}")
    return out


def _type_name(tp: Any) -> str:
    """A field's annotation as text, whether attrs still has the string or the codec has
    resolved it to the type (``float`` and ``"float"`` both give "float")."""
    if isinstance(tp, str):
        return tp
    return tp.__name__ if isinstance(tp, type) else str(tp)


def _coerce(field: Any, raw: Any, where: str) -> Any:
    kind = _type_name(field.type)
    try:
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            return _BOOL_WORDS[str(raw).strip().lower()]
        if kind == "float":
            return float(raw)
        if kind.startswith("int"):
            if raw in ("", "none", "None", None):
                return None
            if isinstance(raw, bool):
                raise ValueError
            return int(raw)
    except (KeyError, ValueError, TypeError):
        raise ValueError(f"{where}: {raw!r} is not a valid {kind}") from None
    return raw


@message("config.OrchestratorConfig")
@attrs.frozen
class OrchestratorConfig:
    """The run configuration plus the orchestrator's own limits (Jobmon: timeout 36000 s)."""

    run: WorkflowRunConfig = attrs.Factory(WorkflowRunConfig)
    timeout: float = attrs.field(default=36000.0, validator=_positive)
    max_batch_size: int = 500
    #: long-poll wait used by the synchronizer against servers that support it (0: never)
    long_poll_wait: float = 10.0
    #: how long run-status transitions are retried while the server is unreachable
    server_outage_limit: float = 600.0

    @classmethod
    def from_run_config(cls, run: WorkflowRunConfig, **kw: Any) -> OrchestratorConfig:
        return cls(run=run, **{k: v for k, v in kw.items() if v is not None})


@message("config.GatewaySettings")
@attrs.frozen(repr=False)
class GatewaySettings:
    """Where the state server is and how to authenticate (the token is never printed)."""

    base_url: str
    token: str | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 30.0

    def __repr__(self) -> str:
        token = "None" if self.token is None else "'***'"
        return f"GatewaySettings(base_url={self.base_url!r}, token={token})"
