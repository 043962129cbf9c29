//! Configuration: schema, layering and validation (contract section 6).
//!
//! Layers, later wins: the embedded `config/default.toml`; the embedded
//! playbook rules `config/playbook.toml` when no file is given; each
//! `--config` file in order; `TRIPGATE__SECTION__KEY` environment variables.
//! Unknown fields are errors, and every semantic error is reported at once with
//! its path.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use figment::providers::{Env, Format, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize, Serializer};

use crate::duration::Span;
use crate::kpi::{Band, Kpi, KpiKind, ScopeDim, Stat};
use crate::time::Nanos;

mod actions;
mod kafka;
mod notifier;
mod validate;
pub use actions::{ActionsSettings, AdminConfig};
pub use kafka::{ClientSettings, ClientValue, KafkaConfig, TopicsConfig};
pub use notifier::NotifierConfig;

/// Settings, no rules: always the first layer.
pub const DEFAULT_TOML: &str = include_str!("../../config/default.toml");
/// The operations playbook's rules and gates, used when no config file is given.
pub const PLAYBOOK_TOML: &str = include_str!("../../config/playbook.toml");
/// The rules `tripgate demo` runs: the playbook with windows for a short story.
pub const DEMO_TOML: &str = include_str!("../../config/demo.toml");

/// A value that must not appear in logs or printed configs (webhook URLs
/// embed credentials; signing secrets are secrets).
#[derive(Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(transparent)]
pub struct Sensitive(pub String);

impl Sensitive {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Sensitive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"<redacted>\"")
    }
}

impl Serialize for Sensitive {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("<redacted>")
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub pipeline: Pipeline,
    #[serde(default, rename = "rule")]
    pub rules: Vec<RuleConfig>,
    #[serde(default, rename = "gate")]
    pub gates: Vec<GateConfig>,
    #[serde(default, rename = "notifier")]
    pub notifiers: BTreeMap<String, NotifierConfig>,
    pub server: ServerConfig,
    pub kafka: KafkaConfig,
    /// Leases of engaged actions (`[actions]`); defaults when absent.
    #[serde(default)]
    pub actions: ActionsSettings,
    /// The operator API (`[admin]`); disabled without a token.
    #[serde(default)]
    pub admin: AdminConfig,
}

/// The `[pipeline]` settings named by the contract.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pipeline {
    pub tick: Span,
    pub allowed_lateness: Span,
    pub idle_timeout: Span,
    pub max_future_skew: Span,
    pub order_ttl: Span,
    pub dedup_horizon: Span,
    pub max_keys: usize,
    pub max_event_bytes: usize,
    pub metrics_max_keys: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Where `/metrics` (and later the status page) listen.
    pub listen: String,
}

/// One band condition; exactly one field must be set.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub above: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub below: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub above_baseline_by: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub below_baseline_by: Option<f64>,
}

/// A validated condition.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Threshold {
    Above(f64),
    Below(f64),
    AboveBaselineBy(f64),
    BelowBaselineBy(f64),
}

impl Threshold {
    pub fn needs_baseline(self) -> bool {
        matches!(
            self,
            Threshold::AboveBaselineBy(_) | Threshold::BelowBaselineBy(_)
        )
    }

    /// The number the value is compared with, given the baseline value.
    pub fn limit(self, baseline: Option<f64>) -> Option<f64> {
        match self {
            Threshold::Above(x) | Threshold::Below(x) => Some(x),
            Threshold::AboveBaselineBy(r) => baseline.map(|b| b * (1.0 + r)),
            Threshold::BelowBaselineBy(r) => baseline.map(|b| b * (1.0 - r)),
        }
    }

    /// Whether `value` is in the band; `above` is strict `>`, `below` strict `<`.
    pub fn holds(self, value: f64, baseline: Option<f64>) -> bool {
        let Some(limit) = self.limit(baseline) else {
            return false;
        };
        match self {
            Threshold::Above(_) | Threshold::AboveBaselineBy(_) => value > limit,
            Threshold::Below(_) | Threshold::BelowBaselineBy(_) => value < limit,
        }
    }
}

