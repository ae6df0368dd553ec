// Failures: values that cross the boundary, never traps.

/** Throw it to fail an orchestration, activity or actor operation with a
 * message (and optional JSON-serializable details) of your choosing. */
export class Failure extends Error {
    constructor(message, details = null) {
        super(message);
        this.name = "Failure";
        this.details = details;
    }

    /** The WIT `failure` record. */
    toWit() {
        return { message: String(this.message), details: this.detailsJson() };
    }

    /** The details as JSON text. Details that are not JSON (a BigInt, a
     * cycle) are described instead: the failure must still reach the host. */
    detailsJson() {
        if (this.details == null) {
            return null;
        }
        try {
            return JSON.stringify(this.details);
        } catch (error) {
            return JSON.stringify({ detailsNotJson: `${error?.name}: ${error?.message}` });
        }
    }

    /** Any thrown value: a Failure stays itself; an Error keeps its name,
     * message and stack; anything else is described. */
    static from(error) {
        if (error instanceof Failure) {
            return error;
        }
        if (error instanceof Error) {
            return new Failure(`${error.name}: ${error.message}`, { stack: error.stack ?? null });
        }
        return new Failure(`uncaught ${typeof error}: ${describe(error)}`);
    }
}

/** A task (activity, sub-orchestration, actor call, ...) failed; thrown by
 * the call that awaits it. `message` and `details` are the task's. */
export class TaskFailed extends Failure {
    constructor(message, details = null) {
        super(message, details);
        this.name = "TaskFailed";
    }

    /** From the WIT `failure` record the host answered with. */
    static fromWit(failure) {
        if (failure == null || typeof failure.message !== "string") {
            // Not the host's answer: an error inside the SDK or the engine.
            throw failure;
        }
        const details = failure.details == null ? null : JSON.parse(failure.details);
        return new TaskFailed(failure.message, details);
    }
}

/** Runs `body`; whatever it throws is returned to the host as a failure
 * record (a top-level WIT `result` is an exception on the JS side). */
export function reportFailures(body) {
    try {
        return body();
    } catch (error) {
        throw Failure.from(error).toWit();
    }
}

function describe(value) {
    try {
        return JSON.stringify(value) ?? String(value);
    } catch {
        return String(value);
    }
}
