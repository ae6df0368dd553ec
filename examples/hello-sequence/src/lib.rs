//! Function chaining, the first Durable Functions sample: greet three cities
//! one after another, each greeting an activity whose result is recorded.
//!
//! Build with: `cargo build -p hello-sequence --target wasm32-wasip2 --release`
//! Run with:   `reprise start hello_sequence --input '["Tokyo","Seattle","London"]' --wait`

use reprise_sdk::{Context, Result};

/// Calls `say_hello` once per city, in order, and returns the greetings.
fn hello_sequence(ctx: &Context, cities: Vec<String>) -> Result<Vec<String>> {
    let mut greetings = Vec::with_capacity(cities.len());
    for city in &cities {
        greetings.push(ctx.call_activity("say_hello", city)?);
    }
    Ok(greetings)
}

/// The activity: a side effect would live here.
fn say_hello(city: String) -> Result<String> {
    Ok(format!("Hello, {city}!"))
}

reprise_sdk::app! {
    orchestrations: [hello_sequence],
    activities: [say_hello],
}
