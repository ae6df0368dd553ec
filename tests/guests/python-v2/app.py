"""Version 2 of the Python test guest's `py_greet`, changed the way a careless
deploy would: it shouts before it greets. Replaying an instance of version 1
with it must fail at the first call that differs."""

import reprise
from reprise.exports import ActorReads, Actors, Activities, Orchestrator  # noqa: F401


@reprise.orchestration
def py_greet(ctx, cities):
    shouted = ctx.call_activity("py_shout", " / ".join(cities))
    tasks = [ctx.schedule_activity("say_hello", city) for city in cities]
    return {"greetings": ctx.when_all(tasks), "shouted": shouted}
