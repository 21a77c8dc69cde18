"""The distributor loop: one per workflow run, between the state server and a backend.

Who sends what to whom (``docs/server-api.md`` sections 2 and 5), all in batches:

- at start: distributor → server POST ``/cluster`` (the backend's queues), POST
  ``/distributor/{wfr}/started`` (run B→I) and an empty POST ``.../launched`` (run I→O);
- every tick: ``claim`` up to the backend's capacity (at most ``claim_batch``; with
  ``include_unlaunched``: instances whose claim answer was lost come again; after an idle tick,
  when the server's ``started`` answer said ``claim_wait``, with ``wait`` = the idle pause: the
  server answers as soon as work is queued instead of the loop sleeping), ``backend.launch``
  the claimed instances (never one it launched already), POST ``launched`` with their
  distributor ids; ``backend.poll`` and POST
  ``results`` for the outcomes the distributor reports (the worker reports its own);
- every ``heartbeat_interval``: POST ``heartbeat`` with the launched instances; the answer's
  ``kill_self`` ids are killed on the backend, its ``triaging`` ids are checked with
  ``backend.alive`` (alive → R);
- it stops when the run reaches D, E, S, T or A (after a hot resume it first waits for its running
  instances, which go on), or when ``stop`` is set (signal, parent gone); ``backend.close()``
  then kills whatever still runs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs

from actors.distributor import wire
from actors.distributor.backend import Backend, DistributorId, Outcome
from actors.distributor.http import ServerClient
from actors.distributor.tracker import Pacer, Tracker, plan_heartbeat, triage_reports
from actors.errors import ProtocolMismatch
from messages.values import FINAL_RUN_STATUSES, RunStatus, TaskInstanceId

__all__ = ["Distributor", "DistributorConfig"]

log = logging.getLogger(__name__)

_CLAIMING = frozenset({RunStatus.INSTANTIATED, RunStatus.LAUNCHED, RunStatus.RUNNING})


@attrs.frozen
class DistributorConfig:
    """Settings of the loop (from the command line)."""

    workflow_run_id: int
    claim_batch: int = 1000
    results_batch: int = 5000
    heartbeat_interval: float = 30.0
    report_by_buffer: float = 3.1
    max_idle: float = 0.25

    @property
    def next_report_increment(self) -> float:
        """Seconds the server waits for the next heartbeat of a launched instance."""
        return self.heartbeat_interval * self.report_by_buffer


def declare_queues(client: ServerClient, backend: Backend) -> None:
    """POST /cluster with ``backend``'s cluster and queues (an upsert by name)."""
    client.post("/cluster", {
        "name": backend.cluster_name, "type": backend.cluster_type, "params": {},
        "queues": [{"name": n, "params": q.to_params()} for n, q in backend.queues().items()]})


