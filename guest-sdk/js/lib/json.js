// Payloads cross the boundary as JSON text.

import { Failure } from "./failure.js";

/** JSON text for a value; `undefined` is `null`. `what` ("the
 * orchestration's output") names the value in the Failure thrown when it
 * is not JSON: `JSON.stringify` writes NaN and the infinities as `null`
 * without a word (the value would arrive changed), and throws on a BigInt
 * or a cycle with a message that does not say what was being sent. */
export function toJson(value, what) {
    let text;
    try {
        text = JSON.stringify(value, finiteOnly);
    } catch (error) {
        const reason = error instanceof NotFinite ? error.message : `${error?.name}: ${error?.message}`;
        throw new Failure(`${what} is not JSON: ${reason}`);
    }
    return text === undefined ? "null" : text;
}

export function fromJson(text) {
    return JSON.parse(text);
}

class NotFinite extends Error {}

/** A replacer (a `function`, for its holder as `this`) that refuses
 * numbers JSON has no text for, saying where they are. */
function finiteOnly(key, value) {
    if (typeof value === "number" && !Number.isFinite(value)) {
        const place = key === "" ? "" : Array.isArray(this) ? ` at [${key}]` : ` at .${key}`;
        throw new NotFinite(`${value}${place} (JSON has no NaN or infinity)`);
    }
    return value;
}
