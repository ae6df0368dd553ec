//! Leases and their fencing tokens: who may take a lease, which token the
//! taker gets, and whether a fenced batch may go on.
//!
//! The backend reads the lease's row (locked, where other writers could
//! take it meanwhile) as a [`Lease`], asks here, and writes the answer. A
//! row whose token is 0 has never been granted (a backend may insert one
//! before locking it); it counts as no row at all.

use reprise_core::store::{Lease, StoreError};

/// [`Op::TakeLease`](reprise_core::store::Op::TakeLease): the token
/// `owner` holds lease `name` under once the backend has written it
/// (owner, this token, expiry `until`), or the conflict that names the
/// holder. The holder renews under its token, even once the lease ran out
/// or was given up (nobody else had it meanwhile, so nothing it fenced can
/// have been overtaken); anybody else gets a greater token than any before.
pub fn take_lease(
    name: &str,
    owner: &str,
    now: u64,
    current: Option<&Lease>,
) -> Result<u64, StoreError> {
    let Some(lease) = current.filter(|lease| lease.token > 0) else {
        return Ok(1);
    };
    if lease.owner == owner {
        return Ok(lease.token);
    }
    if lease.expires_at >= now {
        return Err(StoreError::Conflict(format!(
            "the {name} lease is held by {} for another {} ms",
            lease.owner,
            lease.expires_at - now
        )));
    }
    Ok(lease.token + 1)
}

/// [`Op::ExpectLease`](reprise_core::store::Op::ExpectLease): a batch
/// fenced by `token` goes on only while lease `name` still has that token.
/// Its expiry does not matter: a holder whose lease ran out still holds the
/// token until someone else takes the lease.
pub fn expect_lease(name: &str, token: u64, current: Option<&Lease>) -> Result<(), StoreError> {
    match current.filter(|lease| lease.token > 0) {
        Some(lease) if lease.token == token => Ok(()),
        Some(lease) => Err(StoreError::Fenced(format!(
            "the {name} lease has moved on: token {} (held by {}), not {token}",
            lease.token, lease.owner
        ))),
        None => Err(StoreError::Fenced(format!(
            "the {name} lease was never taken"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(owner: &str, token: u64, expires_at: u64) -> Lease {
        Lease {
            name: "worker".into(),
            owner: owner.into(),
            token,
            expires_at,
        }
    }

    fn conflict(result: Result<impl std::fmt::Debug, StoreError>) -> String {
        match result {
            Err(StoreError::Conflict(why)) => why,
            other => panic!("expected a conflict, got {other:?}"),
        }
    }

    fn fenced(result: Result<(), StoreError>) -> String {
        match result {
            Err(StoreError::Fenced(why)) => why,
            other => panic!("expected a refusal by the fence, got {other:?}"),
        }
    }

    #[test]
    fn a_first_taker_gets_token_one_also_over_a_placeholder_row() {
        assert_eq!(take_lease("worker", "a", 10, None).unwrap(), 1);
        let placeholder = held("", 0, 0);
        assert_eq!(
            take_lease("worker", "a", 10, Some(&placeholder)).unwrap(),
            1
        );
    }

    #[test]
    fn the_holder_renews_under_its_token_even_after_it_ran_out() {
        let lease = held("a", 4, 100);
        assert_eq!(take_lease("worker", "a", 50, Some(&lease)).unwrap(), 4);
        assert_eq!(take_lease("worker", "a", 500, Some(&lease)).unwrap(), 4);
        let given_up = held("a", 4, 0);
        assert_eq!(take_lease("worker", "a", 500, Some(&given_up)).unwrap(), 4);
    }

    #[test]
    fn others_wait_until_it_runs_out_then_get_a_greater_token() {
        let lease = held("a", 4, 100);
        assert_eq!(
            conflict(take_lease("worker", "b", 60, Some(&lease))),
            "the worker lease is held by a for another 40 ms"
        );
        // Held through its last millisecond.
        assert!(take_lease("worker", "b", 100, Some(&lease)).is_err());
        assert_eq!(take_lease("worker", "b", 101, Some(&lease)).unwrap(), 5);
        let given_up = held("a", 4, 0);
        assert_eq!(take_lease("worker", "b", 1, Some(&given_up)).unwrap(), 5);
    }

    #[test]
    fn fenced_work_goes_on_only_under_the_current_token() {
        let lease = held("b", 5, 100);
        assert!(expect_lease("worker", 5, Some(&lease)).is_ok());
        // Run out but not taken by anyone else: still the holder's.
        assert!(expect_lease("worker", 5, Some(&held("b", 5, 0))).is_ok());
        assert_eq!(
            fenced(expect_lease("worker", 4, Some(&lease))),
            "the worker lease has moved on: token 5 (held by b), not 4"
        );
        for never in [None, Some(held("", 0, 0))] {
            assert_eq!(
                fenced(expect_lease("worker", 0, never.as_ref())),
                "the worker lease was never taken"
            );
        }
    }
}
