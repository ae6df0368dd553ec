"""The classes componentize-py looks for in the application module. Import
them there:

    from reprise.exports import Orchestrator, Activities, Actors, ActorReads  # noqa: F401
"""

import inspect
import json
import os
import random

from componentize_py_types import Err
from wit_world import exports
from wit_world.exports.actors import Handled

from . import _actor, _registry
from ._failure import Failure
from ._json import dumps
from ._orchestration import OrchestrationContext


def _answer(role, body):
    """What an export returns: `body()`, or the failure of whatever it
    raised, in any phase (decoding, the user's code, encoding the result).
    BaseException too: an exception that escapes to componentize-py becomes
    a panic that says nothing of it, and `sys.exit(3)` an exit whose status
    WASI cannot carry."""
    try:
        return body()
    except BaseException as error:  # noqa: BLE001 - every failure is reported
        failure = Failure.from_exception(error, role)
    raise Err(failure.to_wit())


def _lookup(table, what, name):
    found = table.get(name)
    if found is None:
        raise Failure(f"this component has no {what} {name!r}")
    return found


def _reseed():
    # The interpreter was initialised when the component was built, so
    # `random` starts from the same state in every instance. Reseed it from
    # WASI's randomness: for an orchestration the host seeds that per
    # instance and execution, so `random.random()` replays identically.
    random.seed(os.urandom(32))


class Orchestrator(exports.Orchestrator):
    def orchestrations(self):
        return sorted(_registry.orchestrations)

    def run(self, name, input):
        def body():
            fn = _lookup(_registry.orchestrations, "orchestration", name)
            _reseed()
            output = fn(OrchestrationContext(), json.loads(input))
            return dumps(output, "the orchestration's output")

        return _answer(f"orchestration {name!r}", body)


class Activities(exports.Activities):
    def activities(self):
        return sorted(_registry.activities)

    def run(self, name, input):
        def body():
            fn = _lookup(_registry.activities, "activity", name)
            _reseed()
            return dumps(fn(json.loads(input)), "the activity's output")

        return _answer(f"activity {name!r}", body)


def _takes_input(function):
    # `self`, then the input if the operation wants one.
    return len(inspect.signature(function).parameters) > 1


class Actors(exports.Actors):
    def kinds(self):
        return sorted(_registry.actors)

    def handle(self, kind, key, operation, input, state):
        def body():
            cls = _lookup(_registry.actors, "actor kind", kind)
            # Looked up on the class: an operation may share its name with
            # a field of the state (`balance`, say).
            function = None if operation.startswith("_") else getattr(cls, operation, None)
            if not callable(function):
                raise Failure(f"actor kind {kind!r} has no operation {operation!r}")
            if state is None:
                actor = cls()
            else:
                actor = cls.__new__(cls)
                vars(actor).update(json.loads(state))
            context = _actor.begin()
            _reseed()
            value = json.loads(input)
            reads = getattr(function, "_reprise_read_only", False)
            before = dumps(vars(actor), "the actor's state") if reads else None
            output = function(actor, value) if _takes_input(function) else function(actor)
            if reads:
                if context.deleted or dumps(vars(actor), "the actor's state") != before:
                    raise Failure(
                        f"read-only operation {operation!r} of actor {kind}/{key} changed the actor's state; "
                        "a read-only operation may only read it"
                    )
                # As it came: the host checks that a read gives it back unchanged.
                return Handled(state=state, output=dumps(output, "the operation's output"))
            new_state = None if context.deleted else dumps(vars(actor), "the actor's new state")
            return Handled(state=new_state, output=dumps(output, "the operation's output"))

        return _answer(f"operation {operation!r} of actor {kind}/{key}", body)


class ActorReads(exports.ActorReads):
    def read_only_operations(self, kind):
        cls = _registry.actors.get(kind)
        return [] if cls is None else _registry.read_only_operations(cls)
