//! A WASI command: a valid component, but not for any Reprise world.

fn main() {
    println!("I am not an orchestration");
}
