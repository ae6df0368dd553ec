//! Random ids, for what the caller leaves unnamed: instances, actor call
//! requests, worker processes. Never used where replay must see the same
//! id: an orchestration's ids come from its seeded randomness.

/// 24 random hex digits.
pub(crate) fn random_id() -> String {
    use rand::Rng;
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}
