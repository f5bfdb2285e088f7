//! Uploaded files on disk: streamed in under a size limit, then checked once (CSV rows
//! counted; a JSON array rewritten as JSON Lines so a batch can resume at a byte offset).
//! Nothing here holds a whole file in memory.

use std::{
    fs::File,
    io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

use serde::de::{Deserializer as _, SeqAccess, Visitor};
use tokio::io::AsyncWriteExt;

use super::rows::is_blank_record;

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

const BOM: &[u8] = b"\xEF\xBB\xBF";

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the file is larger than {0} bytes")]
    TooLarge(u64),
    #[error("{0}")]
    Invalid(String),
    #[error("could not store the file: {0}")]
    Io(#[from] std::io::Error),
}

/// A file being received, written straight to disk.
pub struct Upload {
    path: PathBuf,
    out: tokio::io::BufWriter<tokio::fs::File>,
    size: u64,
    limit: u64,
}

impl Upload {
    pub async fn create(dir: &Path, id: &str, limit: u64) -> Result<Self, UploadError> {
        tokio::fs::create_dir_all(dir).await?;
        let path = dir.join(format!("{id}.upload"));
        let out =
            tokio::io::BufWriter::with_capacity(256 * 1024, tokio::fs::File::create(&path).await?);
        Ok(Self {
            path,
            out,
            size: 0,
            limit,
        })
    }

    pub async fn write(&mut self, bytes: &[u8]) -> Result<(), UploadError> {
        self.size += bytes.len() as u64;
        if self.size > self.limit {
            return Err(UploadError::TooLarge(self.limit));
        }
        self.out.write_all(bytes).await?;
        Ok(())
    }

    /// Flushes and hands the file to [`finish`] (on a blocking thread).
    pub async fn close(mut self) -> Result<(PathBuf, u64), UploadError> {
        self.out.flush().await?;
        self.out.get_mut().sync_all().await?;
        Ok((self.path.clone(), self.size))
    }

    /// Removes a partial upload.
    pub async fn discard(self) {
        let path = self.path.clone();
        drop(self);
        let _ = tokio::fs::remove_file(path).await;
    }
}

/// What checking a received file found.
#[derive(Debug)]
pub struct Stored {
    pub format: Format,
    pub path: PathBuf,
    pub rows: i64,
}

/// Decides the format (a JSON array if the first byte after a BOM and blanks is `[`),
/// counts the data rows, and stores the file as `dest` + extension. Blocking.
pub fn finish(raw: &Path, dest_stem: &Path) -> Result<Stored, UploadError> {
    let is_json = {
        let mut head = [0u8; 4096];
        let mut f = File::open(raw)?;
        let n = f.read(&mut head)?;
        let h = head[..n].strip_prefix(BOM).unwrap_or(&head[..n]);
        h.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
    };
    if is_json {
        let path = dest_stem.with_extension("jsonl");
        let rows = json_to_lines(raw, &path);
        let _ = std::fs::remove_file(raw);
        let rows = rows.inspect_err(|_| {
            let _ = std::fs::remove_file(&path);
        })?;
        return Ok(Stored {
            format: Format::Jsonl,
            path,
            rows,
        });
    }
    let rows = count_csv_rows(raw)?;
    let path = dest_stem.with_extension("csv");
    std::fs::rename(raw, &path)?;
    Ok(Stored {
        format: Format::Csv,
        path,
        rows,
    })
}

/// Data rows of a CSV file: records after the header, blank ones not counted.
fn count_csv_rows(path: &Path) -> Result<i64, UploadError> {
    let mut f = BufReader::with_capacity(256 * 1024, File::open(path)?);
    skip_bom(&mut f)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(f);
    let mut record = csv::ByteRecord::new();
    let mut rows = -1; // the header
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) if is_blank_record(record.iter()) => {}
            Ok(true) => rows += 1,
            Err(e) => {
                return Err(UploadError::Invalid(format!(
                    "the CSV file is malformed: {e}"
                )))
            }
        }
    }
    Ok(rows.max(0))
}

/// Skips a UTF-8 byte order mark at the reader's position; returns its length (0 or 3).
pub fn skip_bom<R: Read + Seek>(r: &mut R) -> std::io::Result<u64> {
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

/// Rewrites a JSON array of objects as one object per line, one element in memory at a
/// time. Returns the number of objects.
fn json_to_lines(raw: &Path, dest: &Path) -> Result<i64, UploadError> {
    let mut input = BufReader::with_capacity(256 * 1024, File::open(raw)?);
    skip_bom(&mut input)?;
    let mut out = BufWriter::with_capacity(256 * 1024, File::create(dest)?);
    let mut de = serde_json::Deserializer::from_reader(input);
    let written = de
        .deserialize_seq(LineWriter { out: &mut out })
        .map_err(|e| {
            UploadError::Invalid(format!("the JSON file is not an array of objects: {e}"))
        })?;
    de.end().map_err(|e| {
        UploadError::Invalid(format!("the JSON file has data after its array: {e}"))
    })?;
    out.flush()?;
    out.get_ref().sync_all()?;
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
