//! Token counting with the model's own encoding (tiktoken-rs: o200k_base for the gpt-4o family,
//! cl100k_base for older models), each encoding loaded once per process.

use std::sync::{Arc, OnceLock};

use tiktoken_rs::CoreBPE;

/// Counts tokens the way a model's tokenizer does.
#[derive(Clone)]
pub struct TokenCounter {
    bpe: Arc<CoreBPE>,
    encoding: &'static str,
}

impl std::fmt::Debug for TokenCounter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenCounter")
            .field("encoding", &self.encoding)
            .finish()
    }
}

/// Tokens a chat message costs beyond its text (role and separators).
pub const MESSAGE_OVERHEAD: u64 = 7;

fn o200k() -> Arc<CoreBPE> {
    static BPE: OnceLock<Arc<CoreBPE>> = OnceLock::new();
    BPE.get_or_init(|| Arc::new(tiktoken_rs::o200k_base().expect("o200k_base is built in")))
        .clone()
}

fn cl100k() -> Arc<CoreBPE> {
    static BPE: OnceLock<Arc<CoreBPE>> = OnceLock::new();
    BPE.get_or_init(|| Arc::new(tiktoken_rs::cl100k_base().expect("cl100k_base is built in")))
        .clone()
}

impl TokenCounter {
    /// The counter for `model`: cl100k_base for gpt-4 (not 4o), gpt-3.5 and the older
    /// embedding-era models, o200k_base for everything else (the gpt-4o, 4.1 and o-series
    /// families, and local models, whose count is then an estimate).
    pub fn for_model(model: &str) -> Self {
        let older = (model.starts_with("gpt-4")
            && !model.starts_with("gpt-4o")
            && !model.starts_with("gpt-4.1"))
            || model.starts_with("gpt-3.5")
            || model.starts_with("text-");
        if older {
            Self {
                bpe: cl100k(),
                encoding: "cl100k_base",
            }
        } else {
            Self {
                bpe: o200k(),
                encoding: "o200k_base",
            }
        }
    }

    /// The encoding's name.
    pub fn encoding(&self) -> &'static str {
        self.encoding
    }

    /// Tokens in `text`.
    pub fn count(&self, text: &str) -> u64 {
        self.bpe.encode_with_special_tokens(text).len() as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn models_get_their_encoding() {
        assert_eq!(
            TokenCounter::for_model("gpt-4o-mini").encoding(),
            "o200k_base"
        );
        assert_eq!(
            TokenCounter::for_model("gpt-4.1-nano").encoding(),
            "o200k_base"
        );
        assert_eq!(
            TokenCounter::for_model("gpt-4-turbo").encoding(),
            "cl100k_base"
        );
        assert_eq!(
            TokenCounter::for_model("gpt-3.5-turbo").encoding(),
            "cl100k_base"
        );
        assert_eq!(TokenCounter::for_model("smollm2").encoding(), "o200k_base");
        let counter = TokenCounter::for_model("gpt-4o-mini");
        assert_eq!(counter.count(""), 0);
        assert!((4..=10).contains(&counter.count("fn parse_config(path: &str)")));
    }
}
