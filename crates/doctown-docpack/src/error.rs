//! Why a docpack could not be written or read, with what to do about it.

/// An error of the docpack writer or reader.
#[derive(Debug, thiserror::Error)]
pub enum DocpackError {
    /// Reading or writing the underlying stream failed.
    #[error("could not {action} the docpack: {source}")]
    Io {
        /// `read` or `write`.
        action: &'static str,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The data handed to the writer breaks a rule of the format.
    #[error("cannot write the docpack: {0}")]
    InvalidContents(String),
    /// The docpack's major version is not one this reader knows.
    #[error(
        "the docpack is {found}, and this reader reads {supported}; use a Doctown version that \
         reads {found}, or regenerate the docpack"
    )]
    UnsupportedVersion {
        /// The version in the manifest.
        found: String,
        /// The version this reader reads.
        supported: &'static str,
    },
    /// The archive is not a well-formed docpack.
    #[error("not a valid docpack: {0}")]
    Malformed(String),
    /// A member's bytes differ from what the manifest records.
    #[error(
        "the docpack is damaged or was changed after it was written: {what}; regenerate it or \
         fetch it again"
    )]
    Checksum {
        /// Which check failed, with both values.
        what: String,
    },
    /// A member is larger than the reader accepts.
    #[error(
        "the docpack's {member} holds {size} bytes, over the reader's {limit}-byte limit; it is \
         not a docpack this reader will open"
    )]
    TooLarge {
        /// The member.
        member: String,
        /// Its size.
        size: u64,
        /// The limit.
        limit: u64,
    },
}

impl DocpackError {
    pub(crate) fn read(source: std::io::Error) -> Self {
        DocpackError::Io {
            action: "read",
            source,
        }
    }

    pub(crate) fn write(source: std::io::Error) -> Self {
        DocpackError::Io {
            action: "write",
            source,
        }
    }

    /// A stable snake_case code: `io`, `invalid_contents`, `unsupported_version`, `malformed`,
    /// `checksum_mismatch`, `too_large`.
    pub fn code(&self) -> &'static str {
        match self {
            DocpackError::Io { .. } => "io",
            DocpackError::InvalidContents(_) => "invalid_contents",
            DocpackError::UnsupportedVersion { .. } => "unsupported_version",
            DocpackError::Malformed(_) => "malformed",
            DocpackError::Checksum { .. } => "checksum_mismatch",
            DocpackError::TooLarge { .. } => "too_large",
        }
    }
}
