use super::*;
use crate::archive::{Counts, Piece, Row, TABLES, Value};

fn table(name: &str) -> usize {
    TABLES.iter().position(|t| t.name == name).unwrap()
}

fn component(digest: &str) -> Row {
    vec![
        Value::Text(digest.into()),
        Value::Bytes(vec![0, 97, 115, 109, 255]),
        Value::Int(1_767_225_600_000),
    ]
}

fn instance(id: &str) -> Row {
    let mut row = vec![
        Value::Text(id.into()),
        Value::Text("approval".into()),
        Value::Text("d1".into()),
        Value::Bool(true),
        Value::Int(2),
        Value::Text("{\"item\":\"chair \\u00e9\"}".into()),
        Value::Text("running".into()),
    ];
    row.extend([
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
        Value::Null,
    ]);
    row.extend([Value::Int(1), Value::Int(-3), Value::Null]);
    row.extend([Value::Null, Value::Null, Value::Null]);
    row
}

fn history(id: &str, seq: i64) -> Row {
    vec![
        Value::Text(id.into()),
        Value::Int(0),
        Value::Int(seq),
        Value::Int(7),
        Value::Bytes(vec![seq as u8; 3]),
    ]
}

fn archive(pieces: &[(usize, Vec<Row>)]) -> Vec<u8> {
    let mut bytes = Vec::new();
    let mut writer = Writer::new(&mut bytes).unwrap();
    let mut want = Counts::default();
    for (table, rows) in pieces {
        writer.rows(*table, rows).unwrap();
        want.add(*table, rows.len());
    }
    assert_eq!(writer.finish().unwrap(), want);
    bytes
}

fn read_all(bytes: &[u8]) -> Result<Vec<Piece>, ArchiveError> {
    let mut reader = Reader::new(bytes)?;
    let mut pieces = Vec::new();
    while let Some(piece) = reader.next_piece()? {
        pieces.push(piece);
    }
    Ok(pieces)
}

#[test]
fn rows_come_back_as_written_in_pieces_of_one_table() {
    let events: Vec<Row> = (0..PIECE_ROWS as i64 + 3)
        .map(|s| history("a", s))
        .collect();
    let bytes = archive(&[
        (table("components"), vec![component("d1"), component("d2")]),
        (table("instances"), vec![instance("a")]),
        (table("history"), events.clone()),
    ]);
    let pieces = read_all(&bytes).unwrap();
    let mut counts = Counts::default();
    counts.0[table("components")] = 2;
    counts.0[table("instances")] = 1;
    counts.0[table("history")] = events.len() as u64;
    assert_eq!(
        pieces,
        vec![
            Piece::Rows {
                table: table("components"),
                rows: vec![component("d1"), component("d2")]
            },
            Piece::Rows {
                table: table("instances"),
                rows: vec![instance("a")]
            },
            Piece::Rows {
                table: table("history"),
                rows: events[..PIECE_ROWS].to_vec()
            },
            Piece::Rows {
                table: table("history"),
                rows: events[PIECE_ROWS..].to_vec()
            },
            Piece::End(counts.clone()),
        ]
    );
    assert_eq!(
        counts.summary(),
        format!("2 components, 1 instances, {} history events", events.len())
    );
}

#[test]
fn an_empty_store_makes_an_archive_of_a_header_and_an_end() {
    let bytes = archive(&[]);
    assert_eq!(bytes.iter().filter(|b| **b == b'\n').count(), 2);
    assert_eq!(
        read_all(&bytes).unwrap(),
        vec![Piece::End(Counts::default())]
    );
}

