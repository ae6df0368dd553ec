// The bank's account actor in JavaScript: a drop-in for the Rust one in
// examples/bank (same kind, operations and state), so the bank demo runs
// with it:
//
//     bank-demo bank.wasm --account-component js_bank.wasm

import { Failure, actor, actorContext } from "reprise";
export { orchestrator, activities, actors, actorReads } from "reprise";

actor(
    "account",
    class Account {
        constructor() {
            this.balance = 0;
            // Deposits and withdrawals applied: proves exactly-once.
            this.operations = 0;
            this.closed = false;
        }

        _withdraw(amount) {
            if (!(amount > 0)) {
                throw new Failure(`cannot withdraw ${amount}`);
            }
            if (amount > this.balance) {
                throw new Failure(`insufficient funds: balance ${this.balance} < ${amount}`);
            }
            this.balance -= amount;
            this.operations += 1;
        }

        deposit(amount) {
            if (!(amount > 0)) {
                throw new Failure(`cannot deposit ${amount}`);
            }
            if (this.closed) {
                throw new Failure("account is closed");
            }
            this.balance += amount;
            this.operations += 1;
            return this.balance;
        }

        withdraw(amount) {
            this._withdraw(amount);
            return this.balance;
        }

        // An operation may share its name with a field: operations are the
        // class's methods, the state its fields.
        balance() {
            return this.balance;
        }

        // Withdraws here and signals the deposit to account `to`.
        transfer_to({ to, amount }) {
            const context = actorContext();
            if (to === context.key) {
                throw new Failure("cannot transfer to the same account");
            }
            this._withdraw(amount);
            context.signal("account", to, "deposit", amount);
            return this.balance;
        }

        close() {
            this.closed = true;
            return this.balance;
        }
    },
    // Answered at once from the committed state, ahead of queued writes.
    { readOnly: ["balance"] },
);
