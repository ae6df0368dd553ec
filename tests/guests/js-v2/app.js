// Version 2 of the JavaScript test guest's `js_greet`, changed the way a
// careless deploy would: it shouts before it greets. Replaying an instance
// of version 1 with it must fail at the first call that differs.

import { actor, orchestration } from "reprise";
export { orchestrator, activities, actors, actorReads } from "reprise";

orchestration("js_greet", (ctx, cities) => {
    const shouted = ctx.callActivity("js_shout", cities.join(" / "));
    const greetings = ctx.whenAll(cities.map((city) => ctx.scheduleActivity("say_hello", city)));
    return { greetings, shouted };
});

// Version 2 of `js_account`: the same state, and `get` says which version
// answered. Registered while the worker runs, it handles the kind's next
// operation.
actor(
    "js_account",
    class Account {
        constructor() {
            this.balance = 0;
            this.operations = 0;
        }

        deposit(amount) {
            this.balance += amount;
            this.operations += 1;
            return this.balance;
        }

        get() {
            return { balance: this.balance, operations: this.operations, version: 2 };
        }
    },
);
