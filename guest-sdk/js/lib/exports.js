// The interfaces the `app` world exports. Re-export them from the
// application's module:
//
//     export { orchestrator, activities, actors, actorReads } from "reprise";

import { Failure, reportFailures } from "./failure.js";
import { fromJson, toJson } from "./json.js";
import * as registry from "./registry.js";
import { enter } from "./sandbox.js";
import { OrchestrationContext, orchestrationHost } from "./orchestration.js";
import { activityHost } from "./activity.js";
import { actorHost, begin } from "./actor.js";

function sorted(table) {
    return [...table.keys()].sort();
}

function lookup(table, what, name) {
    const found = table.get(name);
    if (found === undefined) {
        throw new Failure(`this component has no ${what} "${name}"`);
    }
    return found;
}

/** What a function returned, unless it is a Promise (an `async` function's
 * result): as JSON it is `{}`, and what it would resolve to is lost. The
 * SDK's calls block until they have their result, so nothing needs await. */
function notPromise(who, value) {
    if ((typeof value === "object" || typeof value === "function") && typeof value?.then === "function") {
        throw new Failure(
            `${who} returned a Promise: write it as a plain (non-async) function; ` +
                "ctx.callActivity, task.result() and the SDK's other calls return their results without await",
        );
    }
    return value;
}

export const orchestrator = {
    orchestrations: () => sorted(registry.orchestrations),

    run: (name, input) =>
        reportFailures(() => {
            const fn = lookup(registry.orchestrations, "orchestration", name);
            enter(orchestrationHost);
            const output = fn(new OrchestrationContext(), fromJson(input));
            return toJson(notPromise(`orchestration "${name}"`, output), "the orchestration's output");
        }),
};

export const activities = {
    activities: () => sorted(registry.activities),

    run: (name, input) =>
        reportFailures(() => {
            const fn = lookup(registry.activities, "activity", name);
            enter(activityHost);
            const output = fn(fromJson(input));
            return toJson(notPromise(`activity "${name}"`, output), "the activity's output");
        }),
};

/** An operation is a method of the class (inherited ones included), not
 * the constructor, and not private by the `_` convention. */
function operationOf(cls, kind, name) {
    const method = name.startsWith("_") || name === "constructor" ? undefined : cls.prototype[name];
    if (typeof method !== "function") {
        throw new Failure(`actor kind "${kind}" has no operation "${name}"`);
    }
    return method;
}

export const actors = {
    kinds: () => sorted(registry.actors),

    handle: (kind, key, operation, input, state) =>
        reportFailures(() => {
            const cls = lookup(registry.actors, "actor kind", kind);
            const method = operationOf(cls, kind, operation);
            const context = begin();
            enter(actorHost);
            // An existing actor is its stored fields on the class's
            // prototype; the constructor only makes new ones.
            const actor =
                state == null ? new cls() : Object.assign(Object.create(cls.prototype), fromJson(state));
            const who = `operation "${operation}" of actor ${kind}/${key}`;
            const reads = registry.readOnlyOperations.get(kind).includes(operation);
            const before = reads ? toJson(actor, "the actor's state") : null;
            const output = notPromise(who, method.call(actor, fromJson(input)));
            if (reads) {
                if (context.deleted || toJson(actor, "the actor's state") !== before) {
                    throw new Failure(
                        `read-only ${who} changed the actor's state; a read-only operation may only read it`,
                    );
                }
                // As it came: the host checks that a read gives it back unchanged.
                return { state: state ?? null, output: toJson(output, "the operation's output") };
            }
            return {
                state: context.deleted ? null : toJson(actor, "the actor's new state"),
                output: toJson(output, "the operation's output"),
            };
        }),
};

export const actorReads = {
    readOnlyOperations: (kind) => registry.readOnlyOperations.get(kind) ?? [],
};
