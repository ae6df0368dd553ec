// The language's own sources of non-determinism, made to follow the host.
//
// The engine was initialised when the component was built, so its
// `Math.random` starts from the same state in every instance. Each call
// into the guest installs a generator seeded, at its first use, from the
// role's host: for an orchestration that number is recorded, so
// `Math.random()` replays identically. `Date.now()` needs nothing: it reads
// WASI's clock, which for an orchestration is orchestration time.
//
// There is no `console` in the engine; it is installed here and writes to
// the role's host log (an orchestration's is silent while it replays).

const LEVELS = {
    debug: "debug",
    log: "info",
    info: "info",
    warn: "warn",
    error: "error",
};

let currentLog = () => {};

function format(value) {
    if (typeof value === "string") {
        return value;
    }
    if (value instanceof Error) {
        return `${value.name}: ${value.message}`;
    }
    try {
        return JSON.stringify(value) ?? String(value);
    } catch {
        return String(value);
    }
}

globalThis.console = Object.fromEntries(
    Object.entries(LEVELS).map(([method, level]) => [
        method,
        (...values) => currentLog(level, values.map(format).join(" ")),
    ]),
);

const TWO_32 = 2 ** 32;

/** xoshiro128**: four 32-bit words of state. */
function generator(words) {
    let [a, b, c, d] = words;
    if ((a | b | c | d) === 0) {
        a = 1;
    }
    const next = () => {
        const result = Math.imul(rotl(Math.imul(b, 5), 7), 9) >>> 0;
        const t = b << 9;
        c ^= a;
        d ^= b;
        b ^= c;
        a ^= d;
        c ^= t;
        d = rotl(d, 11);
        return result;
    };
    // Spread the seed's bits through the state before the first output.
    for (let i = 0; i < 16; i++) {
        next();
    }
    // 53 random bits, as Math.random gives.
    return () => ((next() >>> 5) * 67108864 + (next() >>> 6)) / 9007199254740992;
}

function rotl(x, k) {
    return (x << k) | (x >>> (32 - k));
}

/** Two 32-bit words from a u64 the host sent (a JS number keeps its top
 * 53 bits). */
function words(u64) {
    return [u64 % TWO_32 >>> 0, Math.floor(u64 / TWO_32) >>> 0];
}

/** Called at the start of every call into the guest, with the role's
 * `randomU64` and `log`. */
export function enter({ randomU64, log }) {
    currentLog = log;
    Math.random = () => {
        const [low, high] = words(randomU64());
        const random = generator([low, high, low ^ 0x9e3779b9, high ^ 0x7f4a7c15]);
        Math.random = random;
        return random();
    };
}
