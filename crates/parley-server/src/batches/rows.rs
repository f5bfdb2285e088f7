//! Reading a stored batch file in chunks, from any committed byte offset.
//!
//! Rows are numbered from 1 (the first data row; blank lines and all-empty records are not
//! rows). A chunk reports the offset just past its last row, which the batch stores with
//! the chunk's messages: resuming means seeking there.

use std::{
    fs::File,
    io::{BufRead, BufReader, Seek, SeekFrom},
    path::Path,
};

use serde_json::{Map, Value};

use super::file::{skip_bom, Format};

/// One data row, or why it could not be read.
#[derive(Debug, Clone)]
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

pub(crate) fn is_blank_record<'a>(mut fields: impl Iterator<Item = &'a [u8]>) -> bool {
    fields.all(|f| f.iter().all(u8::is_ascii_whitespace))
}

/// Reads a CSV file's header row (after a BOM and any blank lines).
pub fn read_header(path: &Path) -> Result<Header, HeaderError> {
    let mut f = BufReader::new(File::open(path)?);
    let bom = skip_bom(&mut f)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(f);
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
        data_offset: bom + reader.position().byte(),
    })
}

pub struct RowReader {
    inner: Inner,
    next_row: i64,
    offset: u64,
}

enum Inner {
    Csv {
        reader: csv::Reader<BufReader<File>>,
        columns: Vec<String>,
        base: u64,
    },
    Jsonl(BufReader<File>),
}

impl RowReader {
    /// Opens `path` at `offset`, where row `next_row` starts (for JSON Lines, offset 0 is
    /// the start; for CSV it is past the header).
    pub fn open(
        path: &Path,
        format: Format,
        columns: &[String],
        offset: u64,
        next_row: i64,
    ) -> std::io::Result<Self> {
        let mut f = File::open(path)?;
        f.seek(SeekFrom::Start(offset))?;
        let f = BufReader::with_capacity(256 * 1024, f);
        let inner = match format {
            Format::Csv => Inner::Csv {
                reader: csv::ReaderBuilder::new()
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(f),
                columns: columns.to_vec(),
                base: offset,
            },
            Format::Jsonl => Inner::Jsonl(f),
        };
        Ok(Self {
            inner,
            next_row,
            offset,
        })
    }

    /// Reads up to `max` rows.
    pub fn read_chunk(&mut self, max: usize) -> std::io::Result<Chunk> {
        let mut rows = Vec::with_capacity(max.min(8192));
        let mut eof = false;
        match &mut self.inner {
            Inner::Csv {
                reader,
                columns,
                base,
            } => {
                let mut record = csv::ByteRecord::new();
                while rows.len() < max {
                    match reader.read_byte_record(&mut record) {
                        Ok(false) => {
                            eof = true;
                            break;
                        }
                        Ok(true) if is_blank_record(record.iter()) => {}
                        Ok(true) => {
                            rows.push(RawRow {
                                number: self.next_row,
                                fields: csv_fields(columns, &record),
                            });
                            self.next_row += 1;
                        }
                        Err(e) => match e.kind() {
                            csv::ErrorKind::Io(_) => {
                                return Err(std::io::Error::other(e.to_string()))
                            }
                            _ => {
                                rows.push(RawRow {
                                    number: self.next_row,
                                    fields: Err("malformed_row".into()),
                                });
                                self.next_row += 1;
                            }
                        },
                    }
                    self.offset = *base + reader.position().byte();
                }
            }
            Inner::Jsonl(f) => {
                let mut line = String::new();
                while rows.len() < max {
                    line.clear();
                    let n = f.read_line(&mut line)?;
                    if n == 0 {
                        eof = true;
                        break;
                    }
                    self.offset += n as u64;
                    if line.trim().is_empty() {
                        continue;
                    }
                    let fields = match serde_json::from_str::<Value>(&line) {
                        Ok(Value::Object(m)) => Ok(m),
                        _ => Err("malformed_row".into()),
                    };
                    rows.push(RawRow {
                        number: self.next_row,
                        fields,
                    });
                    self.next_row += 1;
                }
            }
        }
        Ok(Chunk {
            rows,
            next_row: self.next_row,
            next_offset: self.offset,
            eof,
        })
    }
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
