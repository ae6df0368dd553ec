"""Failures: values that cross the boundary, never traps."""

import json
import traceback

from wit_world.imports import types


class Failure(Exception):
    """Raise it to fail an orchestration, activity or actor operation with a
    message (and optional JSON-serializable details) of your choosing."""

    def __init__(self, message, details=None):
        super().__init__(message)
        self.message = message
        self.details = details

    def to_wit(self):
        details = None if self.details is None else json.dumps(self.details)
        return types.Failure(message=self.message, details=details)

    @staticmethod
    def from_wit(failure):
        details = None if failure.details is None else json.loads(failure.details)
        return Failure(failure.message, details)

    @staticmethod
    def from_exception(error):
        """Any other exception: its type and message, and the traceback."""
        if isinstance(error, Failure):
            return error
        return Failure(
            f"{type(error).__name__}: {error}",
            {"traceback": traceback.format_exception(error)},
        )


class TaskFailed(Failure):
    """A task (activity, sub-orchestration, actor call, ...) failed; raised by
    the call that awaits it. `message` and `details` are the task's."""
