//! A polyglot order, each step in the language that suits it: this Rust
//! orchestration prices the order with a JavaScript activity
//! (`examples/js/pricing`), reserves stock with a Rust activity, and hands
//! shipping to a Python orchestration (`examples/python/shipping`) that
//! books a courier (Rust) and renders the receipt (JavaScript). One history
//! records them all; a replay takes the same path whatever the language.
//!
//! Build with: `cargo build -p orders --target wasm32-wasip2 --release`,
//! and the JavaScript and Python components as `scripts/demo` does.
//! Run with:   `reprise start place_order --input '{"id":"A-1", ...}' --wait`

use reprise_sdk::{Context, Failure, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
struct Order {
    id: String,
    lines: Vec<Line>,
    coupon: Option<String>,
    address: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Line {
    sku: String,
    quantity: u32,
    unit_cents: u64,
}

/// What `price_order` (JavaScript) answers.
#[derive(Debug, Serialize, Deserialize)]
struct Price {
    subtotal_cents: u64,
    discount_cents: u64,
    total_cents: u64,
}

/// What `ship_order` (Python) is asked, and answers.
#[derive(Debug, Serialize, Deserialize)]
struct Shipping<'a> {
    order_id: &'a str,
    address: &'a str,
    total_cents: u64,
}

#[derive(Debug, Serialize, Deserialize)]
struct Shipment {
    tracking: String,
    receipt: String,
}

#[derive(Debug, Serialize, Deserialize)]
struct Placed {
    order_id: String,
    price: Price,
    reservation: String,
    tracking: String,
    receipt: String,
}

/// Prices, reserves and ships an order.
fn place_order(ctx: &Context, order: Order) -> Result<Placed> {
    let price: Price = ctx.call_activity("price_order", &order)?;
    let reservation: String = ctx.call_activity("reserve_stock", &order.lines)?;
    ctx.set_custom_status(&"shipping");
    let shipment: Shipment = ctx.call_orchestration(
        "ship_order",
        &Shipping {
            order_id: &order.id,
            address: &order.address,
            total_cents: price.total_cents,
        },
    )?;
    Ok(Placed {
        order_id: order.id,
        price,
        reservation,
        tracking: shipment.tracking,
        receipt: shipment.receipt,
    })
}

/// What the warehouse has; a real activity would ask it.
const STOCK: &[(&str, u32)] = &[("tea", 100), ("mug", 20), ("kettle", 3)];

/// Reserves the lines' quantities, or fails naming what is short.
fn reserve_stock(lines: Vec<Line>) -> Result<String> {
    for line in &lines {
        let available = STOCK
            .iter()
            .find(|(sku, _)| *sku == line.sku)
            .map_or(0, |(_, count)| *count);
        if line.quantity > available {
            return Err(Failure::new(format!(
                "out of stock: {} {} wanted, {available} available",
                line.quantity, line.sku
            )));
        }
    }
    let units: u32 = lines.iter().map(|line| line.quantity).sum();
    Ok(format!("{units} units reserved"))
}

#[derive(Debug, Deserialize)]
struct Pickup {
    order_id: String,
    address: String,
}

/// Books a courier; a real activity would call the courier's API.
fn book_courier(pickup: Pickup) -> Result<String> {
    if pickup.address.trim().is_empty() {
        return Err(Failure::new(format!(
            "order {}: no address to ship to",
            pickup.order_id
        )));
    }
    Ok(format!("TRK-{}", pickup.order_id))
}

reprise_sdk::app! {
    orchestrations: [place_order],
    activities: [reserve_stock, book_courier],
}
