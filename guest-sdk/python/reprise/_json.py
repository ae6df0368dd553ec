"""JSON text for what a guest sends the host. Python's `json` writes NaN and
the infinities as `NaN` and `Infinity`, which are not JSON: the host would
keep text that nobody can read back. Here they are refused, like anything
else `json` cannot write, with a line that names what was being sent."""

import json
import traceback

from ._failure import Failure, describe


def dumps(value, what):
    """`value` as JSON text. `what` ("the orchestration's output") names it
    in the Failure raised when it is not JSON."""
    try:
        return json.dumps(value, allow_nan=False)
    # A default of a user's type may raise anything, a deep value
    # RecursionError: each is a value that cannot be sent.
    except Exception as error:  # noqa: BLE001
        raise Failure(
            f"{what} is not JSON: {describe(error, with_type=False)}",
            {"traceback": traceback.format_exception(error)},
        ) from None
