// The orchestration context: everything non-deterministic goes through it,
// and the host records it, so a replay takes the same path.

import host from "reprise:durable/orchestration-context@0.1.0";

import { TaskFailed } from "./failure.js";
import { fromJson, toJson } from "./json.js";

/** The JSON value of a call that answers with an outcome, or TaskFailed. */
function settle(call) {
    let output;
    try {
        output = call();
    } catch (error) {
        // An import's `result` error arrives as an Error carrying the WIT
        // value in `payload`.
        throw TaskFailed.fromWit(error?.payload ?? error);
    }
    return fromJson(output);
}

/** Something scheduled that finishes later: an activity, a timer, an event,
 * a sub-orchestration, an actor call. `result()` blocks until it is done;
 * awaiting it again returns the same value. */
export class Task {
    constructor(id) {
        this.id = id;
    }

    /** The task's output, or throws TaskFailed. */
    result() {
        return settle(() => host.awaitTask(this.id));
    }
}

/** How a failed activity is retried: `maxAttempts` in all (the first
 * included), the delay before retry n being
 * `firstRetryMs * backoffCoefficient ** (n - 1)`, capped at `maxRetryMs`. */
function retryPolicy({
    maxAttempts,
    firstRetryMs = 1000,
    backoffCoefficient = 2,
    maxRetryMs = 3_600_000,
}) {
    if (!Number.isInteger(maxAttempts) || maxAttempts < 1) {
        throw new TypeError(`retry.maxAttempts must be a positive integer, not ${maxAttempts}`);
    }
    return { maxAttempts, firstRetryMs, backoffCoefficient, maxRetryMs };
}

function operation({ kind, key, operation, input }) {
    const what = `the input to operation "${operation}" of actor ${kind}/${key}`;
    return { target: { kind, key }, operation, input: toJson(input, what) };
}

/** What an orchestration may ask of the host. Pass it along; never keep it
 * beyond the orchestration's call. Durations are milliseconds. */
export class OrchestrationContext {
    get instanceId() {
        return host.instanceId();
    }

    /** True while the host replays recorded history. */
    get isReplaying() {
        return host.isReplaying();
    }

    // Activities -----------------------------------------------------------

    /** Schedules activity `name`; returns its Task. `options.retry` is
     * `{ maxAttempts, firstRetryMs, backoffCoefficient, maxRetryMs }`;
     * `options.timeoutMs` limits one attempt. */
    scheduleActivity(name, input, { retry, timeoutMs } = {}) {
        const options = {
            retry: retry == null ? null : retryPolicy(retry),
            timeoutMs: timeoutMs ?? null,
        };
        const json = toJson(input, `the input to activity "${name}"`);
        return new Task(host.scheduleActivity(name, json, options));
    }

    /** Runs activity `name` and returns its output (throws TaskFailed). */
    callActivity(name, input, options) {
        return this.scheduleActivity(name, input, options).result();
    }

    // Timers and events ----------------------------------------------------

    /** A durable timer: a Task that completes after `ms` of orchestration
     * time. */
    timer(ms) {
        return new Task(host.scheduleTimer(Math.max(0, Math.round(ms))));
    }

    /** Waits `ms` of orchestration time, durably. */
    sleep(ms) {
        this.timer(ms).result();
    }

    /** A Task that completes with the next external event `name`. */
    waitForEvent(name) {
        return new Task(host.waitEvent(name));
    }

    // Sub-orchestrations ---------------------------------------------------

    /** Starts orchestration `name` as a child; its output is the Task's. */
    scheduleOrchestration(name, input, { instanceId } = {}) {
        const json = toJson(input, `the input to orchestration "${name}"`);
        return new Task(host.scheduleOrchestration(name, json, instanceId ?? null));
    }

    /** Runs a child orchestration and returns its output. */
    callOrchestration(name, input, options) {
        return this.scheduleOrchestration(name, input, options).result();
    }

    // Actors ---------------------------------------------------------------

    /** Calls an actor operation; the Task's output is the operation's. */
    scheduleActorCall(kind, key, op, input) {
        return new Task(host.callActor(operation({ kind, key, operation: op, input })));
    }

    /** Calls an actor operation and returns its output. */
    callActor(kind, key, op, input) {
        return this.scheduleActorCall(kind, key, op, input).result();
    }

    /** Sends an actor operation one-way, once this episode commits. */
    signalActor(kind, key, op, input) {
        host.signalActor(operation({ kind, key, operation: op, input }));
    }

    /** Runs `{ kind, key, operation, input }` operations in order and
     * commits all of their new states or none; returns their outputs. The
     * transfer primitive. */
    callActorsAtomically(operations) {
        const id = host.callActorsAtomically(operations.map(operation));
        return new Task(id).result();
    }

    // Fan-out, fan-in, races -------------------------------------------------

    /** The outputs of all the tasks, in order (throws the first TaskFailed
     * in that order). */
    whenAll(tasks) {
        return tasks.map((task) => task.result());
    }

    /** Waits for the first task to finish; returns `{ index, task }`. The
     * others stay pending and may be awaited later. */
    whenAny(tasks) {
        const [index] = host.awaitAny(tasks.map((task) => task.id));
        return { index, task: tasks[index] };
    }

    // Deterministic time, randomness and ids ----------------------------------

    /** Orchestration time, recorded, as a Date. (`Date.now()` reads it too.) */
    now() {
        return new Date(host.nowMs());
    }

    /** A number in [0, 1), recorded. (`Math.random()` replays too.) */
    random() {
        // A u64 near 2^64 rounds up to it as a JS number: keep below 1.
        return Math.min(Math.floor(host.randomU64() / 2048), 2 ** 53 - 1) / 2 ** 53;
    }

    /** A random (version 4) UUID, recorded. */
    newUuid() {
        return host.newUuid();
    }

    // The instance ---------------------------------------------------------

    /** Ends this execution and starts the next with `input` and a fresh
     * history; unconsumed events carry over. Does not return. */
    continueAsNew(input) {
        host.continueAsNew(toJson(input, "the input to continue-as-new"));
        throw new Error("continue-as-new returned");
    }

    /** Sets the instance's custom status (any JSON value; null clears). */
    setCustomStatus(status) {
        host.setCustomStatus(status == null ? null : toJson(status, "the custom status"));
    }

    /** Logs a line; replays do not log it again. */
    log(message, level = "info") {
        host.log(level, String(message));
    }
}

/** What `Math.random` and `console` use while an orchestration runs. */
export const orchestrationHost = {
    randomU64: () => host.randomU64(),
    log: (level, message) => host.log(level, message),
};
