"""The orchestration context: everything non-deterministic goes through it,
and the host records it, so a replay takes the same path."""

import datetime
import json
import uuid
from dataclasses import dataclass

from componentize_py_types import Err, Ok
from wit_world.imports import orchestration_context as host
from wit_world.imports import types

from ._failure import Failure, TaskFailed
from ._json import dumps
from ._log import LEVELS


@dataclass
class RetryPolicy:
    """How a failed activity is retried: `max_attempts` in all, the delay
    before retry n being `first_retry * backoff ** (n - 1)` seconds, capped
    at `max_retry` seconds."""

    max_attempts: int
    first_retry: float = 1.0
    backoff: float = 2.0
    max_retry: float = 3600.0

    def to_wit(self):
        return types.RetryPolicy(
            max_attempts=self.max_attempts,
            first_retry_ms=int(self.first_retry * 1000),
            backoff_coefficient=float(self.backoff),
            max_retry_ms=int(self.max_retry * 1000),
        )


def _outcome(result):
    """The JSON value of an outcome, or TaskFailed."""
    if isinstance(result, Ok):
        return json.loads(result.value)
    if isinstance(result, Err):
        failure = Failure.from_wit(result.value)
        raise TaskFailed(failure.message, failure.details)
    raise TypeError(f"unexpected outcome {result!r}")


class Task:
    """Something scheduled that finishes later: an activity, a timer, an
    event, a sub-orchestration, an actor call. `result()` blocks until it
    is done; awaiting it again returns the same value."""

    def __init__(self, task_id):
        self.id = task_id

    def result(self):
        """The task's output, or raises TaskFailed."""
        try:
            return _outcome(host.await_task(self.id))
        except Err as err:
            failure = Failure.from_wit(err.value)
            raise TaskFailed(failure.message, failure.details) from None

    def __repr__(self):
        return f"Task({self.id})"


def _operation(kind, key, operation, input):
    return types.ActorOperation(
        target=types.ActorId(kind=kind, key=key),
        operation=operation,
        input=dumps(input, f"the input to operation {operation!r} of actor {kind}/{key}"),
    )


class OrchestrationContext:
    """What an orchestration may ask of the host. Pass it along; never keep
    it beyond the orchestration's call."""

    @property
    def instance_id(self):
        return host.instance_id()

    @property
    def is_replaying(self):
        """True while the host replays recorded history."""
        return host.is_replaying()

    # Activities ---------------------------------------------------------

    def schedule_activity(self, name, input=None, *, retry=None, timeout=None):
        """Schedules activity `name`; returns its Task. `retry` is a
        RetryPolicy; `timeout` (seconds) limits one attempt."""
        options = types.ActivityOptions(
            retry=retry.to_wit() if retry is not None else None,
            timeout_ms=int(timeout * 1000) if timeout is not None else None,
        )
        return Task(host.schedule_activity(name, dumps(input, f"the input to activity {name!r}"), options))

    def call_activity(self, name, input=None, *, retry=None, timeout=None):
        """Runs activity `name` and returns its output (raises TaskFailed)."""
        return self.schedule_activity(name, input, retry=retry, timeout=timeout).result()

    # Timers and events --------------------------------------------------

    def timer(self, seconds):
        """A durable timer: a Task that completes after `seconds` of
        orchestration time."""
        return Task(host.schedule_timer(int(seconds * 1000)))

    def sleep(self, seconds):
        """Waits `seconds` of orchestration time, durably."""
        self.timer(seconds).result()

    def wait_for_event(self, name):
        """A Task that completes with the next external event `name`."""
        return Task(host.wait_event(name))

    # Sub-orchestrations --------------------------------------------------

    def schedule_orchestration(self, name, input=None, *, instance_id=None):
        """Starts orchestration `name` as a child; its output is the Task's."""
        input = dumps(input, f"the input to orchestration {name!r}")
        return Task(host.schedule_orchestration(name, input, instance_id))

    def call_orchestration(self, name, input=None, *, instance_id=None):
        """Runs a child orchestration and returns its output."""
        return self.schedule_orchestration(name, input, instance_id=instance_id).result()

    # Actors ---------------------------------------------------------------

    def schedule_actor_call(self, kind, key, operation, input=None):
        """Calls an actor operation; the Task's output is the operation's."""
        return Task(host.call_actor(_operation(kind, key, operation, input)))

    def call_actor(self, kind, key, operation, input=None):
        """Calls an actor operation and returns its output."""
        return self.schedule_actor_call(kind, key, operation, input).result()

    def signal_actor(self, kind, key, operation, input=None):
        """Sends an actor operation one-way, once this episode commits."""
        host.signal_actor(_operation(kind, key, operation, input))

    def call_actors_atomically(self, operations):
        """Runs `(kind, key, operation, input)` operations in order and
        commits all of their new states or none; returns their outputs.
        The transfer primitive."""
        ops = [_operation(*op) for op in operations]
        return Task(host.call_actors_atomically(ops)).result()

    # Fan-out, fan-in, races ---------------------------------------------

    def when_all(self, tasks):
        """The outputs of all the tasks, in order (raises the first
        TaskFailed in that order)."""
        return [task.result() for task in tasks]

    def when_any(self, tasks):
        """Waits for the first task to finish; returns `(index, task)`. The
        others stay pending and may be awaited later."""
        tasks = list(tasks)
        index, _ = host.await_any([task.id for task in tasks])
        return index, tasks[index]

    # Deterministic time, randomness and ids -----------------------------

    def now(self):
        """Orchestration time, recorded: an aware datetime in UTC."""
        ms = host.now_ms()
        return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)

    def random(self):
        """A float in [0, 1), recorded."""
        return (host.random_u64() >> 11) / float(1 << 53)

    def uuid4(self):
        """A random UUID, recorded."""
        return uuid.UUID(host.new_uuid())

    # The instance --------------------------------------------------------

    def continue_as_new(self, input=None):
        """Ends this execution and starts the next with `input` and a fresh
        history; unconsumed events carry over. Does not return."""
        host.continue_as_new(dumps(input, "the input to continue-as-new"))
        raise RuntimeError("continue-as-new returned")

    def set_custom_status(self, status):
        """Sets the instance's custom status (any JSON value; None clears)."""
        host.set_custom_status(None if status is None else dumps(status, "the custom status"))

    def log(self, message, level="info"):
        """Logs a line; replays do not log it again."""
        host.log(LEVELS[level], str(message))
