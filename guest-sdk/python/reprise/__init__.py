"""Reprise's guest SDK for Python: orchestrations, activities and actors as
plain functions and classes, compiled to a WebAssembly component with
componentize-py for the `app` world of `reprise:durable`.

A call that waits simply blocks: the host suspends the guest and, after a
crash or an eviction, replays it from its history to the same point.

    import reprise
    from reprise.exports import Orchestrator, Activities, Actors, ActorReads  # noqa: F401

    @reprise.orchestration
    def greet(ctx, cities):
        return [ctx.call_activity("say_hello", city) for city in cities]

See guest-sdk/python/README.md.
"""

from ._failure import Failure, TaskFailed
from ._registry import activity, actor, orchestration, read_only
from ._orchestration import OrchestrationContext, RetryPolicy, Task
from ._activity import ActivityInfo, activity_info
from ._actor import ActorContext, actor_context

__all__ = [
    "ActivityInfo",
    "ActorContext",
    "Failure",
    "OrchestrationContext",
    "RetryPolicy",
    "Task",
    "TaskFailed",
    "activity",
    "activity_info",
    "actor",
    "actor_context",
    "orchestration",
    "read_only",
]
