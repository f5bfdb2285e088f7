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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::batches::file::finish;

    /// Through the files on disk: a row holding only a BOM (fuzz/regressions/batch_csv/
    /// bom-only-row.csv) is counted at upload and read by the batch, once.
    #[test]
    fn upload_count_and_reader_agree_on_a_bom_only_row() {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("f.upload");
        std::fs::write(&raw, b"phone_number\n\xEF\xBB\xBF\n+15550100001\n").unwrap();
        let stored = finish(&raw, &dir.path().join("f")).unwrap();
        assert_eq!((stored.format, stored.rows), (Format::Csv, 2));
        let header = read_header(&stored.path).unwrap();
        let open = |offset, next_row| {
            RowReader::open(&stored.path, Format::Csv, &header.columns, offset, next_row).unwrap()
        };
        let first = open(header.data_offset, 1).read_chunk(1).unwrap();
        assert_eq!(first.rows.len(), 1);
        let rest = open(first.next_offset, first.next_row)
            .read_chunk(10)
            .unwrap();
        assert_eq!((rest.rows.len(), rest.eof), (1, true));
        assert_eq!(rest.rows[0].number, 2);
    }
}
