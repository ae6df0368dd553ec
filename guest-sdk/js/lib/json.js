// Payloads cross the boundary as JSON text.

/** JSON text for a value; `undefined` is `null`. */
export function toJson(value) {
    const text = JSON.stringify(value);
    return text === undefined ? "null" : text;
}

export function fromJson(text) {
    return JSON.parse(text);
}
