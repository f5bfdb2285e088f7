//! Batch files: checking an uploaded file once (`upload`: CSV rows counted, a JSON array
//! rewritten as JSON Lines) and reading it back in resumable chunks (`rows`).
//!
//! Everything here works on `std::io` readers and writers the caller opens; nothing opens a
//! file, spawns a task or holds a whole file in memory. The server wraps these with its
//! files on disk (`parley-server/src/batches`); the fuzz targets and property tests run
//! them over byte slices. The one rule tying the two halves together: the row count the
//! upload reports is exactly the number of rows the reader yields, from any chunking and
//! any resume point (`checks::batches` asserts it).

mod rows;
mod upload;

use std::io::{self, Chain, Read, Seek, SeekFrom};

pub use rows::{read_header, Chunk, Header, HeaderError, RawRow, RowReader};
pub use upload::{count_csv_rows, json_to_lines, looks_like_json, FileError};

/// The stored shape of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    /// One JSON object per line (what a JSON array upload is stored as).
    Jsonl,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Jsonl => "jsonl",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "csv" => Some(Format::Csv),
            "jsonl" => Some(Format::Jsonl),
            _ => None,
        }
    }
}

/// The UTF-8 byte order mark. Only one, at the very start of a file, is skipped.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Skips a UTF-8 byte order mark at the reader's position; returns its length (0 or 3).
pub fn skip_bom<R: Read + Seek>(r: &mut R) -> io::Result<u64> {
    let start = r.stream_position()?;
    let mut head = [0u8; 3];
    let mut got = 0;
    while got < 3 {
        let n = r.read(&mut head[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    if got == 3 && head == BOM {
        Ok(3)
    } else {
        r.seek(SeekFrom::Start(start))?;
        Ok(0)
    }
}

/// A record that is not a row: every field empty or ASCII whitespace.
pub fn is_blank_record<'a>(mut fields: impl Iterator<Item = &'a [u8]>) -> bool {
    fields.all(|f| f.iter().all(u8::is_ascii_whitespace))
}

/// Fed to csv-core ahead of the real input; see [`csv_reader`].
const PRIMER: &[u8] = b"\n";

type CsvReader<R> = csv::Reader<Chain<&'static [u8], R>>;

/// A flexible, headerless CSV reader over `input` that never strips a BOM of its own.
///
/// csv-core drops a BOM at the start of the first bytes it is given. From the start of a
/// file that duplicates [`skip_bom`] (a second BOM vanished too); from a resume offset it
/// silently rewrote a data row, so a row holding only a BOM was one row when counted at
/// upload and none when read (and a BOM-led first field changed with the chunking). An
/// empty line ahead of the input is skipped by csv-core as every empty line is, and spends
/// its one-time BOM check, so the bytes are parsed the same wherever reading starts.
/// Positions must go through [`csv_position`], which takes the primer back out.
fn csv_reader<R: Read>(input: R) -> CsvReader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(PRIMER.chain(input))
}

/// Bytes of the real input consumed so far (valid once a record has been read).
fn csv_position<R: Read>(reader: &CsvReader<R>) -> u64 {
    reader.position().byte().saturating_sub(PRIMER.len() as u64)
}

#[cfg(test)]
mod tests;