class Distributor:
    """Drives one workflow run's instances through one backend; see the module docstring."""

    def __init__(self, config: DistributorConfig, client: ServerClient, backend: Backend, *,
                 clock: Callable[[], float] = time.monotonic,
                 stop: threading.Event | None = None,
                 orphaned: Callable[[], bool] = lambda: False) -> None:
        self.config = config
        self.client = client
        self.backend = backend
        self.stop = stop or threading.Event()
        self._clock = clock
        self._orphaned = orphaned
        self.tracker = Tracker()
        self.pacer = Pacer(config.heartbeat_interval, max_idle=config.max_idle)
        self.run_status: RunStatus | None = None
        self._hot_resume = False
        self._base = f"/distributor/{config.workflow_run_id}"
        self.reported = 0
        self.claim_wait_ok = False  # the server accepts claims that wait for work
        self._claim_wait = 0.0  # the idle pause the next claim spends on the server

    def declare_queues(self) -> None:
        """POST /cluster: the backend's cluster and queues (upsert; binding needs them)."""
        declare_queues(self.client, self.backend)

    def start(self) -> RunStatus:
        """Declare the queues, tell the server this distributor started; the run's status."""
        self.declare_queues()
        answer = self.client.post(f"{self._base}/started", {})
        self._set_status(_status_of(answer))
        self.claim_wait_ok = answer.get("claim_wait") is True
        if self.run_status not in FINAL_RUN_STATUSES:
            self._post_launched([])  # I→O: ready to launch
        assert self.run_status is not None
        return self.run_status

    def run(self) -> None:
        """Loop until the run is over or ``stop`` is set; then ``backend.close()``."""
        try:
            while not self.stop.is_set():
                if self._orphaned():
                    log.warning("parent process is gone; stopping")
                    break
                busy = self.tick()
                if self.run_status in FINAL_RUN_STATUSES and not self._draining():
                    log.info("run is %s; distributor exits", self.run_status)
                    break
                pause = self.pacer.pause(busy)
                if pause and self._may_claim():
                    self._claim_wait = pause  # spent on the server, woken by queued work
                elif pause:
                    self.stop.wait(pause)
        finally:
            self.backend.close()

    def _draining(self) -> bool:
        """After a hot resume the running instances go on: wait for them."""
        return self._hot_resume and len(self.tracker) > 0

    def tick(self) -> bool:
        """One round of claim, launch, poll, heartbeat and reports; True if it did work."""
        busy = self._claim_and_launch()
        reports = self.tracker.absorb(self.backend.poll())
        now = self._clock()
        if self.pacer.heartbeat_due(now):
            self.pacer.heartbeat_sent(now)
            reports.extend(self._heartbeat())
        self._post_results(reports)
        return busy or bool(reports)

    def _may_claim(self) -> bool:
        """Whether the next tick claims, and its claim may wait on the server."""
        return (self.claim_wait_ok and self.run_status in _CLAIMING
                and self.backend.capacity() > 0 and not self.stop.is_set())

    def _claim_and_launch(self) -> bool:
        wait, self._claim_wait = self._claim_wait, 0.0
        if self.run_status not in _CLAIMING:
            return False
        want = min(self.backend.capacity(), self.config.claim_batch)
        if want <= 0:
            return False
        # we report every claimed instance launched before claiming again, so instances of
        # the run still in I come from a claim whose answer we never got: take them again
        body: dict[str, Any] = {"max": want, "include_unlaunched": True}
        if wait > 0:
            body["wait"] = wait
        claim = wire.parse_claim(self.client.post(f"{self._base}/claim", body))
        self._set_status(claim.run_status)
        if not claim.requests and not claim.unlaunchable:
            return False
        pairs: list[tuple[TaskInstanceId, DistributorId | None]] = []
        fresh = []
        for request in claim.requests:  # launched already (a report lost): never twice
            known = self.tracker.did(request.task_instance_id)
            if known is None:
                fresh.append(request)
            else:
                pairs.append((request.task_instance_id, known))
        ids = self.backend.launch(fresh) if fresh else []
        for request, did in zip(fresh, ids):
            pairs.append((request.task_instance_id, did))
            if did is not None:
                self.tracker.add(request.task_instance_id, did)
        for bad in claim.unlaunchable:
            log.error("cannot launch task instance %s: %s", bad.task_instance_id, bad.reason)
            pairs.append((bad.task_instance_id, None))
        self._post_launched(pairs)
        return len(claim.requests) + len(claim.unlaunchable) >= want

    def _post_launched(self, pairs: list[tuple[TaskInstanceId, DistributorId | None]]) -> None:
        body = wire.launched_body(pairs, self.config.next_report_increment)
        answer = self.client.post(f"{self._base}/launched", body)
        wire.parse_status_map("POST /distributor/{wfr}/launched", answer)

    def _heartbeat(self) -> list[Outcome]:
        body = {"task_instance_ids": [int(t) for t in self.tracker.active()],
                "next_report_increment": self.config.next_report_increment}
        answer = wire.parse_heartbeat(self.client.post(f"{self._base}/heartbeat", body))
        self._set_status(answer.run_status)
        plan = plan_heartbeat(self.tracker, answer.kill_self, answer.triaging)
        if plan.kill:
            log.info("KILL_SELF for %d instance(s)", len(plan.kill))
            self.backend.kill(plan.kill)
        reports = list(plan.reports)
        if plan.check_alive:
            reports.extend(triage_reports(self.tracker, self.backend.alive(plan.check_alive)))
        return reports

    def _post_results(self, reports: list[Outcome]) -> None:
        step = self.config.results_batch
        for i in range(0, len(reports), step):
            chunk = reports[i:i + step]
            answer = self.client.post(f"{self._base}/results", wire.results_body(chunk))
            wire.parse_status_map("POST /distributor/{wfr}/results", answer)
            self.reported += len(chunk)

    def _set_status(self, status: RunStatus) -> None:
        if status != self.run_status:
            log.info("run %s is %s", self.config.workflow_run_id, status.value)
        if status is RunStatus.HOT_RESUME:
            self._hot_resume = True
        self.run_status = status


def _status_of(answer: Any) -> RunStatus:
    route = "POST /distributor/{wfr}/started"
    if not isinstance(answer, dict) or not isinstance(answer.get("status"), str):
        raise ProtocolMismatch(f"{route}: answer lacks 'status': {str(answer)[:200]}")
    try:
        return RunStatus(answer["status"])
    except ValueError as exc:
        raise ProtocolMismatch(f"{route}: unknown run status {answer['status']!r}") from exc
