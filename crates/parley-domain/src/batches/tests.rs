use std::io::Cursor;

use serde_json::{json, Value};

use super::*;

/// A reader of `data` (a CSV file) at `offset`, or past the header.
fn csv_reader_at(data: &[u8], offset: Option<u64>, next_row: i64) -> RowReader<Cursor<&[u8]>> {
    let header = read_header(Cursor::new(data)).unwrap();
    let offset = offset.unwrap_or(header.data_offset);
    let mut input = Cursor::new(data);
    input.set_position(offset);
    RowReader::new(input, Format::Csv, &header.columns, offset, next_row)
}

/// Every row of `data` (a CSV file), read in chunks of `max`.
fn csv_rows(data: &[u8], max: usize) -> Vec<RawRow> {
    let mut r = csv_reader_at(data, None, 1);
    let mut rows = Vec::new();
    loop {
        let chunk = r.read_chunk(max).unwrap();
        rows.extend(chunk.rows);
        if chunk.eof {
            return rows;
        }
    }
}

fn field(row: &RawRow, name: &str) -> Value {
    row.fields.as_ref().unwrap()[name].clone()
}

/// fuzz/regressions/batch_csv/bom-only-row.csv: the upload counted the row, the reader
/// (where csv-core stripped the BOM as if it began a file) skipped it as blank.
#[test]
fn a_row_holding_only_a_bom_is_a_row() {
    let data = b"phone_number\n\xEF\xBB\xBF\n";
    assert_eq!(count_csv_rows(Cursor::new(data)).unwrap(), 1);
    let rows = csv_rows(data, 10);
    assert_eq!(rows.len(), 1);
    assert_eq!(field(&rows[0], "phone_number"), json!("\u{feff}"));
}

/// A BOM opening a data row is data, whether the reader starts before that row or
/// resumes at it.
#[test]
fn a_bom_leading_a_row_reads_the_same_from_any_offset() {
    let data = "phone_number\n+15550100001\n\u{feff}+15550100002\n".as_bytes();
    let whole = csv_rows(data, 10);
    assert_eq!(
        field(&whole[1], "phone_number"),
        json!("\u{feff}+15550100002")
    );
    let first = csv_reader_at(data, None, 1).read_chunk(1).unwrap();
    let resumed = csv_reader_at(data, Some(first.next_offset), 2)
        .read_chunk(10)
        .unwrap();
    assert_eq!(resumed.rows, whole[1..]);
}

/// One BOM at the start of a file is skipped; a second one is the header's.
#[test]
fn one_bom_is_skipped_at_the_start() {
    let one = read_header(Cursor::new(b"\xEF\xBB\xBFa,b\r\n1,2\r\n")).unwrap();
    assert_eq!(one.columns, ["a", "b"]);
    assert_eq!(one.data_offset, 3 + 4);
    let two = read_header(Cursor::new(b"\xEF\xBB\xBF\xEF\xBB\xBFa\n")).unwrap();
    assert_eq!(two.columns, ["\u{feff}a"]);
    assert_eq!(two.data_offset, 8);
}

/// Offsets count the file's bytes, not the empty line [`csv_reader`] puts ahead of them.
/// As csv-core has it, a record ends at its `\r`; the `\n` is read as an empty line.
#[test]
fn offsets_are_the_files_own() {
    let data = b"\n\na,b\r\n\r\n1,2\r\n \r\n3,4";
    let header = read_header(Cursor::new(data)).unwrap();
    assert_eq!(header.data_offset, 6);
    let mut input = Cursor::new(&data[..]);
    input.set_position(6);
    let mut r = RowReader::new(input, Format::Csv, &header.columns, 6, 1);
    let first = r.read_chunk(1).unwrap();
    assert_eq!(first.rows.len(), 1);
    assert_eq!(&data[first.next_offset as usize..], b"\n \r\n3,4");
    let rest = r.read_chunk(5).unwrap();
    assert_eq!((rest.rows.len(), rest.eof, rest.next_row), (1, true, 3));
    assert_eq!(rest.next_offset, data.len() as u64);
}

#[test]
fn json_arrays_become_lines() {
    let mut out = Vec::new();
    let data = "\u{feff} [{\"n\": 1.50}, {}]";
    assert!(looks_like_json(data.as_bytes()));
    assert_eq!(json_to_lines(Cursor::new(data), &mut out).unwrap(), 2);
    assert_eq!(out, b"{\"n\":1.5}\n{}\n");
    let refused = json_to_lines(Cursor::new("[1]"), &mut Vec::new());
    assert!(matches!(refused, Err(FileError::Invalid(_))));
}
