//! The `i2p-router` command line: arguments, logging setup, the commands, exit codes and how
//! errors are printed (one line on stderr, with the chain of causes).

use std::error::Error as StdError;
use std::fmt;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::config::{Config, ConfigError, Loaded, LogFormat, LogLevel};
use crate::identity::{self, KeyError};
use crate::keyfile::{DataDir, FileError};
use crate::router_info::RouterInfoError;

/// Name of the config file looked for in the data dir when `--config` is not given.
pub const DEFAULT_CONFIG_NAME: &str = "config.yaml";

/// An I2P router.
#[derive(Debug, Parser)]
#[command(name = "i2p-router", version, about, long_about = None)]
pub struct Cli {
    /// Data directory: keys, router.info, lock file. Created (mode 0700) if missing.
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    /// YAML config file [default: DIR/config.yaml if it exists, else built-in defaults]
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log format on stderr (overrides log.format)
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,

    /// Print the commented default configuration and exit
    #[arg(long, exclusive = true)]
    pub print_default_config: bool,

    /// Reseed from this .su3 or .zip file (overrides reseed.file)
    #[arg(long, value_name = "FILE")]
    pub reseed_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the router identity and NTCP2 keys if missing, print the router hash and the
    /// base64 RouterIdentity
    Identity,
    /// Reseed now from the configured sources (reseed.file / --reseed-file, reseed.urls),
    /// verify what arrives and add it to the netDb directory; prints what was added
    Reseed,
    /// Write our signed RouterInfo (fresh date, current config) to DIR/router.info and exit,
    /// e.g. to preload it into another router's netDb
    RouterInfo,
    /// List the configured tunnels (config file and DIR/tunnels.d) with their .b32.i2p
    /// addresses; never creates keys
    Tunnels,
    /// GET an operator endpoint of a running router and exit 0 on 200, 1 otherwise: a
    /// container health check that needs no curl (no --data-dir needed)
    Healthcheck {
        /// host:port of the operator endpoints (ops.host, ops.port)
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7070")]
        addr: String,
        /// /readyz (tunnels built) or /healthz (process answers)
        #[arg(long, default_value = "/readyz")]
        path: String,
    },
}

/// Exit code for success.
pub const EXIT_OK: u8 = 0;
/// Exit code for runtime errors (files, keys, ...).
pub const EXIT_RUNTIME: u8 = 1;
/// Exit code for usage and configuration errors.
pub const EXIT_USAGE: u8 = 2;

/// Anything that ends a command.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    File(#[from] FileError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error(transparent)]
    RouterInfo(#[from] RouterInfoError),
    #[error("cannot write to stdout")]
    Stdout(#[source] std::io::Error),
    #[error(transparent)]
    Reseed(#[from] crate::reseed::ReseedCommandError),
    #[error(transparent)]
    Run(crate::run::RunError),
    #[error("health check: {0}")]
    Health(String),
}

impl AppError {
    pub fn exit_code(&self) -> u8 {
        match self {
            AppError::Usage(_) | AppError::Config(_) => EXIT_USAGE,
            _ => EXIT_RUNTIME,
        }
    }
}

/// `err` and its causes on one line, separated by ": ", without repeating a cause whose text
/// the previous message already ends with.
pub fn error_chain(err: &dyn StdError) -> String {
    let mut out = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        let text = e.to_string();
        if !out.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        cur = e.source();
    }
    out
}

/// Parse the process arguments, run, and map the outcome to an exit code.
pub fn main() -> ExitCode {
    // a panic is a bug; report it on one line like any other error, without a backtrace hint
    std::panic::set_hook(Box::new(|info| {
        let text = info.to_string().replace('\n', " ");
        eprintln!("i2p-router: internal error (a bug, please report it): {text}");
    }));
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_exit(e),
    };
    match run(cli) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(e) => {
            eprintln!("i2p-router: error: {}", error_chain(&e));
            ExitCode::from(e.exit_code())
        }
    }
}

