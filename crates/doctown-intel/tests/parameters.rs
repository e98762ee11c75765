//! What each function takes and returns, as its language declares it: the parameters (names
//! and types, the receiver left out) and the return type, which offline summaries put in words.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use doctown_common::Language;

/// Each function or method as `name(param: type, …) -> returns`, `?` for what is not declared.
fn shapes(path: &str, language: Language, source: &str) -> Vec<String> {
    let analysis = doctown_intel::extract(path, source.as_bytes(), language);
    assert_eq!(analysis.parse_errors, 0, "{path} parses");
    analysis
        .symbols
        .iter()
        .filter(|s| !s.parameters.is_empty() || s.returns.is_some())
        .map(|s| {
            let parameters: Vec<String> = s
                .parameters
                .iter()
                .map(|p| {
                    format!(
                        "{}: {}",
                        p.name.as_deref().unwrap_or("_"),
                        p.type_name.as_deref().unwrap_or("?")
                    )
                })
                .collect();
            format!(
                "{}({}) -> {}",
                s.qualified_name,
                parameters.join(", "),
                s.returns.as_deref().unwrap_or("?")
            )
        })
        .collect()
}

#[test]
fn rust_parameters_and_return_types() {
    let source = "pub fn open(path: &Path, mut strict: bool) -> Result<Store, Error> { todo!() }\n\
        struct Store;\n\
        impl Store {\n    pub fn get(&self, key: &str) -> Option<&[u8]> { None }\n    fn close(self) {}\n}\n\
        extern \"C\" { fn printf(format: *const c_char, ...) -> c_int; }\n";
    assert_eq!(
        shapes("src/lib.rs", Language::Rust, source),
        [
            "open(path: &Path, strict: bool) -> Result<Store, Error>",
            "Store::get(key: &str) -> Option<&[u8]>",
            "printf(format: *const c_char, ...: ?) -> c_int",
        ]
    );
}

#[test]
fn python_parameters_and_return_types() {
    let source = "def load(path: str, strict=False, *args, encoding: str = 'utf-8', **kwargs) -> dict:\n    pass\n\n\
        class Store:\n    def get(self, key, /, *, default: bytes | None = None):\n        pass\n\n    @classmethod\n    def open(cls, path) -> 'Store':\n        pass\n";
    assert_eq!(
        shapes("store.py", Language::Python, source),
        [
            "load(path: str, strict: ?, *args: ?, encoding: str, **kwargs: ?) -> dict",
            "Store.get(key: ?, default: bytes | None) -> ?",
            "Store.open(path: ?) -> 'Store'",
        ]
    );
}

#[test]
fn go_parameters_and_results() {
    let source = "package store\n\nfunc Open(path string, a, b int, opts ...Option) (*Store, error) { return nil, nil }\n\n\
        type Store struct{}\n\nfunc (s *Store) Get(string) []byte { return nil }\n\n\
        type Getter interface {\n\tGet(key string) []byte\n}\n";
    assert_eq!(
        shapes("store.go", Language::Go, source),
        [
            "Open(path: string, a: int, b: int, opts: ...Option) -> (*Store, error)",
            "Store.Get(_: string) -> []byte",
            "Getter.Get(key: string) -> []byte",
        ]
    );
}

#[test]
fn typescript_and_javascript_parameters_and_return_types() {
    let source = "export function open(path: string, strict?: boolean, ...rest: string[]): Promise<Store> { return null!; }\n\
        export class Store {\n  constructor(private readonly path: string) {}\n  get(this: Store, key: string, { fallback } = {}): Uint8Array | null { return null; }\n}\n\
        export const close = async (store: Store): Promise<void> => {};\n";
    assert_eq!(
        shapes("store.ts", Language::TypeScript, source),
        [
            "open(path: string, strict?: boolean, ...rest: string[]) -> Promise<Store>",
            "Store.constructor(path: string) -> ?",
            "Store.get(key: string, { fallback }: ?) -> Uint8Array | null",
            "close(store: Store) -> Promise<void>",
        ]
    );
    let source = "function load(path, options = {}) {}\nconst run = x => x;\nmodule.exports.save = function (data, ...more) {};\n";
    assert_eq!(
        shapes("store.js", Language::JavaScript, source),
        [
            "load(path: ?, options: ?) -> ?",
            "run(x: ?) -> ?",
            "save(data: ?, ...more: ?) -> ?",
        ]
    );
}
