//! One configuration for every Doctown binary (the CLI and each worker).
//!
//! A setting comes from, in order of precedence: its command-line flag, its `DOCTOWN_*`
//! environment variable, the TOML configuration file, and its built-in default. The file's keys
//! are the environment variables' names without `DOCTOWN_`, in lower case
//! (`llm_base_url = "http://127.0.0.1:8080/v1"` for `DOCTOWN_LLM_BASE_URL`, `max_clusters = 48`);
//! the file is `$DOCTOWN_CONFIG`, else `./doctown.toml`, else `~/.config/doctown/config.toml`,
//! whichever exists first. One file can serve the whole fleet: a key the running binary does not
//! have is ignored with a warning on stderr (never silently), and a key that cannot be a
//! variable's name at all is an error.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{Command, Parser};

/// Whether `key` can name a `DOCTOWN_*` variable (`llm_base_url`): the keys another binary may
/// have.
fn variable_shaped(key: &str) -> bool {
    !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// The configuration file to read, when there is one.
pub fn config_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DOCTOWN_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let local = PathBuf::from("doctown.toml");
    if local.is_file() {
        return Some(local);
    }
    let home = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    let user = home.join("doctown/config.toml");
    user.is_file().then_some(user)
}

/// Every argument of `command` and its subcommands read from the variable `variable`, made to
/// default to `value`; whether any was.
fn set_default(command: &mut Command, variable: &str, value: &str) -> bool {
    let ids: Vec<String> = command
        .get_arguments()
        .filter(|arg| arg.get_env().is_some_and(|env| env == variable))
        .map(|arg| arg.get_id().to_string())
        .collect();
    let mut found = !ids.is_empty();
    for id in ids {
        let owned = value.to_owned();
        *command = std::mem::take(command).mut_arg(id, |arg| arg.default_value(owned));
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_owned())
        .collect();
    for name in names {
        let mut sub_found = false;
        *command = std::mem::take(command).mut_subcommand(&name, |mut sub| {
            sub_found = set_default(&mut sub, variable, value);
            sub
        });
        found |= sub_found;
    }
    found
}

/// `P`'s command with the settings of the TOML text `config` (read from `origin`) as defaults,
/// and a warning for each key it does not have.
fn with_config(
    mut command: Command,
    config: &str,
    origin: &Path,
) -> Result<(Command, Vec<String>), String> {
    let mut warnings = Vec::new();
    let table: toml::Table = config
        .parse()
        .map_err(|err| format!("{} is not valid TOML: {err}", origin.display()))?;
    for (key, value) in table {
        let text = match value {
            toml::Value::String(text) => text,
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Float(x) => x.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(format!(
                    "{}: `{key}` is {}, but settings are strings, numbers or booleans",
                    origin.display(),
                    other.type_str()
                ));
            }
        };
        let variable = format!("DOCTOWN_{}", key.to_ascii_uppercase());
        if variable_shaped(&key) && set_default(&mut command, &variable, &text) {
            continue;
        }
        if !variable_shaped(&key) {
            return Err(format!(
                "{}: `{key}` is not a setting; keys are the DOCTOWN_* variables' names without `DOCTOWN_`, in lower case (`llm_base_url`)",
                origin.display()
            ));
        }
        warnings.push(format!(
            "warning: {}: `{key}` is not a setting of `{}`; ignored",
            origin.display(),
            command.get_name()
        ));
    }
    Ok((command, warnings))
}

/// Parses `args` into `P`, with the settings of the file at `config` (when given) as defaults;
/// gives the warnings about keys `P` does not have beside it.
pub fn parse_from<P, I, T>(args: I, config: Option<&Path>) -> Result<(P, Vec<String>), clap::Error>
where
    P: Parser,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let Some(path) = config else {
        let matches = P::command().try_get_matches_from(args)?;
        return Ok((P::from_arg_matches(&matches)?, Vec::new()));
    };
    let text = std::fs::read_to_string(path).map_err(|err| {
        P::command().error(
            clap::error::ErrorKind::Io,
            format!(
                "cannot read the configuration file {}: {err}",
                path.display()
            ),
        )
    })?;
    parse_with_text(args, &text, path)
}

/// Parses `args` into `P` with the settings of the TOML text `config` (read from `origin`,
/// which messages name) as defaults: [`parse_from`] without the file system.
pub fn parse_with_text<P, I, T>(
    args: I,
    config: &str,
    origin: &Path,
) -> Result<(P, Vec<String>), clap::Error>
where
    P: Parser,
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    let (command, warnings) = with_config(P::command(), config, origin)
        .map_err(|message| P::command().error(clap::error::ErrorKind::InvalidValue, message))?;
    let matches = command.try_get_matches_from(args)?;
    Ok((P::from_arg_matches(&matches)?, warnings))
}