#[test]
fn an_archive_cut_short_anywhere_is_truncated() {
    let bytes = archive(&[
        (table("components"), vec![component("d1")]),
        (table("history"), vec![history("a", 0), history("a", 1)]),
    ]);
    let header_end = bytes.iter().position(|b| *b == b'\n').unwrap() + 1;
    for cut in header_end..bytes.len() {
        let error = read_all(&bytes[..cut]).unwrap_err();
        assert!(
            matches!(error, ArchiveError::Truncated(_)),
            "cut at {cut}: {error}"
        );
    }
    assert!(matches!(
        read_all(&bytes[..header_end / 2]).unwrap_err(),
        ArchiveError::NotAnArchive(_)
    ));
}

#[test]
fn a_changed_byte_or_a_missing_row_fails_the_checksum() {
    let bytes = archive(&[(table("instances"), vec![instance("a"), instance("b")])]);
    let text = String::from_utf8(bytes.clone()).unwrap();
    let changed = text.replacen("\"approval\"", "\"approvbl\"", 1);
    let error = read_all(changed.as_bytes()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "the archive is damaged: its checksum does not match its contents"
    );
    let lines: Vec<&str> = text.lines().collect();
    let without_row = format!("{}\n{}\n{}\n", lines[0], lines[1], lines[3]);
    assert!(matches!(
        read_all(without_row.as_bytes()).unwrap_err(),
        ArchiveError::Damaged(_)
    ));
}

#[test]
fn rows_that_break_the_format_are_named_by_line() {
    let bytes = archive(&[(table("instances"), vec![instance("a")])]);
    let text = String::from_utf8(bytes).unwrap();
    let header = text.lines().next().unwrap();
    let cases = [
        (
            "[\"instances\",1]",
            "line 2: a row of instances has 1 values, not 18",
        ),
        ("[\"nope\",1]", "line 2: no table is named \"nope\""),
        ("not json", "line 2: it is neither a row nor the end line"),
        (
            "[\"timers\",\"a\",0,1,\"soon\"]",
            "line 2: column fire_at of timers holds no integer",
        ),
        (
            "[\"components\",\"d\",\"%%%\",1]",
            "line 2: column bytes of components holds no base64 bytes",
        ),
    ];
    for (line, want) in cases {
        let archive = format!("{header}\n{line}\n");
        let error = read_all(archive.as_bytes()).unwrap_err();
        assert_eq!(error.to_string(), format!("the archive is damaged: {want}"));
    }
    let backwards = archive(&[
        (table("timers"), vec![]),
        (table("instances"), vec![instance("a")]),
    ]);
    let mut text = String::from_utf8(backwards).unwrap();
    let timer = "[\"timers\",\"a\",0,1,5]\n";
    let at = text.find('\n').unwrap() + 1;
    text.insert_str(at, timer);
    assert_eq!(
        read_all(text.as_bytes()).unwrap_err().to_string(),
        "the archive is damaged: line 3: a row of instances after rows of timers"
    );
}

#[test]
fn other_formats_and_versions_are_no_archive() {
    assert_eq!(
        read_all(b"").unwrap_err().to_string(),
        "not a Reprise archive: the input is empty"
    );
    assert_eq!(
        read_all(b"SQLite format 3\0\n").unwrap_err().to_string(),
        "not a Reprise archive: its first line is no archive header"
    );
    let bytes = archive(&[]);
    let text = String::from_utf8(bytes).unwrap();
    let older = text.replacen("\"version\":2", "\"version\":1", 1);
    assert_eq!(
        read_all(older.as_bytes()).unwrap_err().to_string(),
        "not a Reprise archive: it is of version 1, and this Reprise reads version 2"
    );
    let other_columns = text.replacen("\"fire_at\"", "\"fires_at\"", 1);
    assert!(matches!(
        read_all(other_columns.as_bytes()).unwrap_err(),
        ArchiveError::NotAnArchive(_)
    ));
}

#[test]
fn nothing_may_follow_the_end_line() {
    let mut bytes = archive(&[]);
    bytes.extend_from_slice(b"[\"components\"]\n");
    assert_eq!(
        read_all(&bytes).unwrap_err().to_string(),
        "the archive is damaged: line 3 follows the end line"
    );
}
