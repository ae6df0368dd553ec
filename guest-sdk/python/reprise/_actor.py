"""What an actor operation can ask of the host. Its effects (signals,
started orchestrations) happen only if the operation commits, with the
actor's new state."""

import datetime

from wit_world.imports import actor_context as host
from wit_world.imports import types

from ._json import dumps
from ._log import LEVELS


class ActorContext:
    """The actor handling the current operation."""

    def __init__(self):
        self.deleted = False

    @property
    def kind(self):
        return host.self_id().kind

    @property
    def key(self):
        return host.self_id().key

    def signal(self, kind, key, operation, input=None, *, delay=None):
        """Sends an operation one-way (to any actor, this one included);
        after `delay` seconds when given: a reminder."""
        target = types.ActorOperation(
            target=types.ActorId(kind=kind, key=key),
            operation=operation,
            input=dumps(input, f"the input to operation {operation!r} of actor {kind}/{key}"),
        )
        host.signal(target, None if delay is None else int(delay * 1000))

    def start_orchestration(self, name, input=None, *, instance_id=None):
        """Starts an orchestration; returns its instance id."""
        return host.start_orchestration(name, dumps(input, f"the input to orchestration {name!r}"), instance_id)

    def delete(self):
        """Deletes this actor's state when the operation commits."""
        self.deleted = True

    def now(self):
        ms = host.now_ms()
        return datetime.datetime.fromtimestamp(ms / 1000, tz=datetime.timezone.utc)

    def log(self, message, level="info"):
        host.log(LEVELS[level], str(message))


_current = None


def actor_context():
    """The context of the operation being handled; only inside an actor."""
    if _current is None:
        raise RuntimeError("actor_context() is only available inside an actor operation")
    return _current


def begin():
    """A fresh context for the next operation."""
    global _current
    _current = ActorContext()
    return _current
