//! The `tripgate` binary: the only place that knows the topology. It parses
//! the command line, loads the config and wires the stages.
#![forbid(unsafe_code)]

mod admin;
mod backtest;
mod demo;
mod engine;
mod live;
mod metrics;
mod produce;
mod report;
mod server;
mod simulate;
mod status;

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum};
use tripgate_model::config::Config;

/// jemalloc instead of glibc's malloc (see the workspace Cargo.toml), for
/// Rust's allocations and, as the C `malloc`, librdkafka's (see
/// tripgate/Cargo.toml); the aggregator's big tables in transparent huge
/// pages (`tripgate_aggregator::huge_pages`).
#[global_allocator]
static ALLOCATOR: tripgate_aggregator::huge_pages::HugeTables<tikv_jemallocator::Jemalloc> =
    tripgate_aggregator::huge_pages::HugeTables(tikv_jemallocator::Jemalloc);

/// How long jemalloc keeps pages freed and not reused in live mode, against
/// the 100 ms built in for every other command (`.cargo/config.toml`).
/// librdkafka allocates a buffer for each fetch response and an operation
/// for each message, all freed once the engine has read them: with 100 ms
/// much of that memory went back to the system between fetches and was
/// faulted in again, zeroed page by page, on librdkafka's broker thread
/// (docs/BENCHMARKS.md, twelfth pass).
const LIVE_DIRTY_DECAY_MS: isize = 1000;

/// Sets jemalloc's dirty page decay for its arenas, those made so far and
/// those to come. A failure only costs speed: it is logged.
fn keep_freed_pages(decay_ms: isize) {
    use tikv_jemalloc_ctl::{Access, AsName};
    let result = b"arenas.dirty_decay_ms\0"
        .name()
        .write(decay_ms)
        .and_then(|()| {
            for arena in 0..tikv_jemalloc_ctl::arenas::narenas::read()? {
                // Arenas not made yet refuse: they take the default above.
                let _ = format!("arena.{arena}.dirty_decay_ms\0")
                    .as_bytes()
                    .name()
                    .write(decay_ms);
            }
            Ok(())
        });
    if let Err(error) = result {
        tracing::warn!(%error, "jemalloc's page decay was not set; freed pages go back after 100 ms");
    }
}

