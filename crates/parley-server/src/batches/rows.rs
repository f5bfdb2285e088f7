//! Reading a stored batch file in chunks, from any committed byte offset: the file on disk
//! around `parley_domain::batches::RowReader`, which defines the rows and their numbering.

use std::{
    fs::File,
    io::{BufReader, Seek, SeekFrom},
    path::Path,
};

use parley_domain::batches;
pub use parley_domain::batches::{Chunk, Header, HeaderError};

use super::file::Format;

/// Reads a CSV file's header row (after a BOM and any blank lines).
pub fn read_header(path: &Path) -> Result<Header, HeaderError> {
    batches::read_header(BufReader::new(File::open(path)?))
}

pub struct RowReader(batches::RowReader<BufReader<File>>);

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
        Ok(Self(batches::RowReader::new(
            f, format, columns, offset, next_row,
        )))
    }

    /// Reads up to `max` rows.
    pub fn read_chunk(&mut self, max: usize) -> std::io::Result<Chunk> {
        self.0.read_chunk(max)
    }
}
