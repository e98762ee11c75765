//! `embeddings.bin`: vectors with random access by chunk id.
//!
//! Layout, all integers little-endian:
//!
//! ```text
//! offset 0   magic "DTEB" (4 bytes), version u32 = 1, count u32, dimensions u32
//! offset 16  count chunk ids, 32 bytes each, strictly ascending
//! then       count rows of dimensions f32, row i belonging to the i-th chunk id
//! ```
//!
//! A reader finds a chunk's row by binary search over the ids and reads only that row.

use std::collections::BTreeMap;
use std::io::{self, Read, Seek, SeekFrom, Write};

use doctown_common::ChunkId;
use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::DocpackError;

/// The first four bytes of `embeddings.bin`.
pub(crate) const MAGIC: [u8; 4] = *b"DTEB";
/// The layout version this crate writes and reads.
pub(crate) const VERSION: u32 = 1;
const HEADER_BYTES: u64 = 16;
const ID_BYTES: u64 = 32;

/// Vectors to write, one per chunk, all of the same dimension.
#[derive(Debug, Clone, PartialEq)]
pub struct EmbeddingSet {
    dimensions: u32,
    vectors: BTreeMap<ChunkId, Vec<f32>>,
}

impl EmbeddingSet {
    /// An empty set of `dimensions`-dimensional vectors.
    pub fn new(dimensions: u32) -> Self {
        Self {
            dimensions,
            vectors: BTreeMap::new(),
        }
    }

    /// Adds the vector of `chunk`; refuses a wrong dimension, a value that is not finite, or a
    /// chunk already present.
    pub fn insert(&mut self, chunk: ChunkId, vector: Vec<f32>) -> Result<(), DocpackError> {
        if vector.len() != self.dimensions as usize {
            return Err(DocpackError::InvalidContents(format!(
                "the embedding of chunk {chunk} has {} dimensions, not {}",
                vector.len(),
                self.dimensions
            )));
        }
        if vector.iter().any(|v| !v.is_finite()) {
            return Err(DocpackError::InvalidContents(format!(
                "the embedding of chunk {chunk} holds a value that is not a finite number"
            )));
        }
        if self.vectors.insert(chunk, vector).is_some() {
            return Err(DocpackError::InvalidContents(format!(
                "chunk {chunk} has two embeddings"
            )));
        }
        Ok(())
    }

    /// The dimension of every vector.
    pub fn dimensions(&self) -> u32 {
        self.dimensions
    }

    /// How many vectors.
    pub fn len(&self) -> usize {
        self.vectors.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.vectors.is_empty()
    }

    /// The chunks that have a vector, ascending.
    pub fn chunk_ids(&self) -> impl Iterator<Item = &ChunkId> {
        self.vectors.keys()
    }

    /// Writes the member.
    pub(crate) fn write_to(&self, out: &mut dyn Write) -> io::Result<()> {
        let count = u32::try_from(self.vectors.len())
            .map_err(|_| io::Error::other("more than 4,294,967,295 embeddings"))?;
        out.write_all(&MAGIC)?;
        out.write_all(&VERSION.to_le_bytes())?;
        out.write_all(&count.to_le_bytes())?;
        out.write_all(&self.dimensions.to_le_bytes())?;
        for id in self.vectors.keys() {
            out.write_all(id.as_bytes())?;
        }
        let mut row = Vec::with_capacity(self.dimensions as usize * 4);
        for vector in self.vectors.values() {
            row.clear();
            row.extend(vector.iter().flat_map(|value| value.to_le_bytes()));
            out.write_all(&row)?;
        }
        Ok(())
    }
}