impl Condition {
    pub fn threshold(&self) -> Result<Threshold, String> {
        let set: Vec<Threshold> = [
            self.above.map(Threshold::Above),
            self.below.map(Threshold::Below),
            self.above_baseline_by.map(Threshold::AboveBaselineBy),
            self.below_baseline_by.map(Threshold::BelowBaselineBy),
        ]
        .into_iter()
        .flatten()
        .collect();
        match set.as_slice() {
            [one] => Ok(*one),
            [] => Err("needs one of above, below, above_baseline_by, below_baseline_by".into()),
            _ => Err("holds more than one condition; a band has exactly one".into()),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineConfig {
    /// Defaults to the rule's window.
    pub window: Option<Span>,
    pub offset: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionConfig {
    pub name: String,
    /// Defaults to 1.0 (fully engaged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<f64>,
    /// Stepwise release (half-open): when the band no longer asks for the
    /// action, it is loosened to these fractions of its level, one step per
    /// `step_interval`, before it is released. Empty: released at once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub release_steps: Vec<f64>,
    /// Time between release steps; defaults to `[actions] repeat_interval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_interval: Option<Span>,
}

impl ActionConfig {
    pub fn level(&self) -> f64 {
        self.level.unwrap_or(1.0)
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandActions {
    #[serde(default)]
    pub yellow: Vec<ActionConfig>,
    #[serde(default)]
    pub red: Vec<ActionConfig>,
}

impl BandActions {
    pub fn for_band(&self, band: Band) -> &[ActionConfig] {
        match band {
            Band::Green => &[],
            Band::Yellow => &self.yellow,
            Band::Red => &self.red,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub name: String,
    pub kpi: Kpi,
    #[serde(default)]
    pub stat: Stat,
    #[serde(default = "global_scope")]
    pub scope: ScopeDim,
    pub window: Option<Span>,
    #[serde(default = "one")]
    pub min_samples: u64,
    pub yellow: Option<Condition>,
    pub red: Option<Condition>,
    pub baseline: Option<BaselineConfig>,
    #[serde(rename = "for")]
    pub for_: Option<Span>,
    pub recover_for: Option<Span>,
    #[serde(default)]
    pub actions: BandActions,
    #[serde(default)]
    pub notify: Vec<String>,
}

fn global_scope() -> ScopeDim {
    ScopeDim::Global
}

fn one() -> u64 {
    1
}

impl RuleConfig {
    /// The rule's window; `None` for gauges, which have none.
    pub fn window(&self) -> Option<&Span> {
        (self.kpi.kind() != KpiKind::Gauge)
            .then_some(self.window.as_ref())
            .flatten()
    }

    pub fn yellow_threshold(&self) -> Option<Threshold> {
        self.yellow.as_ref().and_then(|c| c.threshold().ok())
    }

    pub fn red_threshold(&self) -> Option<Threshold> {
        self.red.as_ref().and_then(|c| c.threshold().ok())
    }

    pub fn needs_baseline(&self) -> bool {
        [self.yellow_threshold(), self.red_threshold()]
            .into_iter()
            .flatten()
            .any(Threshold::needs_baseline)
    }

    /// `for`, default 0.
    pub fn for_nanos(&self) -> Nanos {
        self.for_.as_ref().map_or(0, Span::nanos)
    }

    /// `recover_for`, default: the same as `for`.
    pub fn recover_for_nanos(&self) -> Nanos {
        self.recover_for
            .as_ref()
            .map_or(self.for_nanos(), Span::nanos)
    }

    /// The baseline window (defaults to the rule's window) and offset.
    pub fn baseline_span(&self) -> Option<(Option<&Span>, &Span)> {
        let baseline = self.baseline.as_ref()?;
        Some((baseline.window.as_ref().or(self.window()), &baseline.offset))
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateConfig {
    pub name: String,
    pub rules: Vec<String>,
    /// Defaults to the number of rules.
    pub min_green: Option<usize>,
    /// Defaults to red (no limit).
    pub worst: Option<Band>,
    #[serde(default)]
    pub actions_when_closed: Vec<ActionConfig>,
    #[serde(default)]
    pub notify: Vec<String>,
}

impl GateConfig {
    pub fn min_green(&self) -> usize {
        self.min_green.unwrap_or(self.rules.len())
    }

    pub fn worst(&self) -> Band {
        self.worst.unwrap_or(Band::Red)
    }
}

/// Every problem found in a config, each with its path.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config: {0}")]
    Parse(String),
    #[error("invalid config:\n{}", .0.join("\n"))]
    Invalid(Vec<String>),
}

impl Config {
    /// Loads the layered config: defaults, playbook (only when `files` is
    /// empty), files, then `TRIPGATE__` environment variables.
    pub fn load(files: &[PathBuf]) -> Result<Config, ConfigError> {
        Config::load_over(files.is_empty().then_some(PLAYBOOK_TOML), files)
    }

    /// Like `load`, with `rules` (an embedded rule set) as the layer under the files.
    pub fn load_over(rules: Option<&str>, files: &[PathBuf]) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULT_TOML));
        if let Some(rules) = rules {
            figment = figment.merge(Toml::string(rules));
        }
        for file in files {
            if !file.exists() {
                return Err(ConfigError::Parse(format!(
                    "{}: no such file",
                    file.display()
                )));
            }
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(Env::prefixed("TRIPGATE__").split("__"));
        Config::from_figment(figment)
    }

    /// Extracts and validates; used by `load` and by tests with their own layers.
    pub fn from_figment(figment: Figment) -> Result<Config, ConfigError> {
        let config: Config = figment.extract().map_err(|error| {
            let all: Vec<String> = error.into_iter().map(|e| e.to_string()).collect();
            ConfigError::Parse(all.join("\n"))
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Parses one TOML document over the embedded defaults (no env), as
    /// tests and examples do.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        Config::from_figment(Figment::from(Toml::string(DEFAULT_TOML)).merge(Toml::string(text)))
    }

    pub fn rule(&self, name: &str) -> Option<&RuleConfig> {
        self.rules.iter().find(|rule| rule.name == name)
    }
}

#[cfg(test)]
mod tests;
