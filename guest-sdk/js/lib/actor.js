// What an actor operation can ask of the host. Its effects (signals,
// started orchestrations) happen only if the operation commits, with the
// actor's new state.

import host from "reprise:durable/actor-context@0.1.0";

import { toJson } from "./json.js";

/** The actor handling the current operation. */
export class ActorContext {
    constructor() {
        this.deleted = false;
    }

    get kind() {
        return host.selfId().kind;
    }

    get key() {
        return host.selfId().key;
    }

    /** Sends an operation one-way (to any actor, this one included); after
     * `delayMs` when given: a reminder. */
    signal(kind, key, operation, input, { delayMs } = {}) {
        const what = `the input to operation "${operation}" of actor ${kind}/${key}`;
        const target = { target: { kind, key }, operation, input: toJson(input, what) };
        host.signal(target, delayMs ?? null);
    }

    /** Starts an orchestration; returns its instance id. */
    startOrchestration(name, input, { instanceId } = {}) {
        const json = toJson(input, `the input to orchestration "${name}"`);
        return host.startOrchestration(name, json, instanceId ?? null);
    }

    /** Deletes this actor's state when the operation commits. */
    delete() {
        this.deleted = true;
    }

    now() {
        return new Date(host.nowMs());
    }

    log(message, level = "info") {
        host.log(level, String(message));
    }
}

let current = null;

/** The context of the operation being handled; only inside an actor. */
export function actorContext() {
    if (current === null) {
        throw new Error("actorContext() is only available inside an actor operation");
    }
    return current;
}

/** A fresh context for the next operation. */
export function begin() {
    current = new ActorContext();
    return current;
}

/** What `Math.random` and `console` use while an actor runs. */
export const actorHost = {
    randomU64: () => host.randomU64(),
    log: (level, message) => host.log(level, message),
};
