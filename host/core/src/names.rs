//! The rules for names users and guests choose: instance ids, event names,
//! actor kinds, keys and operation names. They appear in logs, in
//! tab-separated listings and in URLs, so they must be printable and of
//! bounded length.

/// What a name names, and so how long it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameKind {
    /// An instance id.
    InstanceId,
    /// An external event's name.
    EventName,
    /// An actor kind.
    ActorKind,
    /// An actor key.
    ActorKey,
    /// An actor operation's name.
    Operation,
}

impl NameKind {
    fn describe(self) -> &'static str {
        match self {
            NameKind::InstanceId => "instance id",
            NameKind::EventName => "event name",
            NameKind::ActorKind => "actor kind",
            NameKind::ActorKey => "actor key",
            NameKind::Operation => "operation name",
        }
    }

    /// Longest allowed, in bytes of UTF-8.
    pub fn max_len(self) -> usize {
        match self {
            NameKind::InstanceId | NameKind::EventName | NameKind::ActorKey => 256,
            NameKind::ActorKind | NameKind::Operation => 128,
        }
    }
}

/// A name that breaks a rule, and which.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    #[error("{0} must not be empty")]
    Empty(&'static str),
    /// The name is longer than allowed.
    #[error("{what} is {len} bytes; the limit is {max} bytes")]
    TooLong {
        /// What the name names.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// The name holds a control character (a newline, a tab, NUL, …).
    #[error("{what} {name:?} contains the control character {character:?}")]
    ControlCharacter {
        /// What the name names.
        what: &'static str,
        /// The name.
        name: String,
        /// The first control character in it.
        character: char,
    },
    /// The name is `.` or `..`, which a URL cannot hold as a path segment:
    /// browsers and URL libraries resolve it away, even as `%2E%2E`.
    #[error("{what} must not be {name:?}: a URL cannot name it")]
    DotSegment {
        /// What the name names.
        what: &'static str,
        /// The name.
        name: String,
    },
}

/// Checks `name` against the rules for its kind.
pub fn check(kind: NameKind, name: &str) -> Result<(), NameError> {
    let what = kind.describe();
    if name.is_empty() {
        return Err(NameError::Empty(what));
    }
    if name.len() > kind.max_len() {
        return Err(NameError::TooLong {
            what,
            len: name.len(),
            max: kind.max_len(),
        });
    }
    if name == "." || name == ".." {
        return Err(NameError::DotSegment {
            what,
            name: name.to_owned(),
        });
    }
    if let Some(character) = name.chars().find(|c| c.is_control()) {
        return Err(NameError::ControlCharacter {
            what,
            name: name.to_owned(),
            character,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_names_pass_and_each_broken_rule_is_named() {
        assert_eq!(check(NameKind::InstanceId, "order-17 ünïcode ok"), Ok(()));
        assert_eq!(
            check(NameKind::InstanceId, "a\nb").unwrap_err().to_string(),
            r#"instance id "a\nb" contains the control character '\n'"#
        );
        assert_eq!(
            check(NameKind::EventName, "").unwrap_err().to_string(),
            "event name must not be empty"
        );
        assert_eq!(
            check(NameKind::ActorKind, &"k".repeat(129))
                .unwrap_err()
                .to_string(),
            "actor kind is 129 bytes; the limit is 128 bytes"
        );
        assert!(check(NameKind::ActorKey, "tab\there").is_err());
        assert!(check(NameKind::Operation, "del\u{7f}").is_err());
        assert_eq!(
            check(NameKind::InstanceId, "..").unwrap_err().to_string(),
            r#"instance id must not be "..": a URL cannot name it"#
        );
        assert!(check(NameKind::ActorKey, ".").is_err());
        assert_eq!(check(NameKind::ActorKey, "..."), Ok(()));
    }
}
