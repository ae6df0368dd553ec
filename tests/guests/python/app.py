"""A Python test guest: orchestrations that call Rust and Python
activities, a Python actor, and probes of the sandbox. Built by
tests/build.rs with componentize-py."""

import datetime
import os
import random
import socket
import sys
import time
import uuid

import reprise
from reprise import Failure, RetryPolicy, TaskFailed, activity_info, actor_context
from reprise.exports import ActorReads, Actors, Activities, Orchestrator  # noqa: F401


@reprise.orchestration
def py_greet(ctx, cities):
    """Fan-out to the Rust activity `say_hello`, then a Python activity."""
    tasks = [ctx.schedule_activity("say_hello", city) for city in cities]
    greetings = ctx.when_all(tasks)
    ctx.set_custom_status({"greeted": len(greetings)})
    shouted = ctx.call_activity("py_shout", " / ".join(greetings))
    return {"greetings": greetings, "shouted": shouted}


@reprise.orchestration
def py_clocks(ctx, _input):
    """Python's own clocks, randomness and ids, and the context's: all must
    come out the same when the instance is replayed."""
    return {
        "time": time.time(),
        "now": datetime.datetime.now().isoformat(),
        "monotonic": time.monotonic(),
        "random": random.random(),
        "uuid": str(uuid.uuid4()),
        "ctx_now": ctx.now().isoformat(),
        "ctx_random": ctx.random(),
        "ctx_uuid": str(ctx.uuid4()),
    }


@reprise.orchestration
def py_approval(ctx, timeout_ms):
    """An event raced against a durable timer."""
    event = ctx.wait_for_event("approval")
    deadline = ctx.timer(timeout_ms / 1000)
    index, winner = ctx.when_any([event, deadline])
    if index == 0:
        return {"approved": winner.result(), "timed_out": False}
    return {"approved": None, "timed_out": True}


@reprise.orchestration
def py_retry(ctx, succeed_on):
    """A Python activity that fails until attempt `succeed_on`."""
    policy = RetryPolicy(max_attempts=succeed_on, first_retry=0.01, backoff=1.0)
    return ctx.call_activity("py_flaky", succeed_on, retry=policy)


@reprise.orchestration
def py_transfer(ctx, transfer):
    """Moves money between two Python actors, all or nothing."""
    try:
        ctx.call_actors_atomically(
            [
                ("py_account", transfer["from"], "withdraw", transfer["amount"]),
                ("py_account", transfer["to"], "deposit", transfer["amount"]),
            ]
        )
        return {"done": True}
    except TaskFailed as failed:
        return {"done": False, "reason": failed.message}


@reprise.orchestration
def py_countdown(ctx, n):
    """Continues as new until zero."""
    if n > 0:
        ctx.continue_as_new(n - 1)
    return "lift-off"


@reprise.orchestration
def py_sandbox(ctx, _input):
    """What an orchestration cannot reach: files, sockets, the environment."""
    found = {}
    try:
        with open("/etc/passwd") as f:
            found["file"] = f.read(10)
    except OSError as error:
        found["file_error"] = type(error).__name__
    try:
        # By address: a name would need the `idna` codec, which the
        # component's standard library leaves out.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.connect(("127.0.0.1", 22))
        found["socket"] = "connected"
    except OSError as error:
        found["socket_error"] = type(error).__name__
    found["environment"] = dict(os.environ)
    return found


@reprise.orchestration
def py_fails(ctx, message):
    """Raises: the orchestration fails with the message."""
    raise Failure(message, {"why": "asked to"})


@reprise.activity
def py_shout(text):
    return text.upper() + "!"


@reprise.activity
def py_flaky(succeed_on):
    info = activity_info()
    if info.attempt < succeed_on:
        raise Failure(f"attempt {info.attempt} fails")
    return {"attempt": info.attempt, "instance_id": info.instance_id}


@reprise.actor("py_account")
class Account:
    """A bank account: deposits, withdrawals that never overdraw."""

    def __init__(self):
        self.balance = 0
        self.operations = 0

    def deposit(self, amount):
        if amount <= 0:
            raise Failure(f"deposit of {amount}: amounts are positive")
        self.balance += amount
        self.operations += 1
        return self.balance

    def withdraw(self, amount):
        if amount > self.balance:
            raise Failure(f"insufficient funds: balance {self.balance} < {amount}")
        self.balance -= amount
        self.operations += 1
        return self.balance

    def get(self):
        return {"balance": self.balance, "operations": self.operations}

    def close(self):
        actor_context().delete()
        return "closed"

    def poison(self):
        """Leaves a state JSON cannot carry: the operation must fail, the
        state stay as it was."""
        self.balance = float("nan")
        return "poisoned"

    @reprise.read_only
    def peek(self):
        """Answered from the committed state."""
        return self.balance

    @reprise.read_only
    def sneak(self):
        """Declared read-only, but writes: refused, the state as it was."""
        self.balance += 1
        return self.balance


# Mistakes a guest can make, by case: each must fail with a line that says
# what went wrong, whichever phase (the user's code, or the SDK sending the
# result) raised.
HOSTILE = {
    "nan": lambda ctx: {"rate": float("nan")},
    "activity_output": lambda ctx: ctx.call_activity("py_hostile_activity", "nan"),
    "activity_input": lambda ctx: ctx.call_activity("py_shout", float("inf")),
    "set": lambda ctx: {"tags": {"a"}},
    "keyboard_interrupt": lambda ctx: _raise(KeyboardInterrupt()),
    "exit": lambda ctx: sys.exit(3),
}


def _raise(error):
    raise error


@reprise.orchestration
def py_hostile(ctx, mistake):
    return HOSTILE[mistake](ctx)


@reprise.activity
def py_hostile_activity(mistake):
    return float(mistake)


@reprise.orchestration
def py_spin(ctx, _input):
    """Loops forever: the host's CPU deadline must stop it."""
    n = 0
    while True:
        n += 1


@reprise.orchestration
def py_hoard(ctx, _input):
    """Takes memory until there is none: the host's limit must stop it."""
    hoard = []
    while True:
        hoard.append(bytearray(1 << 20))
