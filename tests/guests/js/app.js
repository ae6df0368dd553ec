// A JavaScript test guest: orchestrations that call Rust and JavaScript
// activities, a JavaScript actor, and probes of the sandbox. Built by
// tests/build.rs with componentize-qjs.

import { Failure, TaskFailed, activity, activityInfo, actor, actorContext, orchestration } from "reprise";
export { orchestrator, activities, actors, actorReads } from "reprise";

// Fan-out to the Rust activity `say_hello`, then a JavaScript activity.
orchestration("js_greet", (ctx, cities) => {
    const tasks = cities.map((city) => ctx.scheduleActivity("say_hello", city));
    const greetings = ctx.whenAll(tasks);
    ctx.setCustomStatus({ greeted: greetings.length });
    const shouted = ctx.callActivity("js_shout", greetings.join(" / "));
    return { greetings, shouted };
});

// JavaScript's own clocks and randomness, and the context's: all must come
// out the same when the instance is replayed.
orchestration("js_clocks", (ctx) => {
    console.log("reading the clocks");
    const ctxNow = ctx.now();
    return {
        dateNow: Date.now(),
        date: new Date().toISOString(),
        performance: performance.now(),
        random: [Math.random(), Math.random()],
        ctxNow: ctxNow.getTime(),
        ctxDate: ctxNow.toISOString(),
        ctxRandom: ctx.random(),
        ctxUuid: ctx.newUuid(),
    };
});

// The payloads' keys are those of the Python test guest: the same tests
// (tests/tests/integration/languages.rs) ask both.

// An event raced against a durable timer.
orchestration("js_approval", (ctx, timeoutMs) => {
    const event = ctx.waitForEvent("approval");
    const deadline = ctx.timer(timeoutMs);
    const { index, task } = ctx.whenAny([event, deadline]);
    if (index === 0) {
        return { approved: task.result(), timed_out: false };
    }
    return { approved: null, timed_out: true };
});

// A JavaScript activity that fails until attempt `succeedOn`.
orchestration("js_retry", (ctx, succeedOn) =>
    ctx.callActivity("js_flaky", succeedOn, {
        retry: { maxAttempts: succeedOn, firstRetryMs: 10, backoffCoefficient: 1 },
    }),
);

// Moves money between two JavaScript actors, all or nothing.
orchestration("js_transfer", (ctx, { from, to, amount }) => {
    try {
        ctx.callActorsAtomically([
            { kind: "js_account", key: from, operation: "withdraw", input: amount },
            { kind: "js_account", key: to, operation: "deposit", input: amount },
        ]);
        return { done: true };
    } catch (error) {
        if (error instanceof TaskFailed) {
            return { done: false, reason: error.message };
        }
        throw error;
    }
});

// A child orchestration, then continue-as-new until zero.
orchestration("js_countdown", (ctx, n) => {
    if (n > 0) {
        ctx.continueAsNew(n - 1);
    }
    return ctx.callOrchestration("js_liftoff", null);
});

orchestration("js_liftoff", () => "lift-off");

// What an orchestration cannot reach. The engine has no file, socket or
// process API at all; these are the ways a script might try.
orchestration("js_sandbox", () => {
    const found = {};
    for (const name of ["require", "process", "fetch", "XMLHttpRequest", "WebSocket", "Deno", "std", "os"]) {
        found[name] = typeof globalThis[name];
    }
    return found;
});

// Throws: the orchestration fails with the message and details.
orchestration("js_fails", (ctx, message) => {
    throw new Failure(message, { why: "asked to" });
});

// A JavaScript mistake: the failure names the error.
orchestration("js_typo", (ctx) => ctx.noSuchMethod());

activity("js_shout", (text) => `${text.toUpperCase()}!`);

activity("js_flaky", (succeedOn) => {
    const info = activityInfo();
    if (info.attempt < succeedOn) {
        throw new Failure(`attempt ${info.attempt} fails`);
    }
    return { attempt: info.attempt, instance_id: info.instanceId, random: Math.random() };
});

// A bank account: deposits, withdrawals that never overdraw.
actor(
    "js_account",
    class Account {
        constructor() {
            this.balance = 0;
            this.operations = 0;
        }

        deposit(amount) {
            if (!(amount > 0)) {
                throw new Failure(`deposit of ${amount}: amounts are positive`);
            }
            this.balance += amount;
            this.operations += 1;
            return this.balance;
        }

        withdraw(amount) {
            if (amount > this.balance) {
                throw new Failure(`insufficient funds: balance ${this.balance} < ${amount}`);
            }
            this.balance -= amount;
            this.operations += 1;
            return this.balance;
        }

        get() {
            return { balance: this.balance, operations: this.operations };
        }

        close() {
            actorContext().delete();
            return "closed";
        }

        // Leaves a state JSON cannot carry: the operation must fail, the
        // state stay as it was.
        poison() {
            this.balance = NaN;
            return "poisoned";
        }

        // Written as async: refused, saying how to write it.
        async later() {
            return this.balance;
        }

        // Declared read-only: answered from the committed state.
        peek() {
            return this.balance;
        }

        // Declared read-only, but writes: refused, the state as it was.
        sneak() {
            this.balance += 1;
            return this.balance;
        }
    },
    { readOnly: ["peek", "sneak"] },
);

// Mistakes a guest can make with what it returns, by case: each must fail
// with a line that says what went wrong.
const HOSTILE = {
    nan: () => ({ rate: NaN }),
    activity_output: (ctx) => ctx.callActivity("js_hostile_activity", "nan"),
    activity_input: (ctx) => ctx.callActivity("js_shout", Infinity),
    async: () => Promise.resolve("too late"),
    activity_async: (ctx) => ctx.callActivity("js_hostile_activity", "async"),
    exit: () => process.exit(3),
};

orchestration("js_hostile", (ctx, mistake) => HOSTILE[mistake](ctx));

activity("js_hostile_activity", (mistake) => (mistake === "async" ? (async () => 1)() : NaN));

// Loops forever: the host's CPU deadline must stop it.
orchestration("js_spin", () => {
    for (;;) {}
});

// Takes memory until there is none: the host's limit must stop it.
orchestration("js_hoard", () => {
    const hoard = [];
    for (;;) {
        hoard.push(new Uint8Array(1 << 20).fill(1));
    }
});
