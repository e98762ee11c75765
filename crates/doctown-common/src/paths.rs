//! Where Doctown keeps what it can make again (models, caches).

use std::path::PathBuf;

/// Doctown's cache folder: `$DOCTOWN_CACHE_DIR`, else `~/.cache/doctown` (where the set-up
/// scripts put the model too).
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("DOCTOWN_CACHE_DIR").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache/doctown")
}
