//! The `tripgate` binary: the only place that knows the topology. It parses
//! the command line, loads the config and wires the stages.
#![forbid(unsafe_code)]

mod backtest;
mod demo;
mod engine;
mod live;
mod metrics;
mod produce;
mod server;
mod simulate;
mod report;
mod status;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tripgate_model::config::Config;

#[derive(Parser)]
#[command(
    name = "tripgate",
    version,
    about = "Operations metrics with alerting circuit breakers."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
    #[command(after_help = "Example:\n  tripgate demo\n  tripgate demo --seconds 60 --slack-url https://hooks.slack.com/services/...")]
    Demo {
        /// Config files over the demo rules.
        #[arg(long)]
        config: Vec<PathBuf>,
        /// Wall-clock length of the demo.
        #[arg(long, default_value_t = 120)]
        seconds: u64,
        /// Simulated hours played in that time.
        #[arg(long, default_value_t = 5)]
        hours: u64,
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Also post transitions to this Slack incoming webhook.
        #[arg(long, env = "TRIPGATE_DEMO_SLACK_URL")]
        slack_url: Option<String>,
        /// Also post transitions to this webhook (Standard Webhooks signed).
        #[arg(long, env = "TRIPGATE_DEMO_WEBHOOK_URL")]
        webhook_url: Option<String>,
        /// The whsec_ secret for --webhook-url.
        #[arg(long, env = "TRIPGATE_DEMO_WEBHOOK_SECRET")]
        webhook_secret: Option<String>,
    },
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
    #[command(after_help = "Example:\n  tripgate produce --events events.jsonl --config kafka.toml")]
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
    /// Validate a config and print the effective configuration (secrets redacted).
    CheckConfig {
        /// Config files, applied in order over the embedded defaults.
        files: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
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
            if let (Some(report), Some(path)) = (report, report_path) {
                report.write(&path)?;
                eprintln!("report: {}", path.display());
            }
            Ok(())
        }
        Command::Demo { config, seconds, hours, seed, slack_url, webhook_url, webhook_secret } => {
            let options = demo::DemoOptions { config, seconds, hours, seed, slack_url, webhook_url, webhook_secret };
            tokio::runtime::Runtime::new()?.block_on(demo::run(options))
        }
        Command::Run { config, out } => {
            let config = Config::load(&config)?;
            live::run(config, out)
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
            println!(
                "# effective configuration: valid\n{}",
                toml::to_string(&config)?
            );
            Ok(())
        }
    }
}
