//! Byte and line ranges inside a file.
//!
//! Byte ranges are half-open (`start..end`), counted in bytes of the original file, so they stay
//! exact even where the file is not valid UTF-8. Line ranges are 1-based and inclusive, as editors
//! show them.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Error;

/// A half-open range of byte offsets, `start..end`, with `start <= end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawRange")]
pub struct ByteRange {
    start: usize,
    end: usize,
}

/// A 1-based inclusive range of lines, `start..=end`, with `1 <= start <= end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "RawRange")]
pub struct LineRange {
    start: usize,
    end: usize,
}

/// The unchecked wire form both ranges deserialize through.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRange {
    start: usize,
    end: usize,
}

impl ByteRange {
    /// The range `start..end`; refused when `start > end`.
    pub fn new(start: usize, end: usize) -> Result<Self, Error> {
        if start > end {
            return Err(Error::invalid(
                "byte range",
                &format!("{start}..{end}"),
                "a start no greater than the end",
            ));
        }
        Ok(Self { start, end })
    }

    /// The range between two offsets, whichever comes first: never fails.
    pub fn between(a: usize, b: usize) -> Self {
        Self {
            start: a.min(b),
            end: a.max(b),
        }
    }

    /// The first byte's offset.
    pub fn start(&self) -> usize {
        self.start
    }

    /// The offset just past the last byte.
    pub fn end(&self) -> usize {
        self.end
    }

    /// The number of bytes covered.
    pub fn len(&self) -> usize {
        self.end - self.start
    }

    /// Whether the range covers no byte.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }

    /// Whether `other` lies entirely inside this range.
    pub fn contains(&self, other: &ByteRange) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    /// The bytes of `source` this range covers, or `None` when it reaches past the end.
    pub fn slice<'a>(&self, source: &'a [u8]) -> Option<&'a [u8]> {
        source.get(self.start..self.end)
    }
}

impl LineRange {
    /// The lines `start..=end`; refused when `start` is 0 or greater than `end`.
    pub fn new(start: usize, end: usize) -> Result<Self, Error> {
        if start == 0 || start > end {
            return Err(Error::invalid(
                "line range",
                &format!("{start}..={end}"),
                "1-based lines with a start no greater than the end",
            ));
        }
        Ok(Self { start, end })
    }

    /// The lines from `start` to `end`, raised to line 1 and to at least one line: for ranges
    /// computed from offsets that are known to be in order. Never fails.
    pub fn clamped(start: usize, end: usize) -> Self {
        let start = start.max(1);
        Self {
            start,
            end: end.max(start),
        }
    }

    /// The first line (1-based).
    pub fn start(&self) -> usize {
        self.start
    }

    /// The last line (1-based, inclusive).
    pub fn end(&self) -> usize {
        self.end
    }

    /// The number of lines covered (at least 1).
    pub fn len(&self) -> usize {
        self.end - self.start + 1
    }

    /// Always false: a line range covers at least one line. Present for API symmetry.
    pub fn is_empty(&self) -> bool {
        false
    }
}

impl TryFrom<RawRange> for ByteRange {
    type Error = Error;

    fn try_from(raw: RawRange) -> Result<Self, Error> {
        ByteRange::new(raw.start, raw.end)
    }
}

impl TryFrom<RawRange> for LineRange {
    type Error = Error;

    fn try_from(raw: RawRange) -> Result<Self, Error> {
        LineRange::new(raw.start, raw.end)
    }
}

impl fmt::Display for ByteRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.start, self.end)
    }
}

impl fmt::Display for LineRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.start, self.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_are_half_open() {
        let range = ByteRange::new(2, 5).unwrap();
        assert_eq!(range.len(), 3);
        assert_eq!(range.slice(b"abcdefg"), Some(&b"cde"[..]));
        assert_eq!(range.slice(b"abc"), None);
        assert!(ByteRange::new(4, 4).unwrap().is_empty());
        assert!(range.contains(&ByteRange::new(3, 5).unwrap()));
        assert!(!range.contains(&ByteRange::new(1, 3).unwrap()));
        assert_eq!(range.to_string(), "2..5");
        assert_eq!(ByteRange::between(5, 2), range);
    }

    #[test]
    fn line_ranges_are_one_based_and_inclusive() {
        let range = LineRange::new(3, 3).unwrap();
        assert_eq!(range.len(), 1);
        assert_eq!(range.to_string(), "3-3");
        assert!(LineRange::new(0, 2).is_err());
        assert!(LineRange::new(5, 4).is_err());
        assert_eq!(LineRange::clamped(0, 0), LineRange::new(1, 1).unwrap());
        assert_eq!(LineRange::clamped(4, 2), LineRange::new(4, 4).unwrap());
    }

    #[test]
    fn ranges_round_trip_and_reject_invalid_json() {
        let range = ByteRange::new(10, 20).unwrap();
        let json = serde_json::to_string(&range).unwrap();
        assert_eq!(json, r#"{"start":10,"end":20}"#);
        assert_eq!(serde_json::from_str::<ByteRange>(&json).unwrap(), range);

        let err = serde_json::from_str::<ByteRange>(r#"{"start":20,"end":10}"#).unwrap_err();
        assert!(
            err.to_string().contains("invalid byte range '20..10'"),
            "{err}"
        );
        let err = serde_json::from_str::<LineRange>(r#"{"start":0,"end":1}"#).unwrap_err();
        assert!(err.to_string().contains("1-based"), "{err}");
        assert!(serde_json::from_str::<LineRange>(r#"{"start":1}"#).is_err());
    }
}