/// Help and version go to stdout as clap renders them; usage errors become one line.
fn clap_exit(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            ExitCode::from(EXIT_OK)
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered.lines().next().unwrap_or("invalid arguments");
            let first = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("i2p-router: error: {first} (see i2p-router --help)");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

/// Run the parsed command line.
pub fn run(cli: Cli) -> Result<(), AppError> {
    if cli.print_default_config {
        return print_out(crate::config::DEFAULT_CONFIG_YAML);
    }
    if let Some(Command::Healthcheck { addr, path }) = &cli.command {
        return cmd_healthcheck(addr, path);
    }
    let data_dir = cli.data_dir.clone().ok_or_else(|| {
        AppError::Usage("--data-dir DIR is required (where the router keeps its keys)".into())
    })?;
    match cli.command {
        Some(Command::Identity) => {
            if cli.config.is_some() {
                return Err(AppError::Usage(
                    "--config is not used by the identity command".into(),
                ));
            }
            init_logging(LogLevel::Info, cli.log_format.unwrap_or(LogFormat::Text));
            cmd_identity(&data_dir)
        }
        Some(Command::Reseed) => {
            let (mut loaded, _) = load_config(cli.config.as_deref(), &data_dir)?;
            if let Some(file) = cli.reseed_file.clone() {
                loaded.config.reseed.file = Some(file);
            }
            let log = &loaded.config.log;
            init_logging(log.level, cli.log_format.unwrap_or(log.format));
            let summary = crate::reseed::cmd_reseed(&data_dir, &loaded.config)?;
            print_out(summary)
        }
        Some(Command::Tunnels) => {
            let (loaded, _) = load_config(cli.config.as_deref(), &data_dir)?;
            let tunnels = crate::frontends::collect_tunnels(&loaded.config.tunnels, &data_dir)
                .map_err(AppError::Usage)?;
            print_out(list_tunnels(&tunnels, &data_dir))
        }
        Some(Command::Healthcheck { .. }) => Ok(()), // answered above
        Some(Command::RouterInfo) => {
            let (loaded, _) = load_config(cli.config.as_deref(), &data_dir)?;
            let log = &loaded.config.log;
            init_logging(log.level, cli.log_format.unwrap_or(log.format));
            crate::run::write_router_info(&data_dir, &loaded.config).map_err(AppError::Run)
        }
        None => {
            let (mut loaded, source) = load_config(cli.config.as_deref(), &data_dir)?;
            if let Some(file) = cli.reseed_file.clone() {
                loaded.config.reseed.file = Some(file);
            }
            let log = &loaded.config.log;
            init_logging(log.level, cli.log_format.unwrap_or(log.format));
            match &source {
                Some(path) => tracing::info!(file = %path.display(), "configuration loaded"),
                None => tracing::info!("no config file; using the built-in defaults"),
            }
            for w in &loaded.warnings {
                tracing::warn!("{w}");
            }
            tracing::debug!(config = ?loaded.config, "configuration");
            crate::run::run(&data_dir, &loaded.config, source.as_deref()).map_err(AppError::Run)
        }
    }
}

/// `i2p-router tunnels`: one line per tunnel, tab-separated: name, type, local side,
/// address (or why there is none yet).
fn list_tunnels(tunnels: &[crate::config::TunnelConfig], data_dir: &Path) -> String {
    use crate::config::{TunnelKeys, TunnelKind};
    let mut out = String::from("NAME\tTYPE\tLOCAL\tADDRESS\n");
    for t in tunnels {
        let local = match &t.kind {
            TunnelKind::Server(s)
            | TunnelKind::Http { server: s, .. }
            | TunnelKind::Irc { server: s, .. } => {
                format!("-> {}", s.target)
            }
            TunnelKind::Client {
                listen,
                destination,
                port,
            } => format!("{listen} -> {destination}:{port}"),
        };
        let address = match &t.keys {
            TunnelKeys::Transient => "(transient: a new address every start)".to_string(),
            TunnelKeys::File(p) => {
                let path = crate::frontends::key_path(data_dir, p);
                match crate::client::keys_file::load_existing(&path) {
                    Ok(Some(k)) => k.destination.b32_address(),
                    Ok(None) => {
                        format!("(no key file yet: {} is created on start)", path.display())
                    }
                    Err(e) => format!("(unreadable key file: {e})"),
                }
            }
        };
        out.push_str(&format!("{}\t{}\t{local}\t{address}\n", t.name, t.kind));
    }
    out
}

fn print_out(text: impl fmt::Display) -> Result<(), AppError> {
    let mut out = std::io::stdout().lock();
    write!(out, "{text}")
        .and_then(|()| out.flush())
        .map_err(AppError::Stdout)
}

/// The configuration and the file it came from (`None`: built-in defaults).
fn load_config(
    explicit: Option<&Path>,
    data_dir: &Path,
) -> Result<(Loaded, Option<PathBuf>), AppError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None => data_dir.join(DEFAULT_CONFIG_NAME),
    };
    let env = config_env()?;
    if explicit.is_none() && !path.exists() {
        if env.is_empty() {
            return Ok((Config::defaults(), None));
        }
        let loaded = Config::from_yaml_bytes_with_env(b"", Path::new("(built-in defaults)"), &env)?;
        return Ok((loaded, None));
    }
    Ok((Config::load_with_env(&path, &env)?, Some(path)))
}

