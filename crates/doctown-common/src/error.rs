//! The error type shared by every Doctown crate.
//!
//! Each message says what went wrong and, where there is something to do about it, what to do
//! (ripgrep's messages are the model): `could not read 'src/lib.rs': No such file or directory
//! (os error 2); check that the path exists`.

use std::io;
use std::path::{Path, PathBuf};

/// A `Result` whose error is Doctown's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in Doctown, with messages written for the person who has to act.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file or directory operation failed on a known path.
    #[error("could not {action} '{}': {source}{}", path.display(), io_advice(source.kind()))]
    Io {
        /// What was being done, as a verb phrase: "read", "create directory", "write".
        action: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// An I/O operation failed where no path applies (a socket, a pipe, standard input).
    #[error("I/O error: {0}{advice}", advice = io_advice(.0.kind()))]
    UnlocatedIo(#[from] io::Error),

    /// An HTTP request failed: no answer, or an answer with an error status.
    #[error("request to {url} failed: {detail}{advice}", advice = http_advice(*.status))]
    Http {
        /// The URL that was requested (without credentials).
        url: String,
        /// The HTTP status code, when the server answered.
        status: Option<u16>,
        /// What happened, in a few words.
        detail: String,
    },

    /// A value given by the user or by another program is not acceptable.
    #[error("invalid {what} '{value}': expected {expected}")]
    InvalidValue {
        /// What the value is, in the user's words: "job id", "repository URL".
        what: &'static str,
        /// The value as given (truncated if long).
        value: String,
        /// What would have been accepted.
        expected: String,
    },
}

impl Error {
    /// An [`Error::Io`] for `action` on `path`.
    pub fn io(action: &'static str, path: impl AsRef<Path>, source: io::Error) -> Self {
        Error::Io {
            action,
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// A stable snake_case code for programs: `io`, `http`, `invalid_value`.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io { .. } | Error::UnlocatedIo(_) => "io",
            Error::Http { .. } => "http",
            Error::InvalidValue { .. } => "invalid_value",
        }
    }

    /// An [`Error::InvalidValue`]; long values are shortened so messages stay readable.
    pub fn invalid(what: &'static str, value: &str, expected: impl Into<String>) -> Self {
        Error::InvalidValue {
            what,
            value: shorten(value, 120),
            expected: expected.into(),
        }
    }
}

/// Cuts `value` to at most `max` characters, marking the cut with an ellipsis.
fn shorten(value: &str, max: usize) -> String {
    match value.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_owned(),
    }
}

/// What to do about an I/O error of this kind, as a clause to append to the message.
fn io_advice(kind: io::ErrorKind) -> &'static str {
    match kind {
        io::ErrorKind::NotFound => "; check that the path exists",
        io::ErrorKind::PermissionDenied => "; check its permissions or run as a user who may",
        io::ErrorKind::StorageFull => "; free some disk space and try again",
        io::ErrorKind::AlreadyExists => "; remove it or choose another path",
        _ => "",
    }
}

/// What to do about an HTTP failure with this status (or none), as a clause to append.
fn http_advice(status: Option<u16>) -> &'static str {
    match status {
        None => "; check the URL and the network connection, then retry",
        Some(401) => "; the credentials were refused: check the token",
        Some(403) => {
            "; access was refused or a rate limit was hit: check the token, or wait and retry"
        }
        Some(404) => "; check the URL (a private repository also answers 404 without a token)",
        Some(408 | 429) => "; the server is busy or rate-limiting: wait and retry",
        Some(500..=599) => "; the server failed: retry later",
        Some(_) => "",
    }
}

#[cfg(feature = "reqwest")]
impl From<reqwest::Error> for Error {
    fn from(err: reqwest::Error) -> Self {
        let url = err
            .url()
            .map(redacted_url)
            .unwrap_or_else(|| "the server".to_owned());
        let status = err.status().map(|s| s.as_u16());
        let detail = if err.is_timeout() {
            "the request timed out".to_owned()
        } else if err.is_connect() {
            "could not connect".to_owned()
        } else if let Some(status) = err.status() {
            format!("the server answered {status}")
        } else if err.is_decode() {
            "the answer could not be decoded".to_owned()
        } else {
            err.without_url().to_string()
        };
        Error::Http {
            url,
            status,
            detail,
        }
    }
}

/// The URL without user name or password, so that messages never leak credentials.
#[cfg(feature = "reqwest")]
fn redacted_url(url: &reqwest::Url) -> String {
    let mut url = url.clone();
    // Both setters only fail for URLs that cannot carry credentials, which then have none.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_name_the_path_and_say_what_to_do() {
        let err = Error::io(
            "read",
            "src/missing.rs",
            io::Error::new(io::ErrorKind::NotFound, "No such file or directory"),
        );
        assert_eq!(
            err.to_string(),
            "could not read 'src/missing.rs': No such file or directory; check that the path exists"
        );
    }

    #[test]
    fn io_errors_convert_without_a_path() {
        let err: Error = io::Error::new(io::ErrorKind::PermissionDenied, "denied").into();
        assert!(matches!(err, Error::UnlocatedIo(_)));
        assert_eq!(
            err.to_string(),
            "I/O error: denied; check its permissions or run as a user who may"
        );
    }

    #[test]
    fn http_errors_give_advice_per_status() {
        let err = Error::Http {
            url: "https://api.github.com/repos/a/b".into(),
            status: Some(404),
            detail: "the server answered 404 Not Found".into(),
        };
        assert!(err.to_string().ends_with("without a token)"), "{err}");
        let err = Error::Http {
            url: "http://x".into(),
            status: None,
            detail: "could not connect".into(),
        };
        assert!(
            err.to_string()
                .contains("check the URL and the network connection"),
            "{err}"
        );
    }

    #[test]
    fn invalid_values_are_shortened() {
        let long = "x".repeat(500);
        let Error::InvalidValue { value, .. } = Error::invalid("job id", &long, "a UUID") else {
            panic!("wrong variant")
        };
        assert_eq!(value.chars().count(), 121);
        assert!(value.ends_with('…'));
    }

    #[cfg(feature = "reqwest")]
    #[tokio::test]
    async fn reqwest_connection_errors_convert_and_hide_credentials() {
        // Bind then drop a listener: the port is closed, so the connection is refused.
        let port = {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            listener.local_addr().unwrap().port()
        };
        let err = reqwest::Client::new()
            .get(format!("http://user:secret@127.0.0.1:{port}/repo.zip"))
            .send()
            .await
            .unwrap_err();
        let err = Error::from(err);
        let message = err.to_string();
        assert!(matches!(err, Error::Http { status: None, .. }));
        assert!(!message.contains("secret"), "{message}");
        assert!(
            message.contains(&format!("127.0.0.1:{port}/repo.zip")),
            "{message}"
        );
        assert!(message.contains("could not connect"), "{message}");
    }

    #[cfg(feature = "reqwest")]
    #[tokio::test]
    async fn reqwest_status_errors_keep_the_status() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = socket.read(&mut request).await;
            let answer =
                "HTTP/1.1 429 Too Many Requests\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";
            socket.write_all(answer.as_bytes()).await.unwrap();
        });
        let response = reqwest::Client::new()
            .get(format!("http://{addr}/"))
            .send()
            .await
            .unwrap();
        let err = Error::from(response.error_for_status().unwrap_err());
        assert!(matches!(
            err,
            Error::Http {
                status: Some(429),
                ..
            }
        ));
        assert!(err.to_string().contains("wait and retry"), "{err}");
    }
}
