//! The order example, three languages in one history: a Rust orchestration
//! calls a JavaScript activity and a Rust one, then a Python
//! sub-orchestration that calls a Rust activity and a JavaScript one.

use reprise::history::Event;
use reprise::store::Status;
use reprise_tests::{Host, assert_replays_identically, completed_output, register_orders};
use serde_json::json;

const ORDER: &str = r#"{
    "id": "A-1",
    "lines": [
        {"sku": "tea", "quantity": 3, "unit_cents": 450},
        {"sku": "mug", "quantity": 2, "unit_cents": 1200}
    ],
    "coupon": "WELCOME10",
    "address": "1 Quay St, Oslo"
}"#;

/// The activities an instance's history scheduled, by name, in order.
async fn activities_scheduled(host: &Host, id: &str) -> Vec<String> {
    let history = host.runtime.history(id).await.unwrap();
    history
        .iter()
        .filter_map(|e| match &e.event {
            Event::ActivityScheduled { name, .. } => Some(name.clone()),
            _ => None,
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rust_orchestration_uses_javascript_pricing_and_python_shipping() {
    let host = Host::new().await;
    register_orders(&host.runtime).await;

    let placed = host.run("place_order", ORDER).await;
    assert_eq!(
        completed_output(&placed),
        json!({
            "order_id": "A-1",
            "price": {"subtotal_cents": 3750, "discount_cents": 375, "total_cents": 3375},
            "reservation": "5 units reserved",
            "tracking": "TRK-A-1",
            "receipt": "Order A-1\nTotal €33.75\nTracking TRK-A-1"
        })
    );
    assert_eq!(
        activities_scheduled(&host, &placed.id).await,
        ["price_order", "reserve_stock"]
    );
    let history = host.runtime.history(&placed.id).await.unwrap();
    let child = history
        .iter()
        .find_map(|e| match &e.event {
            Event::ChildScheduled {
                name, instance_id, ..
            } if name == "ship_order" => Some(instance_id.clone()),
            _ => None,
        })
        .expect("shipping ran as a sub-orchestration");
    assert_eq!(
        activities_scheduled(&host, &child).await,
        ["book_courier", "render_receipt"]
    );
    assert_replays_identically(&host.runtime, &placed.id).await;
    assert_replays_identically(&host.runtime, &child).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failure_in_one_language_reaches_the_orchestration_in_another() {
    let host = Host::new().await;
    register_orders(&host.runtime).await;

    // Thrown in JavaScript, propagated by Rust's `?`.
    let coupon = ORDER.replace("WELCOME10", "FREE");
    let failed = host.run("place_order", &coupon).await;
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(
        failed.failure().unwrap().message,
        r#"unknown coupon "FREE""#
    );

    // Returned by a Rust activity after the JavaScript one priced it.
    let kettles = r#"{"id":"A-2","lines":[{"sku":"kettle","quantity":5,"unit_cents":3000}],"coupon":null,"address":"x"}"#;
    let failed = host.run("place_order", kettles).await;
    assert_eq!(failed.status, Status::Failed);
    assert_eq!(
        failed.failure().unwrap().message,
        "out of stock: 5 kettle wanted, 3 available"
    );
    assert_eq!(
        activities_scheduled(&host, &failed.id).await,
        ["price_order", "reserve_stock"]
    );
}
