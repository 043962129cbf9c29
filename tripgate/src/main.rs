//! The `tripgate` binary: the only place that knows the topology. It parses
//! the command line, loads the config and wires the stages.
#![forbid(unsafe_code)]

mod backtest;
mod engine;
mod simulate;

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
        after_help = "Example:\n  tripgate backtest --events events.jsonl --config rules.toml --out results.jsonl"
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
        } => {
            let config = Config::load(&config)?;
            let engine = backtest::run(&events, &config, &out)?;
            eprint!("{}", backtest::summary(&engine));
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
