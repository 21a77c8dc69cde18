"""The actor runtime: actors in OS processes (or threads), typed messages, supervision.

Domain-agnostic: it knows ``messages`` (codec, envelope, runtime protocol) and pykka, never a
swarm message. Public API::

    Node(rundir)                 one per process; .spawn(name, ActorCls, init), .ref(name)
    ActorRef                     .tell(msg), .ask(msg, timeout=), .ask_future(msg, timeout=)
    Actor                        base class: receive(message, incoming), send_after, reply
    Supervisor(node, specs)      start/stop in order, restarts, intensity, hang detection
    ActorSpec, CommandSpec, Restart
"""

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
