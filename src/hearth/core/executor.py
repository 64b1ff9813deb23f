"""The executor: runs executions against the drivers, in order per device, within each radio's limits.

Semantics (the README's "Executions" section says the same to users):
- Every command of an execution is checked against its device's controllable before anything is accepted.
- The execution and its commands are journaled (synced to disk) before its id is returned, and each
  command again before it is handed to the driver.
- ``delay`` (seconds) holds a command until ``delay`` seconds after the execution was registered.
- Per device, commands are sent in the order they became ready; per radio, at most the driver's
  ``max_concurrency`` are in flight. Nothing is refused for being busy: what waits is QUEUED_GATEWAY_SIDE.
- ``lockLevel`` L > 0 on a completed command holds the device at level L for ``lock_hold_s``; meanwhile a
  command with a lower level fails with PRIORITY_LOCK__USER. ``highPriority`` executions ignore locks
  and go ahead of every normal waiter, per device and per radio.
- A failed command skips the later commands on the same device (they fail with the same failure); other
  devices carry on. Cancelling fails what is pending or running with CMDCANCELLED; the execution with
  CANCELLED.
- After a crash: a command that was in flight (journaled TRANSMITTED or IN_PROGRESS) may or may not have
  reached its device, so it closes FAILED with the failure type UNKNOWN (-1: the outcome is not known),
  never a failure it cannot vouch for; its device is then read back where the radio can (``ReadBack``).
  The later commands of that device were never sent: they fail with COMMAND_INTERRUPTED. Pending ones run
  at their due time, or at once if missed by less than ``missed_grace_s``, else fail with TIMED_OUT.
  No execution stays unfinished.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from typing import Any

from hearth.core.bus import EventBus
from hearth.core.deadlines import Deadlines
from hearth.core.drivers import DriverManager
from hearth.core.execution import CommandRun, Execution
from hearth.core.gates import PriorityGate
from hearth.core.read_back import UNKNOWN_OUTCOME, ReadBack
from hearth.core.registry import DeviceRegistry
from hearth.core.state_updates import StateUpdater
from hearth.core.tasks import cancel_all_and_wait
from hearth.model.action import ActionGroup
from hearth.model.definition import CommandRejected
from hearth.model.errors import ApiError
from hearth.model.events import (
    CommandExecutionStateChangedEvent,
    ExecutionRegisteredEvent,
    ExecutionStateChangedEvent,
)
from hearth.model.execution import ExecutionState, ExecutionSubType, ExecutionType, FailureType
from hearth.sdk.driver import CommandCall, CommandFailed
from hearth.store.journal import ExecutionJournal

log = logging.getLogger(__name__)

S = ExecutionState


def _now() -> int:
    return time.time_ns() // 1_000_000


class Executor:
    def __init__(
        self,
        registry: DeviceRegistry,
        drivers: DriverManager,
        bus: EventBus,
        journal: ExecutionJournal,
        *,
        lock_hold_s: float = 900.0,
        missed_grace_s: float = 900.0,
        states: StateUpdater | None = None,
    ) -> None:
        self._registry = registry
        self._states = states
        self._drivers = drivers
        self._bus = bus
        self._journal = journal
        self.lock_hold_s = lock_hold_s
        self.missed_grace_s = missed_grace_s
        self.current: dict[str, Execution] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._device_gates: dict[str, PriorityGate] = {}
        self._radio_gates: dict[str, PriorityGate] = {}
        self._locks: dict[str, tuple[int, float]] = {}  # deviceURL -> (level, monotonic expiry)
        # Command timeouts, by duration (a driver's command_timeout_s): one timer for all commands in flight.
        self._deadlines: dict[float, Deadlines] = {}
        self._stopping = False
        # Reads back the devices of commands whose outcome a crash left unknown (see recover).
        self.read_back: ReadBack | None = None

    # ------------------------------------------------------------------ accepting

    def plan(self, group: ActionGroup, start: int) -> list[CommandRun]:
        """Check every command against its device; the error names the device or command at fault."""
        runs: list[CommandRun] = []
        for action in group.actions:
            device = self._registry.require(action.device_url)
            if not device.enabled:
                raise ApiError.unsupported(f"Device is disabled : {device.url_text}")
            for command in action.commands:
                try:
                    spec = device.controllable.command(command.name)
                    params = spec.check(command.parameters)
                except CommandRejected as exc:
                    raise ApiError.unsupported(str(exc)) from None
                client = command.sensitive_parameters_indexes
                # The controllable's own indexes are ascending and unique already: most commands end here.
                sensitive = (
                    tuple(sorted(set(spec.sensitive_indexes) | {i for i in client if 0 <= i < len(params)}))
                    if client
                    else spec.sensitive_indexes
                )
                runs.append(
                    CommandRun(
                        rank=len(runs),
                        device_url=device.url_text,
                        name=command.name,
                        parameters=params,
                        sensitive=sensitive,
                        delay=command.delay,
                        lock_level=command.lock_level,
                        due_time=start + command.delay * 1000,
                    )
                )
        return runs

    def sensitive_masks(self, group: ActionGroup) -> dict[tuple[int, int], set[int]]:
        """(action, command) -> parameter indexes never to show: the controllable's and the client's."""
        masks = {}
        for i, action in enumerate(group.actions):
            device = self._registry.get(action.device_url)
            for j, command in enumerate(action.commands):
                spec = device.controllable.commands.get(command.name) if device is not None else None
                indexes = set(spec.sensitive_indexes if spec is not None else ())
                indexes |= set(command.sensitive_parameters_indexes)
                if indexes:
                    masks[(i, j)] = indexes
        return masks

    async def submit(
        self,
        group: ActionGroup,
        *,
        owner: str,
        source: str = "local",
        type: ExecutionType = ExecutionType.IMMEDIATE,
        sub_type: ExecutionSubType = ExecutionSubType.MANUAL_CONTROL,
        action_group_oid: str | None = None,
        trigger_id: str | None = None,
        high_priority: bool = False,
        internal: bool = False,
    ) -> Execution:
        start = _now()
        commands = self.plan(group, start)
        self._mark_sendable(commands, high_priority)
        masks = self.sensitive_masks(group)
        execution = Execution(
            id=str(uuid.uuid4()),
            label=group.label,
            metadata=group.metadata,
            owner=owner,
            source=source,
            type=type,
            sub_type=sub_type,
            action_group_oid=action_group_oid,
            action_group=group.wire(masks),
            commands=commands,
            start_time=start,
            trigger_id=trigger_id,
            high_priority=high_priority,
            internal=internal,
            devices=list(dict.fromkeys(c.device_url for c in commands)),
        )
        await self._journal.register(execution)
        self.current[execution.id] = execution
        self._bus.publish(
            ExecutionRegisteredEvent(
                exec_id=execution.id,
                label=execution.label,
                metadata=execution.metadata,
                type=int(type),
                sub_type=int(sub_type),
                trigger_id=trigger_id,
                actions=execution.registered_actions(),
            )
        )
        self._launch(execution)
        return execution

    def _mark_sendable(self, commands: list[CommandRun], high_priority: bool) -> None:
        """Journal as TRANSMITTED, with the execution itself, the first command of each device that can go at
        once (no delay, its device and radio idle, no lock against it): one sync instead of two.

        Should the gateway die between that sync and the radio, such a command closes with the failure type
        UNKNOWN ("may or may not have happened"), the same answer as for any command about to be sent.
        """
        seen: set[str] = set()
        for command in commands:
            if command.device_url in seen:
                continue
            seen.add(command.device_url)
            if command.delay or not self._lock_allows(command, high_priority):
                continue
            device_gate = self._device_gates.get(command.device_url)
            radio_gate = self._radio_gates.get(command.device_url.partition(":")[0])
            if (device_gate is None or not device_gate.would_wait()) and (
                radio_gate is None or not radio_gate.would_wait()
            ):
                command.state = S.TRANSMITTED
                command.sent_with_registration = True

    def _launch(self, execution: Execution) -> None:
        task = asyncio.create_task(self._run(execution), name=f"exec-{execution.id}")
        self._tasks[execution.id] = task

    # ------------------------------------------------------------------ running

    async def _run(self, execution: Execution) -> None:
        try:
            by_device: dict[str, list[CommandRun]] = {}
            for command in execution.commands:
                by_device.setdefault(command.device_url, []).append(command)
            runs = [
                self._run_device(execution, url, cmds)
                for url, cmds in by_device.items()
                if not all(c.is_final for c in cmds)
            ]
            if len(runs) == 1:
                await runs[0]  # one device (most executions): in this task, not in a task of its own
            else:
                await asyncio.gather(*runs)
        except asyncio.CancelledError:
            pass  # cancelled by the user: _finish says so
        except Exception:
            log.exception("execution %s failed inside the executor", execution.id)
        finally:
            if not self._stopping:
                self._finish(execution)

    async def _run_device(self, execution: Execution, url: str, commands: list[CommandRun]) -> None:
        failed: CommandRun | None = None
        for command in commands:
            if failed is not None:
                if failed.failure is FailureType.UNKNOWN:
                    # Known not sent; what came before it is not known, so it is not sent after a restart.
                    self._set(
                        execution,
                        command,
                        S.FAILED,
                        FailureType.COMMAND_INTERRUPTED,
                        f"not sent: command {failed.rank} on this device was in flight when the gateway stopped",
                    )
                else:
                    self._set(
                        execution,
                        command,
                        S.FAILED,
                        failed.failure,
                        f"not sent: command {failed.rank} on this device failed",
                    )
                continue
            if command.is_final:
                # Closed before a restart: an interrupted command still stops the ones after it.
                if command.state is S.FAILED:
                    failed = command
                continue
            try:
                await self._run_command(execution, command)
            except asyncio.CancelledError:
                if not self._stopping:
                    self._set(execution, command, S.FAILED, FailureType.CMDCANCELLED, "cancelled")
                raise
            if command.state is S.FAILED:
                failed = command

    async def _run_command(self, execution: Execution, command: CommandRun) -> None:
        wait_s = (command.due_time - _now()) / 1000
        if wait_s > 0:
            self._set(execution, command, S.NOT_TRANSMITTED, time_to_next=int(wait_s * 1000))
            await asyncio.sleep(wait_s)
        device = self._registry.get(command.device_url)
        if device is None:
            self._set(execution, command, S.FAILED, FailureType.ACTUATORUNKNOWN, "the device was removed")
            return
        try:
            driver = self._drivers.driver_for(device.url)
        except ApiError as exc:
            self._set(execution, command, S.FAILED, FailureType.PEER_DOWN, exc.message)
            return
        device_gate = self._device_gates.get(command.device_url)
        if device_gate is None:
            device_gate = self._device_gates[command.device_url] = PriorityGate(1)
        radio_gate = self._radio_gates.get(device.url.protocol)
        if radio_gate is None:
            radio_gate = self._radio_gates[device.url.protocol] = PriorityGate(driver.max_concurrency)
        high = execution.high_priority
        if device_gate.would_wait() or radio_gate.would_wait():
            self._set(execution, command, S.QUEUED_GATEWAY_SIDE)
        await device_gate.acquire(high)
        try:
            if not self._lock_allows(command, high):
                level = self._locks[command.device_url][0]
                self._set(
                    execution, command, S.FAILED, FailureType.PRIORITY_LOCK__USER, f"device is locked at level {level}"
                )
                return
            await radio_gate.acquire(high)
            try:
                if not (command.sent_with_registration and command.state is S.TRANSMITTED):
                    command.state = S.TRANSMITTED
                    await self._journal.before_send(execution, command)
                self._set(execution, command, S.TRANSMITTED, force=True)
                call = CommandCall(
                    device_url=device.url,
                    name=command.name,
                    parameters=list(command.parameters),
                    exec_id=execution.id,
                    rank=command.rank,
                    high_priority=high,
                    on_progress=lambda eta: self._progress(execution, command, eta),
                )
                deadlines = self._deadlines.get(driver.command_timeout_s)
                if deadlines is None:
                    deadlines = self._deadlines[driver.command_timeout_s] = Deadlines(driver.command_timeout_s)
                # A deadline, not asyncio.timeout or wait_for: no timer nor task of its own per command.
                deadline = deadlines.arm()
                try:
                    if command.name == "setName" and self._states is not None:
                        # The name is the gateway's, not the radio's: no driver hears of it.
                        self._states.report(device, {"core:NameState": str(command.parameters[0])}, strict=False)
                    else:
                        await driver.execute(call)
                except asyncio.CancelledError:
                    if not deadline.timed_out():
                        raise
                    self._timed_out(execution, command, driver.command_timeout_s)
                    return
                except CommandFailed as exc:
                    self._set(execution, command, S.FAILED, exc.failure, exc.message)
                    return
                except TimeoutError:  # the driver's own
                    self._timed_out(execution, command, driver.command_timeout_s)
                    return
                except Exception as exc:
                    log.exception("driver %s failed on %s", device.url.protocol, command.name)
                    self._set(execution, command, S.FAILED, FailureType.UNKNOWN_ERROR, f"driver error: {exc}")
                    return
                finally:
                    deadlines.disarm(deadline)
                self._set(execution, command, S.COMPLETED)
                if command.lock_level:
                    self._locks[command.device_url] = (command.lock_level, time.monotonic() + self.lock_hold_s)
            finally:
                radio_gate.release()
        finally:
            device_gate.release()

    def _timed_out(self, execution: Execution, command: CommandRun, timeout_s: float) -> None:
        self._set(
            execution, command, S.FAILED, FailureType.TIME_OUT_ON_COMMAND_PROGRESS, f"no answer within {timeout_s:g} s"
        )

    def _lock_allows(self, command: CommandRun, high_priority: bool) -> bool:
        lock = self._locks.get(command.device_url)
        if lock is None or high_priority:
            return True
        level, expiry = lock
        if time.monotonic() >= expiry:
            del self._locks[command.device_url]
            return True
        return (command.lock_level or 0) >= level

    def _progress(self, execution: Execution, command: CommandRun, eta_ms: int) -> None:
        if command.state is S.TRANSMITTED:
            self._set(execution, command, S.IN_PROGRESS, time_to_next=eta_ms)

    # ------------------------------------------------------------------ state and events

    def _set(
        self,
        execution: Execution,
        command: CommandRun,
        state: ExecutionState,
        failure: FailureType = FailureType.NO_FAILURE,
        message: str | None = None,
        *,
        time_to_next: int = -1,
        force: bool = False,
    ) -> None:
        if command.state is state and not force:
            return
        command.state = state
        if state is S.FAILED:
            command.failure, command.message = failure, message
        self._bus.publish(
            CommandExecutionStateChangedEvent(
                exec_id=execution.id,
                device_url=command.device_url,
                rank=command.rank,
                new_state=state.value,
                failure_type=failure.name if state is S.FAILED else None,
            )
        )
        # The journal hears of the transitions a restart reads: TRANSMITTED (synced before the radio, by
        # register or before_send) and the end. QUEUED_GATEWAY_SIDE and NOT_TRANSMITTED restart as INITIALIZED
        # and IN_PROGRESS as TRANSMITTED whatever the journal says, so a row for them would change nothing.
        if state.is_final:
            self._journal.note_command(execution, command)
            return
        if state is S.TRANSMITTED and execution.effective_start_time is None:
            execution.effective_start_time = _now()
        # The execution shows its most advanced command; it never moves back, so this one step is enough.
        self._advance(execution, state, time_to_next)

    def _advance(
        self,
        execution: Execution,
        state: ExecutionState,
        time_to_next: int = -1,
        failed: list[dict[str, Any]] | None = None,
    ) -> None:
        old = execution.state
        if not execution.advance(state):
            return
        if state is S.TRANSMITTED or state.is_final:  # the others read the same after a restart (see _set)
            self._journal.note_execution(execution)
        failure = execution.failure if state is S.FAILED else None
        self._bus.publish(
            ExecutionStateChangedEvent(
                exec_id=execution.id,
                old_state=old.value,
                new_state=state.value,
                owner_key=execution.owner,
                type=int(execution.type),
                sub_type=int(execution.sub_type),
                time_to_next_state=time_to_next,
                failed_commands=failed,
                related_devices=[{"deviceURL": u} for u in execution.devices],
                technical=execution.internal,
                failure_type_code=int(failure) if failure is not None else None,
                failure_type=failure.name if failure is not None else None,
            )
        )

    def _finish(self, execution: Execution) -> None:
        cancelled = execution.cancelled
        for command in execution.commands:
            if not command.is_final:
                self._set(execution, command, S.FAILED, FailureType.CMDCANCELLED, "cancelled")
        failed = [c for c in execution.commands if c.state is S.FAILED]
        execution.end_time = _now()
        if failed:
            execution.failure = FailureType.CANCELLED if cancelled else failed[0].failure
            self._advance(
                execution,
                S.FAILED,
                0,
                failed=[
                    {
                        "deviceURL": c.device_url,
                        "rank": c.rank,
                        "failureType": c.failure.name,
                        "detailedStatus": {
                            "type": "generic-error",
                            "message": c.message or c.failure.name,
                            "error": True,
                        },
                    }
                    for c in failed
                ],
            )
        else:
            self._advance(execution, S.COMPLETED, 0)
        self.current.pop(execution.id, None)
        self._tasks.pop(execution.id, None)

    # ------------------------------------------------------------------ cancelling

    def cancel(self, exec_id: str) -> bool:
        execution = self.current.get(exec_id)
        task = self._tasks.get(exec_id)
        if execution is None or task is None:
            return False
        execution.cancelled = True
        task.cancel()
        return True

    def cancel_all(self) -> int:
        return sum(self.cancel(exec_id) for exec_id in list(self.current))

    async def wait(self, exec_id: str) -> None:
        task = self._tasks.get(exec_id)
        if task is not None:
            await asyncio.shield(task)

    # ------------------------------------------------------------------ restart

    async def recover(self) -> tuple[int, int]:
        """Close or resume what the journal says was unfinished. Returns (resumed, closed)."""
        now = _now()
        resumed = closed = 0
        uncertain: list[tuple[Execution, CommandRun]] = []
        for execution in await self._journal.unfinished():
            for command in execution.commands:
                if command.state in (S.TRANSMITTED, S.IN_PROGRESS):
                    # UNKNOWN (-1), not COMMAND_INTERRUPTED (185, a device's report that it stopped) nor
                    # UNKNOWN_ERROR (126, an error of unknown kind): both would claim that it did not happen.
                    command.state, command.failure = S.FAILED, FailureType.UNKNOWN
                    command.message = UNKNOWN_OUTCOME
                    uncertain.append((execution, command))
                elif not command.is_final:
                    command.state = S.INITIALIZED
                    if command.due_time < now - self.missed_grace_s * 1000:
                        command.state, command.failure = S.FAILED, FailureType.TIMED_OUT
                        command.message = "due while the gateway was down, and missed by too long"
                self._journal.note_command(execution, command)
            self.current[execution.id] = execution
            if all(c.is_final for c in execution.commands):
                self._finish(execution)
                closed += 1
            else:
                self._launch(execution)
                resumed += 1
        if resumed or closed:
            log.info("journal recovery: %d executions resumed, %d closed", resumed, closed)
        if uncertain:
            self.read_back = ReadBack(self._registry, self._drivers, self._journal, uncertain)
            self.read_back.start()
        return resumed, closed

    async def stop(self) -> None:
        """Stop running work. Executions stay unfinished in the journal and are recovered at the next start:
        a graceful restart keeps delayed commands, like a crash does."""
        self._stopping = True
        if self.read_back is not None:
            await self.read_back.stop()
        await cancel_all_and_wait(self._tasks.values())
        for deadlines in self._deadlines.values():
            deadlines.close()
