//! A workload in three languages whose outcome can be audited to the cent:
//! Rust orchestrations move money atomically between Python account
//! actors, and orders run a Rust orchestration through JavaScript
//! activities and a Python sub-orchestration. Tests start it, put the
//! database through something (kills, a backup, a move), and audit it.

use reprise::history::Event;
use reprise::{Runtime, StartOptions};
use serde_json::{Value, json};

use crate::{actor_json, python_guest, register_orders};

const ACCOUNTS: usize = 6;
const OPENING_BALANCE: i64 = 1000;
const TRANSFERS: usize = 40;
const ORDERS: usize = 8;

/// The instances of a started workload, and what the audit expects of them.
#[derive(Debug)]
pub struct PolyglotBank {
    transfers: Vec<Transfer>,
    orders: Vec<String>,
}

#[derive(Debug)]
struct Transfer {
    id: String,
    from: usize,
    to: usize,
    amount: i64,
}

fn account(n: usize) -> String {
    format!("acct-{n}")
}

impl PolyglotBank {
    /// Registers the Python `account` kind and the order components on
    /// `client` (which has the test components), deposits the opening
    /// balances and starts every transfer and order. Nothing runs them
    /// until a worker does.
    pub async fn start(client: &Runtime) -> Self {
        client.register(&python_guest("py_bank")).await.unwrap();
        register_orders(client).await;
        for n in 0..ACCOUNTS {
            let deposit = OPENING_BALANCE.to_string();
            client
                .signal_actor("account", &account(n), "deposit", &deposit, None)
                .await
                .unwrap();
        }
        let mut transfers = Vec::new();
        for n in 0..TRANSFERS {
            let (from, to) = (n % ACCOUNTS, (n * 5 + 1) % ACCOUNTS);
            let to = if from == to { (to + 1) % ACCOUNTS } else { to };
            let amount = 50 + (n * 37 % 400) as i64;
            let input = json!({"from": account(from), "to": account(to), "amount": amount});
            let id = start(client, "transfer_atomic", &format!("transfer-{n}"), &input).await;
            transfers.push(Transfer {
                id,
                from,
                to,
                amount,
            });
        }
        let mut orders = Vec::new();
        for n in 0..ORDERS {
            let order = json!({
                "id": format!("O-{n}"),
                "lines": [{"sku": "tea", "quantity": n + 1, "unit_cents": 450}],
                "coupon": null,
                "address": "1 Quay St, Oslo"
            });
            orders.push(start(client, "place_order", &format!("order-{n}"), &order).await);
        }
        Self { transfers, orders }
    }

    /// Every transfer and order instance.
    pub fn ids(&self) -> Vec<String> {
        let transfers = self.transfers.iter().map(|t| t.id.clone());
        transfers.chain(self.orders.iter().cloned()).collect()
    }

    /// Once every instance has completed and the host has settled: every
    /// cent is accounted for and every operation applied once (the balances
    /// and operation counts are what the transfers' outcomes say), and each
    /// order was priced, shipped and scheduled each activity once.
    pub async fn audit(&self, client: &Runtime) {
        let mut balances = [OPENING_BALANCE; ACCOUNTS];
        let mut operations = [1u64; ACCOUNTS];
        for Transfer {
            id,
            from,
            to,
            amount,
        } in &self.transfers
        {
            let outcome = output(client, id).await;
            if outcome["done"] == true {
                balances[*from] -= amount;
                balances[*to] += amount;
                operations[*from] += 1;
                operations[*to] += 1;
            } else {
                let reason = outcome["reason"].as_str().unwrap();
                assert!(reason.contains("insufficient funds"), "{id}: {reason}");
            }
        }
        for n in 0..ACCOUNTS {
            let state = actor_json(client, "account", &account(n)).await;
            assert_eq!(state["balance"], balances[n], "{}: {state}", account(n));
            let ops = operations[n];
            assert_eq!(state["operations"], ops, "{}: {state}", account(n));
        }
        for (n, id) in self.orders.iter().enumerate() {
            let placed = output(client, id).await;
            assert_eq!(placed["tracking"], format!("TRK-O-{n}"), "{id}: {placed}");
            let total = 450 * (n as u64 + 1);
            assert_eq!(placed["price"]["total_cents"], total, "{id}: {placed}");
            let child = client
                .history(id)
                .await
                .unwrap()
                .into_iter()
                .find_map(|e| match e.event {
                    Event::ChildScheduled { instance_id, .. } => Some(instance_id),
                    _ => None,
                })
                .unwrap();
            for (instance, want) in [
                (id, ["price_order", "reserve_stock"]),
                (&child, ["book_courier", "render_receipt"]),
            ] {
                let scheduled: Vec<String> = client
                    .history(instance)
                    .await
                    .unwrap()
                    .into_iter()
                    .filter_map(|e| match e.event {
                        Event::ActivityScheduled { name, .. } => Some(name),
                        _ => None,
                    })
                    .collect();
                assert_eq!(scheduled, want, "{instance}: each activity scheduled once");
            }
        }
    }
}

async fn start(client: &Runtime, name: &str, id: &str, input: &Value) -> String {
    let options = StartOptions {
        instance_id: Some(id.into()),
        ..StartOptions::default()
    };
    client
        .start(name, &input.to_string(), options)
        .await
        .unwrap()
}

async fn output(client: &Runtime, id: &str) -> Value {
    let record = client.status(id).await.unwrap();
    serde_json::from_str(&record.output.unwrap()).unwrap()
}
