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
        details = None
        if self.details is not None:
            try:
                details = json.dumps(self.details, allow_nan=False)
            # The failure must still reach the host: details that are not
            # JSON are described instead of lost with it.
            except Exception as error:  # noqa: BLE001
                details = json.dumps({"details_not_json": describe(error), "repr": repr(self.details)})
        return types.Failure(message=str(self.message), details=details)

    @staticmethod
    def from_wit(failure):
        details = None if failure.details is None else json.loads(failure.details)
        return Failure(failure.message, details)

    @staticmethod
    def from_exception(error, role):
        """Any other exception, raised while `role` ("the orchestration")
        ran: its type and message, and the traceback."""
        if isinstance(error, Failure):
            return error
        if isinstance(error, SystemExit):
            message = f"SystemExit: {role} exited with status {_exit_status(error.code)}"
            if not isinstance(error.code, int) and error.code is not None:
                message += f": {error.code}"
        else:
            message = describe(error)
        return Failure(message, {"traceback": traceback.format_exception(error)})


def describe(error, *, with_type=True):
    """`Type: message` (the type alone when the message is empty), and the
    notes Python adds to some errors (json's say where a value was)."""
    try:
        text = str(error)
    except Exception:  # noqa: BLE001 - a broken __str__ must not hide the error
        text = "<unprintable>"
    notes = getattr(error, "__notes__", None)
    if isinstance(notes, list):
        text = "; ".join([text, *map(str, notes)]) if text else "; ".join(map(str, notes))
    if not with_type:
        return text
    name = type(error).__name__
    return f"{name}: {text}" if text else name


def _exit_status(code):
    # As the interpreter exits for `sys.exit(code)`: None is success, a
    # number is the status, anything else is printed and the status is 1.
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1


class TaskFailed(Failure):
    """A task (activity, sub-orchestration, actor call, ...) failed; raised by
    the call that awaits it. `message` and `details` are the task's."""
