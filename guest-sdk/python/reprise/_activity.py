"""What an activity can ask about itself."""

from dataclasses import dataclass

from wit_world.imports import activity_context as host

from ._log import LEVELS


@dataclass(frozen=True)
class ActivityInfo:
    """The attempt running now."""

    instance_id: str
    """The instance that scheduled the activity."""
    attempt: int
    """1 for the first attempt, 2 for the first retry, and so on."""

    def log(self, message, level="info"):
        """Logs a line, tagged with the instance and the attempt."""
        host.log(LEVELS[level], str(message))


def activity_info():
    """The running activity's instance and attempt; only inside an activity."""
    return ActivityInfo(instance_id=host.instance_id(), attempt=host.attempt())
