//! Reading a stored batch file in chunks, from any committed byte offset.
//!
//! Rows are numbered from 1 (the first data row; blank lines and all-empty records are not
//! rows). A chunk reports the offset just past its last row, which the batch stores with
//! the chunk's messages: resuming means seeking there and opening a new reader.

use std::io::{BufRead, Read, Seek};

use serde_json::{Map, Value};

use super::{csv_position, csv_reader, is_blank_record, skip_bom, CsvReader, Format};

/// One data row, or why it could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct RawRow {
    pub number: i64,
    pub fields: Result<Map<String, Value>, String>,
}

#[derive(Debug)]
pub struct Chunk {
    pub rows: Vec<RawRow>,
    pub next_row: i64,
    pub next_offset: u64,
    /// The file ended within this chunk. A chunk that stops at `max` rows says `false`
    /// even when nothing follows; the next (empty) chunk then says `true`.
    pub eof: bool,
}

/// The CSV header and where the data starts.
#[derive(Debug, Clone)]
pub struct Header {
    pub columns: Vec<String>,
    pub data_offset: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    #[error("the file is empty")]
    Empty,
    #[error("the header row is not valid UTF-8 CSV: {0}")]
    Malformed(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads a CSV file's header row (after a BOM and any blank lines), from the current
/// position (the start of the file).
pub fn read_header<R: Read + Seek>(mut input: R) -> Result<Header, HeaderError> {
    let bom = skip_bom(&mut input)?;
    let mut reader = csv_reader(input);
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => return Err(HeaderError::Empty),
            Ok(true) if is_blank_record(record.iter().map(str::as_bytes)) => continue,
            Ok(true) => break,
            Err(e) => return Err(HeaderError::Malformed(e.to_string())),
        }
    }
    Ok(Header {
        columns: record.iter().map(|c| c.trim().to_owned()).collect(),
        data_offset: bom + csv_position(&reader),
    })
}

/// Reads rows from a file positioned at a row boundary.
pub struct RowReader<R: BufRead> {
    inner: Inner<R>,
    next_row: i64,
    offset: u64,
}

enum Inner<R: BufRead> {
    Csv {
        reader: CsvReader<R>,
        columns: Vec<String>,
        base: u64,
    },
    Jsonl(R),
}

impl<R: BufRead> RowReader<R> {
    /// Reads `input`, which the caller has put at `offset`, where row `next_row` starts
    /// (for JSON Lines offset 0 is the start; for CSV it is past the header).
    pub fn new(input: R, format: Format, columns: &[String], offset: u64, next_row: i64) -> Self {
        let inner = match format {
            Format::Csv => Inner::Csv {
                reader: csv_reader(input),
                columns: columns.to_vec(),
                base: offset,
            },
            Format::Jsonl => Inner::Jsonl(input),
        };
        Self {
            inner,
            next_row,
            offset,
        }
    }

    /// Reads up to `max` rows.
    pub fn read_chunk(&mut self, max: usize) -> std::io::Result<Chunk> {
        let mut rows = Vec::with_capacity(max.min(8192));
        let eof = match &mut self.inner {
            Inner::Csv {
                reader,
                columns,
                base,
            } => {
                let at = Place {
                    next_row: &mut self.next_row,
                    offset: &mut self.offset,
                };
                read_csv(reader, columns, *base, at, max, &mut rows)?
            }
            Inner::Jsonl(f) => {
                let at = Place {
                    next_row: &mut self.next_row,
                    offset: &mut self.offset,
                };
                read_jsonl(f, at, max, &mut rows)?
            }
        };
        Ok(Chunk {
            rows,
            next_row: self.next_row,
            next_offset: self.offset,
            eof,
        })
    }
}

/// The reader's place: the next row's number and the offset past the last record read.
struct Place<'a> {
    next_row: &'a mut i64,
    offset: &'a mut u64,
}

impl Place<'_> {
    fn push(&mut self, rows: &mut Vec<RawRow>, fields: Result<Map<String, Value>, String>) {
        rows.push(RawRow {
            number: *self.next_row,
            fields,
        });
        *self.next_row += 1;
    }
}

/// Appends up to `max` rows; returns whether the file ended. The offset moves past every
/// record read, blank ones included, but not past what the end of the file consumed.
fn read_csv<R: Read>(
    reader: &mut CsvReader<R>,
    columns: &[String],
    base: u64,
    mut at: Place<'_>,
    max: usize,
    rows: &mut Vec<RawRow>,
) -> std::io::Result<bool> {
    let mut record = csv::ByteRecord::new();
    while rows.len() < max {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Ok(true),
            Ok(true) if is_blank_record(record.iter()) => {}
            Ok(true) => at.push(rows, csv_fields(columns, &record)),
            Err(e) => match e.kind() {
                csv::ErrorKind::Io(_) => return Err(std::io::Error::other(e.to_string())),
                _ => at.push(rows, Err("malformed_row".into())),
            },
        }
        *at.offset = base + csv_position(reader);
    }
    Ok(false)
}

/// Appends up to `max` rows; returns whether the file ended.
fn read_jsonl<R: BufRead>(
    f: &mut R,
    mut at: Place<'_>,
    max: usize,
    rows: &mut Vec<RawRow>,
) -> std::io::Result<bool> {
    let mut line = String::new();
    while rows.len() < max {
        line.clear();
        let n = f.read_line(&mut line)?;
        if n == 0 {
            return Ok(true);
        }
        *at.offset += n as u64;
        if line.trim().is_empty() {
            continue;
        }
        let fields = match serde_json::from_str::<Value>(&line) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err("malformed_row".into()),
        };
        at.push(rows, fields);
    }
    Ok(false)
}

fn csv_fields(columns: &[String], record: &csv::ByteRecord) -> Result<Map<String, Value>, String> {
    let mut m = Map::with_capacity(columns.len());
    for (i, name) in columns.iter().enumerate() {
        let raw = record.get(i).unwrap_or_default();
        let Ok(text) = std::str::from_utf8(raw) else {
            return Err("invalid_utf8".into());
        };
        m.insert(name.clone(), Value::String(text.to_owned()));
    }
    Ok(m)
}