/// Parses the process's arguments into `P`, with the configuration file (see the crate's
/// documentation) as defaults; on an error, prints it and exits as clap does.
pub fn parse<P: Parser>() -> P {
    let (parsed, warnings) =
        parse_from(std::env::args_os(), config_path().as_deref()).unwrap_or_else(|err| err.exit());
    for warning in warnings {
        eprintln!("{warning}");
    }
    parsed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Parser)]
    struct Settings {
        #[arg(long, env = "DOCTOWN_LLM_MODEL", default_value = "gpt-4o-mini")]
        model: String,
        #[arg(long, env = "DOCTOWN_MAX_CLUSTERS", default_value_t = 64)]
        max_clusters: usize,
        #[arg(long, env = "DOCTOWN_OFFLINE")]
        offline: bool,
        #[command(subcommand)]
        command: Option<Sub>,
    }

    #[derive(Debug, clap::Subcommand)]
    enum Sub {
        Generate {
            #[arg(long, env = "DOCTOWN_RELATED_THRESHOLD", default_value_t = 0.7)]
            related_threshold: f32,
        },
    }

    fn file(text: &str) -> tempfile::NamedTempFile {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), text).unwrap();
        file
    }

    #[test]
    fn the_file_sets_defaults_and_flags_win() {
        let config = file(
            "llm_model = \"smollm2\"\nmax_clusters = 12\noffline = true\nrelated_threshold = 0.8\nport = 9000\n",
        );
        let (settings, warnings): (Settings, _) =
            parse_from(["doctown", "generate"], Some(config.path())).unwrap();
        assert_eq!(warnings.len(), 1);
        assert!(
            warnings[0].contains("`port` is not a setting of"),
            "{warnings:?}"
        );
        assert_eq!(settings.model, "smollm2");
        assert_eq!(settings.max_clusters, 12);
        assert!(settings.offline);
        let Some(Sub::Generate { related_threshold }) = settings.command else {
            panic!()
        };
        assert_eq!(related_threshold, 0.8);

        let (settings, _): (Settings, _) =
            parse_from(["doctown", "--max-clusters", "30"], Some(config.path())).unwrap();
        assert_eq!(settings.max_clusters, 30);
        let (settings, _): (Settings, _) = parse_from(["doctown"], None).unwrap();
        assert_eq!(
            (settings.model.as_str(), settings.max_clusters),
            ("gpt-4o-mini", 64)
        );
    }

    #[test]
    fn typos_and_bad_values_are_named() {
        let err = parse_from::<Settings, _, _>(["doctown"], Some(file("Max-Clusters = 3").path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`Max-Clusters` is not a setting"), "{err}");
        let err = parse_from::<Settings, _, _>(["doctown"], Some(file("llm_model = [1]").path()))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`llm_model` is array"), "{err}");
        let err =
            parse_from::<Settings, _, _>(["doctown"], Some(file("max_clusters = \"many\"").path()))
                .unwrap_err()
                .to_string();
        assert!(err.contains("many"), "{err}");
        let err =
            parse_from::<Settings, _, _>(["doctown"], Some(Path::new("/nonexistent/doctown.toml")))
                .unwrap_err()
                .to_string();
        assert!(err.contains("cannot read the configuration file"), "{err}");
    }

    /// The `DOCTOWN_*` names in `text`, without the prefix and in lower case.
    fn variables(text: &str) -> std::collections::BTreeSet<String> {
        let mut found = std::collections::BTreeSet::new();
        for (at, _) in text.match_indices("DOCTOWN_") {
            let name: String = text[at + "DOCTOWN_".len()..]
                .chars()
                .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
                .collect();
            let name = name.trim_end_matches('_');
            if !name.is_empty() {
                found.insert(name.to_ascii_lowercase());
            }
        }
        found
    }

    #[test]
    fn the_documented_file_names_every_variable_of_the_readme() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
        let table = &readme[readme.find("## Configuration").unwrap()..];
        let table = &table[..table.find("\n## ").unwrap()];
        let example = std::fs::read_to_string(root.join("docs/config.toml")).unwrap();
        let keys: std::collections::BTreeSet<String> = example
            .lines()
            .filter_map(|line| line.strip_prefix("# ")?.split_once(" = "))
            .map(|(key, _)| key.to_owned())
            .collect();
        let mut documented = variables(table);
        documented.retain(|name| !["config", "test_corpus"].contains(&name.as_str()));
        for key in &keys {
            assert!(
                documented.contains(key),
                "docs/config.toml has `{key}`, the README does not"
            );
        }
        for name in &documented {
            assert!(
                keys.contains(name),
                "the README has DOCTOWN_{}, docs/config.toml does not",
                name.to_ascii_uppercase()
            );
        }
        let settings: Vec<&str> = example
            .lines()
            .filter_map(|line| line.strip_prefix("# ").filter(|line| line.contains(" = ")))
            .collect();
        settings.join("\n").parse::<toml::Table>().unwrap();
    }
}
