//! Checking a received file once: is it JSON, how many CSV rows, and rewriting a JSON
//! array as JSON Lines so a batch can resume at a byte offset.

use std::io::{Read, Seek, Write};

use serde::de::{Deserializer as _, SeqAccess, Visitor};

use super::{csv_reader, is_blank_record, skip_bom, BOM};

/// Why an uploaded file was refused.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file's content is wrong; the message is for the uploader.
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Whether a file is a JSON array, judged from its first bytes: the first byte after a BOM
/// and blanks is `[`.
pub fn looks_like_json(head: &[u8]) -> bool {
    let h = head.strip_prefix(BOM).unwrap_or(head);
    h.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

/// Data rows of a CSV file: records after the header, blank ones not counted. Reads from
/// the current position (the start of the file) to the end.
pub fn count_csv_rows<R: Read + Seek>(mut input: R) -> Result<i64, FileError> {
    skip_bom(&mut input)?;
    let mut reader = csv_reader(input);
    let mut record = csv::ByteRecord::new();
    let mut rows = -1; // the header
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) if is_blank_record(record.iter()) => {}
            Ok(true) => rows += 1,
            Err(e) => {
                return Err(FileError::Invalid(format!(
                    "the CSV file is malformed: {e}"
                )))
            }
        }
    }
    Ok(rows.max(0))
}

/// Rewrites a JSON array of objects as one object per line into `out`, one element in
/// memory at a time. Returns the number of objects. The caller flushes `out`.
pub fn json_to_lines<R: Read + Seek, W: Write>(
    mut input: R,
    out: &mut W,
) -> Result<i64, FileError> {
    skip_bom(&mut input)?;
    let mut de = serde_json::Deserializer::from_reader(input);
    let written = de.deserialize_seq(LineWriter { out }).map_err(|e| {
        FileError::Invalid(format!("the JSON file is not an array of objects: {e}"))
    })?;
    de.end()
        .map_err(|e| FileError::Invalid(format!("the JSON file has data after its array: {e}")))?;
    Ok(written)
}

struct LineWriter<'a, W: Write> {
    out: &'a mut W,
}

impl<'de, W: Write> Visitor<'de> for LineWriter<'_, W> {
    type Value = i64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of recipient objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<i64, A::Error> {
        let out = self.out;
        let mut n = 0i64;
        while let Some(obj) = seq.next_element::<serde_json::Map<String, serde_json::Value>>()? {
            serde_json::to_writer(&mut *out, &obj).map_err(serde::de::Error::custom)?;
            out.write_all(b"\n").map_err(serde::de::Error::custom)?;
            n += 1;
        }
        Ok(n)
    }
}