#[derive(Parser)]
#[command(
    name = "tripgate",
    version,
    about = "Operations metrics with alerting circuit breakers.",
    after_help = "Start here:\n  tripgate demo                      a simulated shop, status page at http://127.0.0.1:9464/\n  tripgate check-config rules.toml   validate rules before deploying them\n  tripgate completions bash > /etc/bash_completion.d/tripgate\n\nSettings: TRIPGATE__SECTION__KEY environment variables override config files; TRIPGATE_LOG sets the log filter (e.g. debug)."
)]
struct Cli {
    /// Log format on stderr: text for people, json (one object per line) for log shippers.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "TRIPGATE_LOG_FORMAT")]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Replay a JSON Lines event log through the rules and write KPIs, transitions and gate changes.
    #[command(
        after_help = "Examples:\n  tripgate backtest --events events.jsonl --config rules.toml --out results.jsonl\n  tripgate simulate --days 7 | tripgate backtest --events - --out /dev/null --report report.html"
    )]
    Backtest {
        /// Events, one JSON object per line; `-` reads stdin.
        #[arg(long)]
        events: PathBuf,
        /// Config files, applied in order over the embedded defaults (default: the playbook rules).
        #[arg(long)]
        config: Vec<PathBuf>,
        /// Where to write the JSON Lines results; `-` writes stdout.
        #[arg(long, default_value = "-")]
        out: PathBuf,
        /// Also write a self-contained HTML report (KPIs against their limits, bands, transitions, gates).
        #[arg(long, value_name = "FILE.html")]
        report: Option<PathBuf>,
    },
    /// Watch a simulated shop grow until fulfillment breaks, and tripgate pull the brakes (no Kafka needed).
    #[command(
        after_help = "Example:\n  tripgate demo\n  tripgate demo --seconds 60 --slack-url https://hooks.slack.com/services/..."
    )]
    Demo(demo::DemoOptions),
    /// Run live on Kafka: consume the input topics, checkpoint state in Kafka, alert, serve /metrics.
    #[command(
        after_help = "Example:\n  tripgate run --config rules.toml --config kafka.toml\n  TRIPGATE__KAFKA__CLIENT__SASL_PASSWORD=... tripgate run --config prod.toml --out results.jsonl"
    )]
    Run {
        /// Config files, applied in order over the embedded defaults (default: the playbook rules).
        #[arg(long)]
        config: Vec<PathBuf>,
        /// Also write the JSON Lines results backtest writes (kept consistent across restarts).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Load a JSON Lines event log into the input topics (by type, keyed by order or ticket id).
    #[command(
        after_help = "Example:\n  tripgate produce --events events.jsonl --config kafka.toml"
    )]
    Produce {
        /// Events, one JSON object per line; `-` reads stdin.
        #[arg(long)]
        events: PathBuf,
        /// Config files (the [kafka] table), applied over the embedded defaults.
        #[arg(long)]
        config: Vec<PathBuf>,
    },
    /// Write a simulated business's events (orders, fulfillment, tickets) as JSON Lines.
    #[command(after_help = "Example:\n  tripgate simulate --days 7 --seed 42 --out events.jsonl")]
    Simulate {
        /// Days of simulated operation.
        #[arg(long, default_value_t = 1)]
        days: u32,
        /// Same seed, same events.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Event time of the first simulated instant (RFC 3339).
        #[arg(long, default_value = simulate::DEFAULT_START)]
        start: String,
        /// Where to write; `-` writes stdout.
        #[arg(long, default_value = "-")]
        out: PathBuf,
    },
    /// Print a shell completion script on stdout.
    #[command(
        after_help = "Examples:\n  tripgate completions bash > ~/.local/share/bash-completion/completions/tripgate\n  tripgate completions zsh > \"${fpath[1]}/_tripgate\""
    )]
    Completions { shell: clap_complete::Shell },
    /// Validate a config and print the effective configuration (secrets redacted).
    CheckConfig {
        /// Config files, applied in order over the embedded defaults.
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo tells each delivered webhook in its story already; a log
    // line for each beside it would bury the story. Failures still show.
    let default_filter = match cli.command {
        Command::Demo(_) => "info,rdkafka=error,tripgate_alerter::notify::delivery=warn",
        _ => "info,rdkafka=error",
    };
    init_logging(cli.log_format, default_filter);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // `tripgate check-config | head` closing the pipe early is no failure.
        Err(error) if io_kind(&error) == Some(std::io::ErrorKind::BrokenPipe) => ExitCode::SUCCESS,
        Err(error) => {
            eprint!("{}", describe_error(&error));
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr, filtered by `TRIPGATE_LOG` or else `default_filter`.
/// rdkafka repeats every broker hiccup at info and warn; tripgate logs what
/// matters of them itself (health, degraded), so by default only its errors
/// pass.
fn init_logging(format: LogFormat, default_filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TRIPGATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    // Colour codes only for a person at a terminal, never into log files.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

fn io_kind(error: &anyhow::Error) -> Option<std::io::ErrorKind> {
    error
        .chain()
        .find_map(|cause| cause.downcast_ref::<std::io::Error>())
        .map(|e| e.kind())
}

/// What went wrong (the outermost context), why (each cause on its own
/// line), and how to fix it when the cause says so.
fn describe_error(error: &anyhow::Error) -> String {
    let mut text = format!("error: {error}\n");
    for cause in error.chain().skip(1) {
        text += &format!("  caused by: {cause}\n");
    }
    let hint = match io_kind(error) {
        Some(std::io::ErrorKind::NotFound) => Some("check the path (relative paths start from the current directory)"),
        Some(std::io::ErrorKind::PermissionDenied) => Some("check the file's permissions and the user tripgate runs as"),
        Some(std::io::ErrorKind::AddrInUse) => Some("another process listens there: set TRIPGATE__SERVER__LISTEN=127.0.0.1:0 or another free address"),
        _ if error.chain().any(|c| c.downcast_ref::<tripgate_model::config::ConfigError>().is_some()) => {
            Some("fix the listed settings; `tripgate check-config FILE...` shows the effective configuration")
        }
        _ => None,
    };
    if let Some(hint) = hint {
        text += &format!("  hint: {hint}\n");
    }
    text
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Backtest {
            events,
            config,
            out,
            report: report_path,
        } => {
            let config = Config::load(&config)?;
            let mut report = report_path.as_ref().map(|_| report::Report::new(&config));
            let engine = backtest::run(&events, &config, &out, report.as_mut())?;
            eprint!("{}", backtest::summary(&engine));
            // Freeing millions of orders, ids and buckets one by one is
            // measurable work (5% of a backtest); the OS takes it back at exit.
            std::mem::forget(engine);
            if let (Some(report), Some(path)) = (report, report_path) {
                report.write(&path)?;
                eprintln!("report: {}", path.display());
            }
            Ok(())
        }
        Command::Demo(options) => tokio::runtime::Runtime::new()?.block_on(demo::run(options)),
        Command::Run { config: files, out } => {
            let config = Config::load(&files)?;
            keep_freed_pages(LIVE_DIRTY_DECAY_MS);
            live::run(config, files, out)
        }
        Command::Produce { events, config } => {
            let config = Config::load(&config)?;
            let produced = produce::run(&events, &config)?;
            let [orders, fulfillment, tickets] = produced.per_topic;
            eprintln!(
                "produced {} messages: {orders} to {}, {fulfillment} to {}, {tickets} to {} ({} unroutable lines sent to {} as they are)",
                orders + fulfillment + tickets,
                config.kafka.topics.orders,
                config.kafka.topics.fulfillment,
                config.kafka.topics.tickets,
                produced.unroutable,
                config.kafka.topics.orders,
            );
            Ok(())
        }
        Command::Simulate {
            days,
            seed,
            start,
            out,
        } => {
            let written = simulate::run(days, seed, &start, &out)?;
            eprintln!("wrote {written} events");
            Ok(())
        }
        Command::CheckConfig { files } => {
            let config = Config::load(&files)?;
            let mut stdout = std::io::stdout().lock();
            writeln!(
                stdout,
                "# effective configuration: valid\n{}",
                toml::to_string(&config)?
            )?;
            Ok(())
        }
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "tripgate",
                &mut std::io::stdout(),
            );
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use tikv_jemalloc_ctl::{Access, AsName};

    fn decay(name: &str) -> isize {
        name.as_bytes().name().read().expect("a jemalloc setting")
    }

    #[test]
    fn live_mode_keeps_freed_pages_for_its_decay_in_every_arena() {
        assert_eq!(decay("arenas.dirty_decay_ms\0"), 100, "the built-in decay");
        // An arena made before the change: this thread's.
        drop(vec![0u8; 1 << 20]);
        super::keep_freed_pages(super::LIVE_DIRTY_DECAY_MS);
        assert_eq!(decay("arenas.dirty_decay_ms\0"), 1000, "for arenas to come");
        let current: u32 = b"thread.arena\0"
            .name()
            .read()
            .expect("this thread's arena");
        assert_eq!(decay(&format!("arena.{current}.dirty_decay_ms\0")), 1000);
        // A new thread's arena, whether jemalloc makes one for it now or
        // hands it one made before.
        let later = std::thread::spawn(|| {
            drop(vec![0u8; 1 << 20]);
            let arena: u32 = b"thread.arena\0".name().read().expect("its arena");
            decay(&format!("arena.{arena}.dirty_decay_ms\0"))
        });
        assert_eq!(later.join().unwrap(), 1000);
    }
}
