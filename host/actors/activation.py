"""One actor loaded in memory: a wasm instance, a mailbox and the worker that runs its turns.

The worker takes one command at a time. A turn runs against a fresh write set, on the event
loop's thread while the actor's turns are quick (a thread hop costs more than a typical turn), or
in the node's small thread pool (wasm releases the GIL) once one of its turns took longer than
the inline budget. Then: a guest fault drops the write set and the
instance (the next turn starts on a fresh instance with a ``wake`` turn); otherwise the result's
alarms and destroy go into the write set, the write set is committed (the output gate), and only
then are the reply and the events released. An idle timeout or a guest asking to sleep drops the
instance and, when no command waits, the whole activation.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import cbor2
from edgewise.host.actors.connections import Connections
from edgewise.host.actors.lifecycle import ActorState, Lifecycle, LifecycleEvent
from edgewise.host.actors.mailbox import (
    Command,
    DestroyActor,
    Letter,
    Mailbox,
    RunAction,
    RunAlarm,
    RunConnect,
    RunCreate,
    RunDisconnect,
)
from edgewise.host.actors.placement import TurnPlacement
from edgewise.host.actors.storage_gate import commit, storage_errors
from edgewise.host.errors import (
    ActionUnknown,
    ActorNotFound,
    ConnectionRefused,
    EdgewiseError,
    GuestBadResult,
    GuestFault,
    GuestTimeout,
    HostFault,
    NodeStopping,
    UserError,
)
from edgewise.host.sandbox import GuestInstance, GuestModule
from edgewise.host.sandbox.abi import ActorIdentity, TurnEnvelope, TurnResult
from edgewise.storage import ActorMeta, AlarmEntry, Store, WriteSet
from edgewise.storage.errors import KeyInvalid, ValueInvalid

log = logging.getLogger("edgewise.actors")
guest_log = logging.getLogger("edgewise.guest")
GUEST_LEVELS = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR}


def now_ms() -> int:
    return int(time.time() * 1000)


@dataclass(frozen=True)
class ActivationServices:
    """What an activation needs from its node."""

    store: Store
    executor: ThreadPoolExecutor
    connections: Connections
    idle_timeout_s: float
    mailbox_capacity: int
    placement: TurnPlacement
    alarms_changed: Callable[[], None]
    gone: Callable[[str], None]  # the activation left memory (sleep, destroy, failed create)


class Activation:
    def __init__(self, meta: ActorMeta, module: GuestModule, services: ActivationServices) -> None:
        self.meta = meta
        self._module = module
        self._services = services
        self._identity = ActorIdentity(meta.actor_id, meta.name, meta.key)
        self.lifecycle = Lifecycle(meta.actor_id, now_ms())
        self.mailbox = Mailbox(meta.actor_id, services.mailbox_capacity)
        self._instance: GuestInstance | None = None
        self._stopping = False
        self._left = False
        self._worker = asyncio.get_running_loop().create_task(self._work())

    @property
    def actor_id(self) -> str:
        return self.meta.actor_id

    def post(self, command: Command) -> asyncio.Future[Any]:
        if self._left:
            raise ActorNotFound(f"actor {self.actor_id} does not exist")
        return self.mailbox.post(command)

    async def stop(self, timeout_s: float) -> None:
        """Finish the waiting turns within ``timeout_s``, then leave memory."""
        self._stopping = True
        self.mailbox.wake()
        try:
            await asyncio.wait_for(asyncio.shield(self._worker), timeout_s)
        except TimeoutError:
            self._worker.cancel()
            await asyncio.gather(self._worker, return_exceptions=True)
        self.mailbox.fail_all(NodeStopping("node is stopping"))

    def release(self) -> None:
        """Close the instance; only once no turn can be running (the thread pool is shut)."""
        self._drop_instance()

    # --- the worker ---------------------------------------------------------------------

    async def _work(self) -> None:
        while not self._left:
            if self._stopping and not len(self.mailbox):
                self._leave()  # every turn that was waiting has been served
                break
            if not await self.mailbox.wait(self._services.idle_timeout_s):
                self._fall_asleep(LifecycleEvent.IDLE_TIMEOUT_REACHED)
                continue
            letter = self.mailbox.take()
            if letter is None:
                if self._stopping:
                    self._leave()
                continue
            await self._serve(letter)

    async def _serve(self, letter: Letter) -> None:
        if letter.reply.cancelled():
            return
        try:
            with storage_errors():
                value = await self._run(letter.command)
        except EdgewiseError as error:
            _settle(letter.reply, error=error)
        except Exception:
            log.exception("actor %s: turn failed inside the host", self.actor_id)
            _settle(letter.reply, error=HostFault("internal error while running the turn"))
        else:
            _settle(letter.reply, value=value)

    async def _run(self, command: Command) -> Any:
        if isinstance(command, DestroyActor):
            return await self._destroy()
        if isinstance(command, RunCreate):
            return await self._create(command.input)
        if isinstance(command, RunAlarm) and not self._services.store.alarm_is_set(command.alarm):
            return None
        await self._ensure_instance()
        return await self._turn(command)

    # --- turns --------------------------------------------------------------------------

    async def _create(self, input: Any) -> None:
        self.lifecycle.apply(LifecycleEvent.ACTIVATION_REQUESTED, now_ms())
        ws = self._services.store.write_set(self.actor_id)
        ws.put_meta(self.meta)
        try:
            self._instance = self._module.instantiate()
            result = await self._execute(self._envelope("create", input=input), ws)
            if result.error is not None:
                raise UserError(result.error[1], code=f"user.{result.error[0]}")
            await self._finish(result, ws)
        except EdgewiseError:
            self.lifecycle.apply(LifecycleEvent.ACTIVATION_FAILED, now_ms())
            self._leave()
            raise
        self._activated()

    async def _ensure_instance(self) -> None:
        if self._instance is not None:
            return
        self.lifecycle.apply(LifecycleEvent.ACTIVATION_REQUESTED, now_ms())
        try:
            self._instance = self._module.instantiate()
            ws = self._services.store.write_set(self.actor_id)
            result = await self._execute(self._envelope("wake"), ws)
            await self._finish(result, ws)
        except EdgewiseError:
            self._drop_instance()
            if self.lifecycle.state is ActorState.ACTIVATING:
                self.lifecycle.apply(LifecycleEvent.ACTIVATION_FAILED, now_ms())
            raise
        if self._left:
            raise ActorNotFound(f"actor {self.actor_id} does not exist")
        self._activated()

    def _fault(self) -> None:
        """The turn failed before its outputs were released: start afresh next turn."""
        self._drop_instance()
        if self.lifecycle.state is ActorState.ACTIVE:
            self.lifecycle.apply(LifecycleEvent.TURN_FAULTED, now_ms())

    def _activated(self) -> None:
        if self.lifecycle.state is ActorState.ACTIVATING:
            self.lifecycle.apply(LifecycleEvent.ACTIVATION_SUCCEEDED, now_ms())

    async def _turn(self, command: Command) -> Any:
        ws = self._services.store.write_set(self.actor_id)
        if isinstance(command, RunAction):
            envelope = self._envelope(
                "action", action=command.action, args=command.args, conn=command.conn
            )
        elif isinstance(command, RunConnect):
            envelope = self._envelope("connect", conn=command.conn, params=command.params)
        elif isinstance(command, RunDisconnect):
            envelope = self._envelope("disconnect", conn=command.conn)
        else:
            assert isinstance(command, RunAlarm)
            entry = command.alarm
            ws.cancel_alarm(entry.name)
            envelope = self._envelope("alarm", alarm=entry.name, payload=_decode(entry.payload))
        try:
            result = await self._execute(envelope, ws)
            if isinstance(command, RunConnect) and (result.refuse or result.error):
                self._services.connections.remove(command.conn)
            await self._finish(result, ws)
        except EdgewiseError:
            self._fault()
            raise
        if result.refuse is not None:
            raise ConnectionRefused(f"connection refused: {result.refuse}")
        if result.error is not None:
            raise self._user_error(result.error, command)
        return result.ok

    def _user_error(self, error: tuple[str, str], command: Command) -> EdgewiseError:
        code, message = error
        if code == "unknown_action" and isinstance(command, RunAction):
            return ActionUnknown(
                f"actor {self.meta.name} has no action {command.action!r}: {message}"
            )
        return UserError(message, code=f"user.{code}")

    async def _execute(self, envelope: TurnEnvelope, ws: WriteSet) -> TurnResult:
        instance = self._instance
        assert instance is not None
        try:
            with storage_errors():
                return await self._run_turn(instance, envelope, ws)
        except EdgewiseError as error:
            if isinstance(error, GuestFault):
                log.warning("actor %s: %s turn faulted: %s", self.actor_id, envelope.kind, error)
            self._drop_instance()
            raise
        except Exception as exc:
            log.exception("actor %s: %s turn failed in the host", self.actor_id, envelope.kind)
            self._drop_instance()
            raise HostFault("internal error while running the turn") from exc

    async def _run_turn(
        self, instance: GuestInstance, envelope: TurnEnvelope, ws: WriteSet
    ) -> TurnResult:
        services = self._services
        if not services.placement.runs_inline(self.actor_id):
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(
                services.executor, instance.run_turn, envelope, ws, self._guest_log
            )
        started = time.thread_time()  # CPU time: waiting for the GIL does not count
        try:
            result = instance.run_turn(envelope, ws, self._guest_log)
        except GuestTimeout:
            services.placement.turn_timed_out(self.actor_id)
            raise
        services.placement.turn_ran(self.actor_id, time.thread_time() - started)
        return result

    async def _finish(self, result: TurnResult, ws: WriteSet) -> None:
        """Put the result's effects in the write set, commit, then release outputs."""
        try:
            for name in result.cancel_alarms:
                ws.cancel_alarm(name)
            for alarm in result.set_alarms:
                payload = _encode(alarm.payload)
                ws.set_alarm(AlarmEntry(self.actor_id, alarm.name, alarm.at_ms, payload))
        except (KeyInvalid, ValueInvalid) as error:
            raise GuestBadResult(f"the turn set an invalid alarm: {error.message}") from None
        if result.destroy:
            ws.destroy_actor()
        await commit(self._services.store, ws)
        if result.set_alarms:
            self._services.alarms_changed()
        connections = self._services.connections
        connections.send(self.actor_id, result.send)
        connections.broadcast(self.actor_id, result.broadcast)
        if result.destroy:
            self._destroyed()
        elif result.sleep and self.lifecycle.state is ActorState.ACTIVE:
            self._fall_asleep(LifecycleEvent.SLEEP_REQUESTED)

    async def _destroy(self) -> None:
        ws = self._services.store.write_set(self.actor_id)
        ws.destroy_actor()
        await commit(self._services.store, ws)
        self._destroyed()

    # --- leaving memory -----------------------------------------------------------------

    def _destroyed(self) -> None:
        self.lifecycle.apply(LifecycleEvent.DESTROY_REQUESTED, now_ms())
        message = f"actor {self.actor_id} was destroyed"
        self._services.connections.close_actor(self.actor_id, "actor.destroyed", message)
        self._services.placement.forget(self.actor_id)
        self._leave()
        self.mailbox.fail_all(ActorNotFound(f"actor {self.actor_id} does not exist"))

    def _fall_asleep(self, event: LifecycleEvent) -> None:
        if self.lifecycle.allows(event):
            self.lifecycle.apply(event, now_ms())
            self._drop_instance()
            self.lifecycle.apply(LifecycleEvent.DRAIN_COMPLETED, now_ms())
        if not len(self.mailbox):
            self._leave()

    def _leave(self) -> None:
        if not self._left:
            self._left = True
            self._drop_instance()
            self._services.gone(self.actor_id)

    def _drop_instance(self) -> None:
        if self._instance is not None:
            self._instance.close()
            self._instance = None

    # --- helpers ------------------------------------------------------------------------

    def _envelope(self, kind: Any, **fields: Any) -> TurnEnvelope:
        return TurnEnvelope(kind=kind, actor=self._identity, now_ms=now_ms(), **fields)

    def _guest_log(self, level: int, text: str) -> None:
        guest_log.log(GUEST_LEVELS.get(level, logging.INFO), "actor %s: %s", self.actor_id, text)


def _settle(
    reply: asyncio.Future[Any], *, value: Any = None, error: Exception | None = None
) -> None:
    """Answer a letter, unless its sender gave up meanwhile."""
    if reply.done():
        return
    if error is None:
        reply.set_result(value)
    else:
        reply.set_exception(error)


def _encode(payload: Any) -> bytes:
    try:
        return cbor2.dumps(payload)
    except (cbor2.CBOREncodeError, TypeError, ValueError) as exc:
        raise GuestBadResult(f"alarm payload cannot be stored: {exc}") from None


def _decode(payload: bytes) -> Any:
    try:
        return cbor2.loads(payload)
    except (cbor2.CBORDecodeError, ValueError) as exc:
        log.warning("alarm payload is not valid CBOR: %s", exc)
        return None
