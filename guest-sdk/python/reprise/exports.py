"""The classes componentize-py looks for in the application module. Import
them there:

    from reprise.exports import Orchestrator, Activities, Actors  # noqa: F401
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
from ._orchestration import OrchestrationContext


def _fail(error):
    raise Err(Failure.from_exception(error).to_wit())


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
        fn = _registry.orchestrations.get(name)
        if fn is None:
            _fail(Failure(f"this component has no orchestration {name!r}"))
        _reseed()
        try:
            output = fn(OrchestrationContext(), json.loads(input))
        except Exception as error:  # noqa: BLE001 - every failure is reported
            _fail(error)
        return json.dumps(output)


class Activities(exports.Activities):
    def activities(self):
        return sorted(_registry.activities)

    def run(self, name, input):
        fn = _registry.activities.get(name)
        if fn is None:
            _fail(Failure(f"this component has no activity {name!r}"))
        _reseed()
        try:
            output = fn(json.loads(input))
        except Exception as error:  # noqa: BLE001
            _fail(error)
        return json.dumps(output)


def _takes_input(function):
    # `self`, then the input if the operation wants one.
    return len(inspect.signature(function).parameters) > 1


class Actors(exports.Actors):
    def kinds(self):
        return sorted(_registry.actors)

    def handle(self, kind, key, operation, input, state):
        cls = _registry.actors.get(kind)
        if cls is None:
            _fail(Failure(f"this component has no actor kind {kind!r}"))
        if state is None:
            actor = cls()
        else:
            actor = cls.__new__(cls)
            vars(actor).update(json.loads(state))
        # Looked up on the class: an operation may share its name with a
        # field of the state (`balance`, say).
        function = None if operation.startswith("_") else getattr(cls, operation, None)
        if not callable(function):
            _fail(Failure(f"actor kind {kind!r} has no operation {operation!r}"))
        context = _actor.begin()
        _reseed()
        try:
            value = json.loads(input)
            output = function(actor, value) if _takes_input(function) else function(actor)
        except Exception as error:  # noqa: BLE001
            _fail(error)
        new_state = None if context.deleted else json.dumps(vars(actor))
        return Handled(state=new_state, output=json.dumps(output))
