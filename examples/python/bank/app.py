"""The bank's account actor in Python: a drop-in for the Rust one in
examples/bank (same kind, operations and state), so the bank demo runs
with it:

    bank-demo bank.wasm --account-component py_bank.wasm
"""

import reprise
from reprise import Failure, actor_context
from reprise.exports import ActorReads, Actors, Activities, Orchestrator  # noqa: F401


@reprise.actor("account")
class Account:
    def __init__(self):
        self.balance = 0
        # Deposits and withdrawals applied: proves exactly-once.
        self.operations = 0
        self.closed = False

    def _withdraw(self, amount):
        if amount <= 0:
            raise Failure(f"cannot withdraw {amount}")
        if amount > self.balance:
            raise Failure(f"insufficient funds: balance {self.balance} < {amount}")
        self.balance -= amount
        self.operations += 1

    def deposit(self, amount):
        if amount <= 0:
            raise Failure(f"cannot deposit {amount}")
        if self.closed:
            raise Failure("account is closed")
        self.balance += amount
        self.operations += 1
        return self.balance

    def withdraw(self, amount):
        self._withdraw(amount)
        return self.balance

    @reprise.read_only
    def balance(self):
        return self.balance

    def transfer_to(self, transfer):
        """Withdraws here and signals the deposit to account `to`."""
        context = actor_context()
        if transfer["to"] == context.key:
            raise Failure("cannot transfer to the same account")
        self._withdraw(transfer["amount"])
        context.signal("account", transfer["to"], "deposit", transfer["amount"])
        return self.balance

    def close(self):
        self.closed = True
        return self.balance
