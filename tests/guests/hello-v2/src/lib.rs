//! hello-sequence as someone might "improve" it after instances started:
//! the greetings now go in reverse order. Replaying old histories with this
//! code must fail with a non-determinism error.

use reprise_sdk::{Context, Result};

fn hello_sequence(ctx: &Context, cities: Vec<String>) -> Result<Vec<String>> {
    let mut greetings = Vec::with_capacity(cities.len());
    for city in cities.iter().rev() {
        greetings.push(ctx.call_activity("say_hello", city)?);
    }
    Ok(greetings)
}

fn say_hello(city: String) -> Result<String> {
    Ok(format!("Hello, {city}!"))
}

reprise_sdk::app! {
    orchestrations: [hello_sequence],
    activities: [say_hello],
}