/// The `I2P_ROUTER__SECTION__KEY` variables of our environment (config overrides).
pub(crate) fn config_env() -> Result<Vec<(String, String)>, AppError> {
    let mut env = Vec::new();
    for (name, value) in std::env::vars_os() {
        if !name
            .as_encoded_bytes()
            .starts_with(crate::config::ENV_PREFIX.as_bytes())
        {
            continue;
        }
        match (name.into_string(), value.into_string()) {
            (Ok(name), Ok(value)) => env.push((name, value)),
            (Ok(name), Err(_)) => {
                return Err(AppError::Usage(format!(
                    "environment variable {name}: the value is not valid UTF-8"
                )));
            }
            (Err(name), _) => {
                return Err(AppError::Usage(format!(
                    "environment variable {}: the name is not valid UTF-8",
                    name.to_string_lossy()
                )));
            }
        }
    }
    // stable order: diagnostics and "also set by" do not depend on the environment's order
    env.sort();
    Ok(env)
}

/// Logs go to stderr; stdout carries command output only.
fn init_logging(level: LogLevel, format: LogFormat) {
    let filter = tracing_subscriber::filter::LevelFilter::from_level(match level {
        LogLevel::Error => tracing::Level::ERROR,
        LogLevel::Warn => tracing::Level::WARN,
        LogLevel::Info => tracing::Level::INFO,
        LogLevel::Debug => tracing::Level::DEBUG,
        LogLevel::Trace => tracing::Level::TRACE,
    });
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    // a second initialisation (tests calling `run` twice) keeps the first subscriber
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// `i2p-router identity`.
fn cmd_identity(data_dir: &Path) -> Result<(), AppError> {
    let dir = DataDir::open(data_dir)?;
    let keys = identity::load_or_create_router_keys(&dir)?;
    identity::load_or_create_ntcp2_keys(&dir)?;
    print_out(format_args!(
        "router_hash: {}\nrouter_identity: {}\n",
        keys.hash_base64(),
        keys.identity_base64()
    ))
}

/// `i2p-router healthcheck`: one HTTP/1.0 GET with 3 s timeouts; the body is printed, a status
/// other than 200 (or no answer) is an error (exit 1).
fn cmd_healthcheck(addr: &str, path: &str) -> Result<(), AppError> {
    use std::io::Read;
    use std::net::{TcpStream, ToSocketAddrs};
    use std::time::Duration;
    let timeout = Duration::from_secs(3);
    let fail = |what: String| AppError::Health(format!("{addr}{path}: {what}"));
    let sock = addr
        .to_socket_addrs()
        .map_err(|e| fail(e.to_string()))?
        .next()
        .ok_or_else(|| fail("no address".into()))?;
    let mut stream = TcpStream::connect_timeout(&sock, timeout).map_err(|e| fail(e.to_string()))?;
    stream
        .set_read_timeout(Some(timeout))
        .and_then(|()| stream.set_write_timeout(Some(timeout)))
        .and_then(|()| {
            write!(
                stream,
                "GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
            )
        })
        .map_err(|e| fail(e.to_string()))?;
    let mut answer = Vec::new();
    stream
        .take(64 * 1024)
        .read_to_end(&mut answer)
        .map_err(|e| fail(e.to_string()))?;
    let answer = String::from_utf8_lossy(&answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&*answer, ""));
    let status = head.lines().next().unwrap_or("");
    if status.split_whitespace().nth(1) == Some("200") {
        print_out(body)
    } else {
        let body = body.trim().replace('\n', "; ");
        Err(fail(format!("{status} {body}").trim().to_string()))
    }
}
