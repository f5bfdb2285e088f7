//! Uploaded files on disk: streamed in under a size limit, then checked once (CSV rows
//! counted; a JSON array rewritten as JSON Lines so a batch can resume at a byte offset).
//! Nothing here holds a whole file in memory. The checks themselves are
//! `parley_domain::batches` (pure, fuzzed); this module is the disk around them.

use std::{
    fs::File,
    io::{BufReader, BufWriter, Read, Write},
    path::{Path, PathBuf},
};

pub use parley_domain::batches::Format;
use parley_domain::batches::{self, FileError};
use tokio::io::AsyncWriteExt;

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
        batches::looks_like_json(&head[..n])
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

impl From<FileError> for UploadError {
    fn from(e: FileError) -> Self {
        match e {
            FileError::Invalid(m) => UploadError::Invalid(m),
            FileError::Io(e) => UploadError::Io(e),
        }
    }
}

/// Data rows of a CSV file: records after the header, blank ones not counted.
fn count_csv_rows(path: &Path) -> Result<i64, UploadError> {
    let f = BufReader::with_capacity(256 * 1024, File::open(path)?);
    Ok(batches::count_csv_rows(f)?)
}

/// Rewrites a JSON array of objects as one object per line, one element in memory at a
/// time. Returns the number of objects.
fn json_to_lines(raw: &Path, dest: &Path) -> Result<i64, UploadError> {
    let input = BufReader::with_capacity(256 * 1024, File::open(raw)?);
    let mut out = BufWriter::with_capacity(256 * 1024, File::create(dest)?);
    let written = batches::json_to_lines(input, &mut out)?;
    out.flush()?;
    out.get_ref().sync_all()?;
    Ok(written)
}
