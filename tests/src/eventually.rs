//! Waiting for a condition rather than for a while: a test that needs
//! something to have happened looks at it again and again, goes on the
//! moment it holds, and fails, saying what it waited for and what it saw
//! last, when the time is up.

use std::fmt::{Debug, Display};
use std::time::Duration;

/// How long [`eventually`] waits between two looks: short beside anything
/// a test waits for, long beside one look (a query, a short process).
const BETWEEN_LOOKS: Duration = Duration::from_millis(10);

/// What one look at a condition of [`eventually`] found.
pub trait Look {
    /// What the wait gives back once the condition holds.
    type Found;
    /// `Ok` once the condition holds; otherwise what was seen instead,
    /// when the condition can say.
    fn holds(self) -> Result<Self::Found, Option<String>>;
}

/// `true` once the condition holds.
impl Look for bool {
    type Found = ();
    fn holds(self) -> Result<(), Option<String>> {
        if self { Ok(()) } else { Err(None) }
    }
}

/// `Some` once the condition holds, with what the wait gives back.
impl<T> Look for Option<T> {
    type Found = T;
    fn holds(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

/// `Ok` once the condition holds; `Err` carries what was seen instead, and
/// a wait that runs out of time shows the last one.
impl<T, E: Debug> Look for Result<T, E> {
    type Found = T;
    fn holds(self) -> Result<T, Option<String>> {
        self.map_err(|seen| Some(format!("{seen:?}")))
    }
}

/// Looks at `condition` every few milliseconds until it holds, and returns
/// what it found then; panics once `timeout` has passed, with `what` (the
/// condition, said as a statement: "instance a1 is unloaded") and the last
/// thing seen. A look that is still running when the time is up counts as
/// a look that failed.
pub async fn eventually<L: Look>(
    timeout: Duration,
    what: impl Display,
    mut condition: impl AsyncFnMut() -> L,
) -> L::Found {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut last_seen = None;
    loop {
        match tokio::time::timeout_at(deadline, condition()).await {
            Ok(look) => match look.holds() {
                Ok(found) => return found,
                Err(seen) => last_seen = seen,
            },
            Err(_) => panic!(
                "waited {timeout:?} until {what}, in vain: the last look had not finished{}",
                last_seen.map_or_else(String::new, |seen| format!("; the one before saw {seen}"))
            ),
        }
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "waited {timeout:?} until {what}, in vain{}",
                last_seen.map_or_else(String::new, |seen| format!("; last seen: {seen}"))
            );
        }
        tokio::time::sleep(BETWEEN_LOOKS).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_condition_that_comes_to_hold_gives_back_what_it_found() {
        let mut looks = 0;
        let found = eventually(Duration::from_secs(5), "the third look", async || {
            looks += 1;
            if looks == 3 { Ok(looks) } else { Err(looks) }
        })
        .await;
        assert_eq!(found, 3);
        let mut flag = false;
        eventually(Duration::from_secs(5), "the flag is up", async || {
            std::mem::replace(&mut flag, true)
        })
        .await;
        let some = eventually(Duration::from_secs(5), "there is one", async || Some(1)).await;
        assert_eq!(some, 1);
    }

    #[tokio::test]
    #[should_panic(expected = "until the count reaches 10, in vain; last seen: 7")]
    async fn a_condition_that_never_holds_says_what_was_awaited_and_seen() {
        eventually(
            Duration::from_millis(50),
            "the count reaches 10",
            async || Err::<(), _>(7),
        )
        .await;
    }

    #[tokio::test]
    #[should_panic(expected = "the last look had not finished")]
    async fn a_look_that_hangs_fails_when_the_time_is_up() {
        eventually(
            Duration::from_millis(50),
            "a hanging look answers",
            async || std::future::pending::<bool>().await,
        )
        .await;
    }
}
