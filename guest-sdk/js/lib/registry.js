// The names a component exports, gathered by `orchestration`, `activity`
// and `actor`.

export const orchestrations = new Map();
export const activities = new Map();
export const actors = new Map();

function register(table, what, name, value) {
    if (typeof name !== "string" || name === "") {
        throw new TypeError(`a ${what} needs a name`);
    }
    if (table.has(name)) {
        throw new Error(`${what} "${name}" is defined twice`);
    }
    table.set(name, value);
    return value;
}

/** Either `(name, fn)` or a named function alone. */
function named(what, nameOrFn, fn) {
    if (typeof nameOrFn === "function") {
        return [nameOrFn.name, nameOrFn];
    }
    if (typeof fn !== "function") {
        throw new TypeError(`${what} "${nameOrFn}" needs a function`);
    }
    return [nameOrFn, fn];
}

/** Registers `fn(ctx, input) -> output` as an orchestration. Input and
 * output are JSON values. `orchestration(fn)` takes the function's name. */
export function orchestration(nameOrFn, fn) {
    const [name, body] = named("orchestration", nameOrFn, fn);
    return register(orchestrations, "orchestration", name, body);
}

/** Registers `fn(input) -> output` as an activity: code with side effects,
 * run at least once, its result recorded once. */
export function activity(nameOrFn, fn) {
    const [name, body] = named("activity", nameOrFn, fn);
    return register(activities, "activity", name, body);
}

/** Registers a class as the actor kind `kind`. A new actor is the class
 * built with no arguments; its state is its own fields, stored as JSON;
 * each method `op(input)` is an operation. `readOnly` names the operations
 * that only read the state: a call of one is answered at once from the
 * actor's last committed state, side by side with other reads and ahead of
 * the writes queued for the actor; one that changes the state, deletes it
 * or sends anything fails. */
export function actor(kind, cls, { readOnly = [] } = {}) {
    if (typeof cls !== "function") {
        throw new TypeError(`actor kind "${kind}" needs a class`);
    }
    if (!Array.isArray(readOnly)) {
        throw new TypeError(`readOnly of actor kind "${kind}" must be a list of operation names`);
    }
    for (const name of readOnly) {
        if (typeof name !== "string" || name.startsWith("_") || typeof cls.prototype[name] !== "function") {
            throw new TypeError(`actor kind "${kind}" declares read-only operation "${name}", which is not one of its methods`);
        }
    }
    register(actors, "actor kind", kind, cls);
    readOnlyOperations.set(kind, [...readOnly].sort());
    return cls;
}

/** The read-only operations of each actor kind. */
export const readOnlyOperations = new Map();