/// As the packer worker's `POST /pack` takes it: `{"dimensions": d, "vectors": [{"chunk_id",
/// "vector"}, ...]}`, the vectors in ascending chunk order.
impl Serialize for EmbeddingSet {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// One vector with its chunk.
        #[derive(serde::Serialize)]
        struct ChunkVector<'a> {
            chunk_id: &'a ChunkId,
            vector: &'a [f32],
        }
        let vectors: Vec<ChunkVector<'_>> = self
            .vectors
            .iter()
            .map(|(chunk_id, vector)| ChunkVector { chunk_id, vector })
            .collect();
        let mut out = serializer.serialize_struct("EmbeddingSet", 2)?;
        out.serialize_field("dimensions", &self.dimensions)?;
        out.serialize_field("vectors", &vectors)?;
        out.end()
    }
}

/// The embeddings of a docpack that was read, over a seekable copy of the member: vectors are
/// read one row at a time, never all at once.
#[derive(Debug)]
pub struct Embeddings<S> {
    spool: S,
    count: u32,
    dimensions: u32,
}

/// The size of an `embeddings.bin` of `count` vectors of `dimensions`; `None` when it is
/// larger than a file can be.
pub(crate) fn embeddings_size(count: u64, dimensions: u64) -> Option<u64> {
    let rows = count.checked_mul(dimensions)?.checked_mul(4)?;
    count
        .checked_mul(ID_BYTES)?
        .checked_add(rows)?
        .checked_add(HEADER_BYTES)
}

impl<S: Read + Seek> Embeddings<S> {
    /// Opens the member of `size` bytes held in `spool` (from its start), checking its header,
    /// its size and the order of its ids.
    pub fn open(mut spool: S, size: u64) -> Result<Self, DocpackError> {
        let malformed = |what: String| DocpackError::Malformed(format!("embeddings.bin {what}"));
        spool.seek(SeekFrom::Start(0)).map_err(DocpackError::read)?;
        let mut header = [0u8; HEADER_BYTES as usize];
        spool
            .read_exact(&mut header)
            .map_err(|_| malformed("is shorter than its 16-byte header".into()))?;
        if header[..4] != MAGIC {
            return Err(malformed("does not start with \"DTEB\"".into()));
        }
        let word = |at: usize| {
            u32::from_le_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
        };
        let (version, count, dimensions) = (word(4), word(8), word(12));
        if version != VERSION {
            return Err(malformed(format!(
                "is layout version {version}; this reader reads version {VERSION}"
            )));
        }
        let expected = embeddings_size(u64::from(count), u64::from(dimensions));
        if Some(size) != expected {
            let expected = expected.map_or_else(|| "more".to_owned(), |n| n.to_string());
            return Err(malformed(format!(
                "holds {size} bytes, but {count} vectors of {dimensions} dimensions take {expected}"
            )));
        }
        let mut previous: Option<[u8; 32]> = None;
        let mut ids = io::BufReader::new(&mut spool);
        for _ in 0..count {
            let mut id = [0u8; 32];
            ids.read_exact(&mut id).map_err(DocpackError::read)?;
            if previous.is_some_and(|p| p >= id) {
                return Err(malformed("lists its chunk ids out of order".into()));
            }
            previous = Some(id);
        }
        Ok(Self {
            spool,
            count,
            dimensions,
        })
    }

    /// How many vectors.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The dimension of every vector.
    pub fn dimensions(&self) -> u32 {
        self.dimensions
    }

    /// The chunk of row `row`.
    pub fn chunk_id(&mut self, row: u32) -> Result<ChunkId, DocpackError> {
        let mut id = [0u8; 32];
        self.spool
            .seek(SeekFrom::Start(HEADER_BYTES + u64::from(row) * ID_BYTES))
            .and_then(|_| self.spool.read_exact(&mut id))
            .map_err(DocpackError::read)?;
        Ok(ChunkId::from_bytes(id))
    }

    /// The vector of row `row`.
    pub fn row(&mut self, row: u32) -> Result<Vec<f32>, DocpackError> {
        let row_bytes = u64::from(self.dimensions) * 4;
        let offset = HEADER_BYTES + u64::from(self.count) * ID_BYTES + u64::from(row) * row_bytes;
        let mut bytes = vec![0u8; row_bytes as usize];
        self.spool
            .seek(SeekFrom::Start(offset))
            .and_then(|_| self.spool.read_exact(&mut bytes))
            .map_err(DocpackError::read)?;
        Ok(bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect())
    }

