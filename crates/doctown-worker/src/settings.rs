//! The server settings every worker reads the same way.

use std::net::IpAddr;
use std::time::Duration;

use doctown_events::sse;

/// Where and how a worker serves; flatten it into the worker's clap command.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
#[command(next_help_heading = "Server settings")]
pub struct ServeSettings {
    /// The address to listen on (the binary's own default when unset: every interface for
    /// workers and the coordinator, which run in containers; loopback for `doctown serve`).
    #[arg(long, env = "DOCTOWN_BIND", value_name = "ADDRESS")]
    pub bind: Option<IpAddr>,

    /// The port of the work endpoints, and of /health and /ping unless --health-port is set
    /// (0 picks a free port, logged at start).
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// A separate port serving only /health and /ping (RunPod's load balancer sets it).
    #[arg(long, env = "PORT_HEALTH")]
    pub health_port: Option<u16>,

    /// Origins whose pages may call this worker, comma-separated; `*` allows any.
    #[arg(
        long,
        env = "DOCTOWN_CORS_ORIGINS",
        value_delimiter = ',',
        value_name = "ORIGINS"
    )]
    pub cors_origins: Vec<String>,

    /// The largest request body accepted, in bytes (the worker's own default when unset).
    #[arg(long, env = "DOCTOWN_MAX_BODY_BYTES", value_name = "BYTES")]
    pub max_body_bytes: Option<usize>,

    /// Seconds that streams still running at shutdown get to send their failed completion.
    #[arg(
        long,
        env = "DOCTOWN_SHUTDOWN_GRACE_SECS",
        default_value_t = 10,
        value_name = "SECONDS"
    )]
    pub shutdown_grace_secs: u64,

    /// Seconds of silence after which an event stream sends a keep-alive comment. A client that
    /// went away is noticed when the next bytes are written, so this also bounds how long an
    /// abandoned job runs.
    #[arg(
        long,
        env = "DOCTOWN_SSE_KEEP_ALIVE_SECS",
        default_value_t = sse::KEEP_ALIVE_INTERVAL.as_secs(),
        value_name = "SECONDS"
    )]
    pub sse_keep_alive_secs: u64,

    /// Threads serving HTTP (jobs run on threads of their own).
    #[arg(
        long,
        env = "DOCTOWN_HTTP_WORKERS",
        default_value_t = 2,
        value_name = "COUNT"
    )]
    pub http_workers: usize,
}

impl ServeSettings {
    /// The address to listen on: the one configured, else `default`.
    pub fn address(&self, default: IpAddr) -> IpAddr {
        self.bind.unwrap_or(default)
    }

    /// The keep-alive interval of event streams (at least a second).
    pub fn keep_alive(&self) -> Duration {
        Duration::from_secs(self.sse_keep_alive_secs.max(1))
    }

    /// The shutdown grace period.
    pub fn shutdown_grace(&self) -> Duration {
        Duration::from_secs(self.shutdown_grace_secs)
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Command {
        #[command(flatten)]
        serve: ServeSettings,
    }

    #[test]
    fn origins_are_a_comma_separated_list() {
        let settings = Command::try_parse_from([
            "worker",
            "--port",
            "0",
            "--cors-origins",
            "https://doctown.dev,http://localhost:5173",
        ])
        .unwrap()
        .serve;
        assert_eq!(settings.port, 0);
        assert_eq!(
            settings.cors_origins,
            ["https://doctown.dev", "http://localhost:5173"]
        );
        assert_eq!(settings.shutdown_grace(), Duration::from_secs(10));
        assert_eq!(settings.keep_alive(), Duration::from_secs(15));
    }
}
