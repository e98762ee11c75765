//! The kinds of symbol Doctown extracts.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::Error;

/// What a symbol is. Each language maps its constructs onto these (a Go struct type is a
/// `Struct`, a Python `def` inside a class is a `Method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SymbolKind {
    /// A free function.
    Function,
    /// A function that belongs to a type: a method, associated function, getter or setter.
    Method,
    /// A class.
    Class,
    /// A struct (or a Rust union).
    Struct,
    /// An enumeration.
    Enum,
    /// A Rust trait.
    Trait,
    /// An interface (TypeScript, Go).
    Interface,
    /// A Rust `impl` block.
    Impl,
    /// A module or namespace.
    Module,
    /// A constant.
    Const,
    /// A static item.
    Static,
    /// A type alias or other named type declaration.
    TypeAlias,
    /// A macro definition.
    Macro,
    /// A variable or other binding at module level.
    Variable,
}

impl SymbolKind {
    /// Every kind, in a fixed order.
    pub const ALL: [SymbolKind; 14] = [
        SymbolKind::Function,
        SymbolKind::Method,
        SymbolKind::Class,
        SymbolKind::Struct,
        SymbolKind::Enum,
        SymbolKind::Trait,
        SymbolKind::Interface,
        SymbolKind::Impl,
        SymbolKind::Module,
        SymbolKind::Const,
        SymbolKind::Static,
        SymbolKind::TypeAlias,
        SymbolKind::Macro,
        SymbolKind::Variable,
    ];

    /// The identifier used on the wire: `function`, `type_alias`, ….
    pub fn id(self) -> &'static str {
        match self {
            SymbolKind::Function => "function",
            SymbolKind::Method => "method",
            SymbolKind::Class => "class",
            SymbolKind::Struct => "struct",
            SymbolKind::Enum => "enum",
            SymbolKind::Trait => "trait",
            SymbolKind::Interface => "interface",
            SymbolKind::Impl => "impl",
            SymbolKind::Module => "module",
            SymbolKind::Const => "const",
            SymbolKind::Static => "static",
            SymbolKind::TypeAlias => "type_alias",
            SymbolKind::Macro => "macro",
            SymbolKind::Variable => "variable",
        }
    }

    /// Whether symbols of this kind hold other symbols (a class holds its methods).
    pub fn is_container(self) -> bool {
        matches!(
            self,
            SymbolKind::Class
                | SymbolKind::Struct
                | SymbolKind::Enum
                | SymbolKind::Trait
                | SymbolKind::Interface
                | SymbolKind::Impl
                | SymbolKind::Module
        )
    }
}

impl fmt::Display for SymbolKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for SymbolKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        SymbolKind::ALL
            .into_iter()
            .find(|kind| kind.id() == s)
            .ok_or_else(|| {
                let known: Vec<_> = SymbolKind::ALL.iter().map(|kind| kind.id()).collect();
                Error::invalid("symbol kind", s, format!("one of {}", known.join(", ")))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_text_and_json() {
        for kind in SymbolKind::ALL {
            assert_eq!(kind.id().parse::<SymbolKind>().unwrap(), kind);
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.id()));
            assert_eq!(serde_json::from_str::<SymbolKind>(&json).unwrap(), kind);
        }
    }

    #[test]
    fn unknown_kinds_list_the_known_ones() {
        let err = "lambda".parse::<SymbolKind>().unwrap_err();
        assert!(
            err.to_string().contains("one of function, method, class"),
            "{err}"
        );
    }
}
