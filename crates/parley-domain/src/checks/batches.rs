//! Batch files: what the upload counts is what the reader yields, however it is chunked
//! and wherever it resumes.

use std::io::{self, BufReader, Cursor, Read, Seek, SeekFrom};

use serde_json::{Map, Value};

use crate::batches::{
    count_csv_rows, json_to_lines, read_header, FileError, Format, HeaderError, RawRow, RowReader,
    BOM,
};

/// Chunk sizes each file is read with. 1 puts a resume point after every row.
const CHUNK_SIZES: [usize; 4] = [1, 2, 7, usize::MAX];
/// Resuming from every point is quadratic; past this many rows, a spread of points.
const MAX_RESUMES: usize = 48;

/// Any bytes as an uploaded CSV file.
pub fn batch_csv(data: &[u8]) {
    // The upload reads through a large buffer, the header through a small one; both must
    // count alike whatever the buffer boundaries, so read through a trickle here too.
    let counted = count_csv_rows(Cursor::new(data)).expect("a CSV file is never malformed");
    let trickled = count_csv_rows(trickle(data, 3)).expect("a CSV file is never malformed");
    assert_eq!(counted, trickled, "the count depends on read sizes");
    let header = match read_header(Cursor::new(data)) {
        Ok(h) => h,
        Err(HeaderError::Empty) => {
            assert_eq!(counted, 0, "no header, yet rows were counted");
            return;
        }
        // The batch is refused when it starts; no rows are ever read.
        Err(HeaderError::Malformed(_)) => return,
        Err(HeaderError::Io(e)) => panic!("reading memory failed: {e}"),
    };
    let trickled = read_header(trickle(data, 1)).expect("the header read differently");
    assert_eq!(trickled.columns, header.columns);
    assert_eq!(trickled.data_offset, header.data_offset);
    assert!(header.data_offset <= data.len() as u64);
    let open = Opener {
        data,
        format: Format::Csv,
        columns: header.columns,
    };
    check_reads(&open, header.data_offset, counted);
}

/// Any bytes as an uploaded JSON array (the upload rewrites it as JSON Lines).
pub fn batch_json(data: &[u8]) {
    let mut lines = Vec::new();
    let written = json_to_lines(Cursor::new(data), &mut lines);
    // The streaming rewrite must accept exactly what parsing the whole array accepts.
    let whole =
        serde_json::from_slice::<Vec<Map<String, Value>>>(data.strip_prefix(BOM).unwrap_or(data));
    let objects = match (written, whole) {
        (Ok(n), Ok(objects)) => {
            assert_eq!(n, objects.len() as i64, "written count");
            objects
        }
        (Err(FileError::Invalid(_)), Err(_)) => return,
        (written, whole) => panic!("streamed {written:?}, whole-array parse {whole:?}"),
    };
    assert_eq!(lines.iter().filter(|&&b| b == b'\n').count(), objects.len());
    let open = Opener {
        data: &lines,
        format: Format::Jsonl,
        columns: Vec::new(),
    };
    let rows = check_reads(&open, 0, objects.len() as i64);
    for (row, object) in rows.into_iter().zip(objects) {
        assert_eq!(
            row.fields,
            Ok(object),
            "row {} changed on the way",
            row.number
        );
    }
}

struct Opener<'a> {
    data: &'a [u8],
    format: Format,
    columns: Vec<String>,
}

impl Opener<'_> {
    /// A reader at `offset`, read through `step`-byte reads, as the worker opens one.
    fn open(&self, offset: u64, next_row: i64, step: usize) -> RowReader<BufReader<Trickle<'_>>> {
        let mut input = trickle(self.data, step);
        input.seek(SeekFrom::Start(offset)).expect("seek in memory");
        RowReader::new(input, self.format, &self.columns, offset, next_row)
    }
}

/// A chunk boundary: where the next chunk starts.
#[derive(Debug, Clone, Copy)]
struct Resume {
    offset: u64,
    next_row: i64,
}

/// Reads everything from `start` with each chunk size and from resume points; all must
/// agree with each other and with the `counted` rows. Returns the rows.
fn check_reads(open: &Opener<'_>, start: u64, counted: i64) -> Vec<RawRow> {
    let (rows, _) = read_all(open, start, 1, usize::MAX, 4096);
    assert_eq!(
        rows.len() as i64,
        counted,
        "the upload counted {counted} rows"
    );
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.number, i as i64 + 1, "rows are numbered from 1");
    }
    let mut resumes = Vec::new();
    for (size, step) in CHUNK_SIZES.into_iter().zip([1, 5, 64, 4096]) {
        let (again, points) = read_all(open, start, 1, size, step);
        assert_eq!(again, rows, "chunks of {size} read other rows");
        if size == 1 {
            resumes = points;
        }
    }
    let stride = resumes.len().div_ceil(MAX_RESUMES).max(1);
    for at in resumes.iter().step_by(stride) {
        let (rest, _) = read_all(open, at.offset, at.next_row, usize::MAX, 4096);
        let skipped = usize::try_from(at.next_row - 1).expect("row numbers count up");
        assert_eq!(rest, rows[skipped..], "resuming at {at:?} read other rows");
    }
    rows
}

/// Reads to the end in chunks of `max`, checking each chunk's bookkeeping; returns the
/// rows and the point after each chunk.
fn read_all(
    open: &Opener<'_>,
    offset: u64,
    next_row: i64,
    max: usize,
    step: usize,
) -> (Vec<RawRow>, Vec<Resume>) {
    let mut reader = open.open(offset, next_row, step);
    let (mut rows, mut points) = (Vec::new(), Vec::new());
    let mut last = Resume { offset, next_row };
    loop {
        let chunk = reader.read_chunk(max).expect("reading memory failed");
        assert!(chunk.rows.len() <= max);
        assert!(
            chunk.eof || chunk.rows.len() == max,
            "short chunk not at eof"
        );
        assert!(chunk.next_offset >= last.offset, "the offset went back");
        assert!(
            chunk.next_offset <= open.data.len() as u64,
            "offset past the end"
        );
        assert_eq!(chunk.next_row, last.next_row + chunk.rows.len() as i64);
        last = Resume {
            offset: chunk.next_offset,
            next_row: chunk.next_row,
        };
        rows.extend(chunk.rows);
        if chunk.eof {
            return (rows, points);
        }
        points.push(last);
    }
}

/// `data` through reads of at most `step` bytes, buffered in `step`-byte pieces, so BOMs,
/// quotes and line ends fall across buffer boundaries.
fn trickle(data: &[u8], step: usize) -> BufReader<Trickle<'_>> {
    BufReader::with_capacity(
        step,
        Trickle {
            inner: Cursor::new(data),
            step,
        },
    )
}

struct Trickle<'a> {
    inner: Cursor<&'a [u8]>,
    step: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = buf.len().min(self.step);
        self.inner.read(&mut buf[..n])
    }
}

impl Seek for Trickle<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.inner.seek(pos)
    }
}
