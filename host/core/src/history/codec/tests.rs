use super::*;

fn operation(key: &str) -> ActorOperation {
    ActorOperation {
        target: ActorId {
            kind: "account".into(),
            key: key.into(),
        },
        operation: "deposit".into(),
        input: "30".into(),
    }
}

/// One of every variant, with the optional parts both present and absent.
fn every_event() -> Vec<Event> {
    let failure = Failure {
        message: "no".into(),
        details: Some(r#"{"code":7}"#.into()),
    };
    vec![
        Event::Started {
            name: "o".into(),
            input: "[1,2]".into(),
            digest: None,
        },
        Event::Started {
            name: "o".into(),
            input: "[1,2]".into(),
            digest: Some("ab12".into()),
        },
        Event::Upgraded {
            from: "ab12".into(),
            to: "cd34".into(),
        },
        Event::Forked {
            instance_id: "order-7".into(),
            execution: 2,
            event: 300,
        },
        Event::Rewound { cut: Vec::new() },
        Event::Rewound {
            cut: vec![
                HistoryEvent {
                    seq: 6,
                    at: 1_790_000_000_000,
                    event: Event::TaskAwaited {
                        task: 5,
                        outcome: Err(Failure::new("card declined")),
                    },
                },
                HistoryEvent {
                    seq: 7,
                    at: 1_790_000_000_001,
                    event: Event::Failed {
                        failure: Failure::new("card declined"),
                    },
                },
            ],
        },
        Event::ActivityScheduled {
            name: "a".into(),
            input: "{}".into(),
            options: ActivityOptions::default(),
        },
        Event::ActivityScheduled {
            name: "ä".into(),
            input: "\"ünï\"".into(),
            options: ActivityOptions {
                retry: Some(RetryPolicy {
                    max_attempts: 5,
                    first_retry_ms: 100,
                    backoff_coefficient: 1.5,
                    max_retry_ms: u64::MAX,
                }),
                timeout_ms: Some(30_000),
            },
        },
        Event::TimerScheduled {
            delay_ms: 0,
            fire_at: 1_790_000_000_000,
        },
        Event::ChildScheduled {
            name: "c".into(),
            input: "null".into(),
            instance_id: "i:1".into(),
            explicit_id: true,
        },
        Event::ActorCalled {
            operation: operation("alice"),
        },
        Event::ActorSignaled {
            operation: operation("bob"),
        },
        Event::ActorsCalledAtomically {
            operations: vec![operation("alice"), operation("bob")],
        },
        Event::EventAwaited {
            name: "approval".into(),
        },
        Event::TaskAwaited {
            task: 3,
            outcome: Ok("\"hi\"".into()),
        },
        Event::AnyAwaited {
            tasks: vec![4, 300],
            winner: 1,
            outcome: Err(failure.clone()),
        },
        Event::Now { ms: u64::MAX },
        Event::Random { value: 42 },
        Event::Uuid {
            value: "0190-abcd".into(),
        },
        Event::CustomStatus { status: None },
        Event::CustomStatus {
            status: Some("\"busy\"".into()),
        },
        Event::ContinuedAsNew { input: "1".into() },
        Event::Completed { output: "".into() },
        Event::Failed {
            failure: Failure::new("trap"),
        },
    ]
}

#[test]
fn every_event_round_trips() {
    for event in every_event() {
        assert_eq!(decode(&encode(&event)), Ok(event.clone()), "{event:?}");
    }
}

#[test]
fn json_written_by_earlier_versions_still_decodes() {
    for event in every_event() {
        let json = serde_json::to_vec(&event).unwrap();
        assert_eq!(decode(&json), Ok(event));
    }
}

#[test]
fn truncated_or_corrupt_bytes_are_an_error_not_a_panic() {
    for event in every_event() {
        let bytes = encode(&event);
        for cut in 0..bytes.len() {
            assert!(decode(&bytes[..cut]).is_err(), "{event:?} cut at {cut}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert!(decode(&extra).is_err());
    }
    assert!(decode(&[FORMAT, 99]).is_err());
    assert!(decode(&[FORMAT, 6, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
}
