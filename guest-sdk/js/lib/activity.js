// What an activity can ask about itself.

import host from "reprise:durable/activity-context@0.1.0";

/** The running activity's instance and attempt; only inside an activity. */
export function activityInfo() {
    return {
        /** The instance that scheduled the activity. */
        instanceId: host.instanceId(),
        /** 1 for the first attempt, 2 for the first retry, and so on. */
        attempt: host.attempt(),
        /** Logs a line, tagged with the instance and the attempt. */
        log: (message, level = "info") => host.log(level, String(message)),
    };
}

/** What `Math.random` and `console` use while an activity runs. */
export const activityHost = {
    randomU64: () => host.randomU64(),
    log: (level, message) => host.log(level, message),
};
