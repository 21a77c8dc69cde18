"""The actor runtime: actors in OS processes (or threads), typed messages, supervision.

Domain-agnostic: it knows ``messages`` (codec, envelope, runtime protocol) and pykka, never a
swarm message. Public API::

    Node(rundir)                 one per process; .spawn(name, ActorCls, init), .ref(name)
    ActorRef                     .tell(msg), .ask(msg, timeout=), .ask_future(msg, timeout=)
    Actor                        base class: receive(message, incoming), send_after, reply
    Supervisor(node, specs)      start/stop in order, restarts, intensity, hang detection
    ActorSpec, CommandSpec, Restart

The names are imported on first use: ``python -m actors.runtime.guard``, the small process in
front of every command child (the embedded server, the distributor), imports this package
and needs none of them (pykka and the codec cost it ~0.1 s per start).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from actors.runtime.actor import Actor, Incoming
    from actors.runtime.children import ActorSpec, CommandSpec, Restart
    from actors.runtime.node import ActorRef, Node, NodeStats
    from actors.runtime.supervisor import Supervisor

__all__ = [
    "Actor",
    "ActorRef",
    "ActorSpec",
    "CommandSpec",
    "Incoming",
    "Node",
    "NodeStats",
    "Restart",
    "Supervisor",
]

_WHERE = {
    "Actor": "actors.runtime.actor",
    "Incoming": "actors.runtime.actor",
    "ActorSpec": "actors.runtime.children",
    "CommandSpec": "actors.runtime.children",
    "Restart": "actors.runtime.children",
    "ActorRef": "actors.runtime.node",
    "Node": "actors.runtime.node",
    "NodeStats": "actors.runtime.node",
    "Supervisor": "actors.runtime.supervisor",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'actors.runtime' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
