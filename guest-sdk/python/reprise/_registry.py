"""The names a component exports, gathered by the decorators."""

orchestrations = {}
activities = {}
actors = {}


def _register(table, kind, name, value):
    if name in table:
        raise ValueError(f"{kind} {name!r} is defined twice")
    table[name] = value
    return value


def orchestration(fn=None, *, name=None):
    """Marks `fn(ctx, input) -> output` as an orchestration. Input and output
    are JSON values (dicts, lists, strings, numbers, None)."""

    def register(fn):
        return _register(orchestrations, "orchestration", name or fn.__name__, fn)

    return register(fn) if fn is not None else register


def activity(fn=None, *, name=None):
    """Marks `fn(input) -> output` as an activity: code with side effects,
    run at least once, its result recorded once."""

    def register(fn):
        return _register(activities, "activity", name or fn.__name__, fn)

    return register(fn) if fn is not None else register


def actor(kind):
    """Marks a class as the actor kind `kind`. A new actor is the class built
    with no arguments; its state is its attributes (`vars(self)`), stored as
    JSON; each public method `op(self, input)` is an operation."""

    def register(cls):
        return _register(actors, "actor kind", kind, cls)

    if not isinstance(kind, str):
        raise TypeError("use @reprise.actor(\"kind\")")
    return register


def read_only(method):
    """Marks an actor operation as one that only reads the state. A call of
    it is answered at once from the actor's last committed state, side by
    side with other reads and ahead of the writes queued for the actor; one
    that changes the state, deletes it or sends anything fails."""
    if not callable(method):
        raise TypeError("@reprise.read_only goes on an actor's method")
    method._reprise_read_only = True
    return method


def read_only_operations(cls):
    """The names of the operations of actor class `cls` marked read-only."""
    return sorted(
        name
        for name in dir(cls)
        if not name.startswith("_") and getattr(getattr(cls, name), "_reprise_read_only", False)
    )
