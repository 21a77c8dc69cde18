"""Actors used by the runtime tests (importable by child processes as MODULE:CLASS)."""

from __future__ import annotations

import os
import time
from typing import Any

import attrs

from messages import message
from messages.runtime import Rejection

from actors.runtime import Actor, Incoming


@message("test.Echo")
@attrs.frozen
class Echo:
    text: str


@message("test.Add")
@attrs.frozen
class Add:
    a: int
    b: int


@message("test.Sleep")
@attrs.frozen
class Sleep:
    seconds: float


@message("test.Crash")
@attrs.frozen
class Crash:
    reason: str = "asked to crash"


@message("test.Count")
@attrs.frozen
class Count:
    n: int


@message("test.GetCount")
@attrs.frozen
class GetCount:
    pass


@message("test.WhoAmI")
@attrs.frozen
class WhoAmI:
    pass


@message("test.Identity")
@attrs.frozen
class Identity:
    name: str
    pid: int
    init: str | None


@message("test.Forward")
@attrs.frozen
class Forward:
    target: str
    text: str


@message("test.Init")
@attrs.frozen
class Init:
    label: str


class EchoActor(Actor):
    """Answers Echo with Echo, Add with the sum, counts Count tells; crashes on Crash tells."""

    def __init__(self, node: Any, name: str, init: Any = None) -> None:
        super().__init__(node, name, init)
        self.count = 0

    def receive(self, message: Any, incoming: Incoming) -> Any:
        match message:
            case Echo(text):
                if incoming.reply_to is not None:
                    self.reply(incoming, Echo(text))
                return Echo(text)
            case Add(a, b):
                if a < 0:
                    return Rejection("negative numbers are not accepted")
                return Count(a + b)
            case Sleep(seconds):
                time.sleep(seconds)
                return Echo("slept")
            case Crash(reason):
                raise ValueError(reason)
            case Count(n):
                self.count += n
                return None
            case GetCount():
                return Count(self.count)
            case WhoAmI():
                label = self.init.label if isinstance(self.init, Init) else None
                return Identity(self.name, os.getpid(), label)
            case Forward(target, text):
                self.tell(target, Echo(text), reply_to=self.name)
                return None
        raise TypeError(f"unexpected {message!r}")