    /// The vector of `chunk`, found by binary search; `None` when it has none.
    pub fn get(&mut self, chunk: &ChunkId) -> Result<Option<Vec<f32>>, DocpackError> {
        let (mut low, mut high) = (0u32, self.count);
        while low < high {
            let middle = low + (high - low) / 2;
            match self.chunk_id(middle)?.cmp(chunk) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Greater => high = middle,
                std::cmp::Ordering::Equal => return self.row(middle).map(Some),
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use super::*;

    fn id(n: u8) -> ChunkId {
        ChunkId::from_bytes([n; 32])
    }

    fn encoded(set: &EmbeddingSet) -> Vec<u8> {
        let mut bytes = Vec::new();
        set.write_to(&mut bytes).unwrap();
        bytes
    }

    #[test]
    fn vectors_are_found_by_chunk_id() {
        let mut set = EmbeddingSet::new(3);
        for n in [9u8, 1, 5] {
            set.insert(id(n), vec![f32::from(n), 0.5, -1.0]).unwrap();
        }
        let bytes = encoded(&set);
        assert_eq!(bytes.len(), 16 + 3 * 32 + 3 * 3 * 4);
        let size = bytes.len() as u64;
        let mut embeddings = Embeddings::open(Cursor::new(bytes), size).unwrap();
        assert_eq!((embeddings.len(), embeddings.dimensions()), (3, 3));
        assert_eq!(embeddings.get(&id(5)).unwrap(), Some(vec![5.0, 0.5, -1.0]));
        assert_eq!(embeddings.get(&id(9)).unwrap(), Some(vec![9.0, 0.5, -1.0]));
        assert_eq!(embeddings.get(&id(2)).unwrap(), None);
        assert_eq!(embeddings.chunk_id(0).unwrap(), id(1));
    }

    #[test]
    fn a_set_serializes_as_the_packer_takes_it() {
        let mut set = EmbeddingSet::new(2);
        set.insert(id(7), vec![0.5, -1.0]).unwrap();
        set.insert(id(3), vec![1.0, 0.25]).unwrap();
        let json = serde_json::to_value(&set).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "dimensions": 2,
                "vectors": [
                    {"chunk_id": id(3).to_string(), "vector": [1.0, 0.25]},
                    {"chunk_id": id(7).to_string(), "vector": [0.5, -1.0]},
                ],
            })
        );
    }

    #[test]
    fn bad_vectors_are_refused() {
        let mut set = EmbeddingSet::new(2);
        assert!(set.insert(id(1), vec![1.0]).is_err());
        assert!(set.insert(id(1), vec![f32::NAN, 1.0]).is_err());
        set.insert(id(1), vec![1.0, 2.0]).unwrap();
        assert!(set.insert(id(1), vec![1.0, 2.0]).is_err());
    }

    #[test]
    fn damaged_members_are_refused() {
        let mut set = EmbeddingSet::new(2);
        set.insert(id(1), vec![1.0, 2.0]).unwrap();
        set.insert(id(2), vec![1.0, 2.0]).unwrap();
        let bytes = encoded(&set);
        let open = |bytes: Vec<u8>| {
            let size = bytes.len() as u64;
            Embeddings::open(Cursor::new(bytes), size).map(|_| ())
        };
        let mut wrong_magic = bytes.clone();
        wrong_magic[0] = b'X';
        assert!(open(wrong_magic).is_err());
        assert!(open(bytes[..bytes.len() - 1].to_vec()).is_err());
        let mut huge_count = bytes.clone();
        huge_count[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(open(huge_count).is_err());
        let mut swapped = bytes.clone();
        swapped[16..48].copy_from_slice(id(3).as_bytes());
        assert!(open(swapped).is_err());
        assert!(open(Vec::new()).is_err());
    }
}
