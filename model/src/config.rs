//! Configuration: schema, layering and validation (contract section 6).
//!
//! Layers, later wins: the embedded `config/default.toml`; the embedded
//! playbook rules `config/playbook.toml` when no file is given; each
//! `--config` file in order; `TRIPGATE__SECTION__KEY` environment variables.
//! Unknown fields are errors, and every semantic error is reported at once with
//! its path.

use std::collections::{BTreeMap, HashSet};
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
pub use actions::{ActionsSettings, AdminConfig};
pub use kafka::{ClientSettings, ClientValue, KafkaConfig, TopicsConfig};

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

/// Where transitions are sent. `kind` (or `type`) may be left out when it
/// is clear: a `secret` means a signed webhook, a hooks.slack.com URL Slack.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "snake_case",
    deny_unknown_fields,
    try_from = "NotifierTable"
)]
pub enum NotifierConfig {
    /// A Slack incoming webhook.
    Slack {
        url: Sensitive,
        #[serde(default = "default_timeout")]
        timeout: Span,
        #[serde(default = "default_retries")]
        retries: u32,
    },
    /// A generic webhook signed per Standard Webhooks.
    Webhook {
        url: Sensitive,
        /// `whsec_` followed by the base64 key, as Standard Webhooks writes it.
        secret: Sensitive,
        #[serde(default = "default_timeout")]
        timeout: Span,
        #[serde(default = "default_retries")]
        retries: u32,
    },
}

/// A `[notifier.NAME]` table as written, before its kind is decided.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NotifierTable {
    #[serde(alias = "type")]
    kind: Option<String>,
    url: Sensitive,
    secret: Option<Sensitive>,
    #[serde(default = "default_timeout")]
    timeout: Span,
    #[serde(default = "default_retries")]
    retries: u32,
}

impl TryFrom<NotifierTable> for NotifierConfig {
    type Error = String;

    fn try_from(table: NotifierTable) -> Result<NotifierConfig, String> {
        let kind =
            match table.kind.as_deref() {
                Some(kind) => kind.to_string(),
                None if table.secret.is_some() => "webhook".to_string(),
                None if table.url.expose().contains("hooks.slack.com") => "slack".to_string(),
                None => return Err(
                    "cannot tell the notifier's kind: add kind = \"slack\" or kind = \"webhook\""
                        .into(),
                ),
            };
        let NotifierTable {
            url,
            secret,
            timeout,
            retries,
            ..
        } = table;
        match (kind.as_str(), secret) {
            ("slack", None) => Ok(NotifierConfig::Slack {
                url,
                timeout,
                retries,
            }),
            ("slack", Some(_)) => {
                Err("a slack notifier takes no secret (Slack signs nothing)".into())
            }
            ("webhook", Some(secret)) => Ok(NotifierConfig::Webhook {
                url,
                secret,
                timeout,
                retries,
            }),
            ("webhook", None) => {
                Err("a webhook notifier needs secret = \"whsec_...\" to sign with".into())
            }
            (other, _) => Err(format!(
                "unknown notifier kind {other:?}: use \"slack\" or \"webhook\""
            )),
        }
    }
}

fn default_timeout() -> Span {
    Span::parse("5s").expect("constant duration")
}

fn default_retries() -> u32 {
    3
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

    /// Checks everything serde cannot, collecting every error.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut errors = Vec::new();
        let tick = self.pipeline.tick.nanos();
        if tick <= 0 {
            errors.push("pipeline.tick: must be greater than 0".to_string());
        }
        if self.pipeline.max_keys == 0 {
            errors.push("pipeline.max_keys: must be at least 1".to_string());
        }
        let multiple_of_tick = |span: &Span, path: String, errors: &mut Vec<String>| {
            if tick > 0 && span.nanos() % tick != 0 {
                errors.push(format!(
                    "{path}: {span} is not a whole multiple of pipeline.tick ({})",
                    self.pipeline.tick
                ));
            }
        };
        let mut names = HashSet::new();
        for (index, rule) in self.rules.iter().enumerate() {
            let at = format!("rule[{index}] ({})", rule.name);
            validate_name(&rule.name, &format!("{at}.name"), &mut errors);
            if !names.insert(rule.name.as_str()) {
                errors.push(format!(
                    "{at}.name: another rule is already named {:?}",
                    rule.name
                ));
            }
            let kind = rule.kpi.kind();
            if !rule.kpi.scopes().contains(&rule.scope) {
                let allowed: Vec<&str> = rule.kpi.scopes().iter().map(|s| s.as_str()).collect();
                errors.push(format!(
                    "{at}.scope: {} has no scope {}; use one of {}",
                    rule.kpi,
                    rule.scope,
                    allowed.join(", ")
                ));
            }
            if !rule.stat.valid_for(kind) {
                let hint = if kind == KpiKind::Distribution {
                    "count, mean, p50, p90, p95 or p99"
                } else {
                    "value"
                };
                errors.push(format!(
                    "{at}.stat: {} of {} is not available; use {hint}",
                    rule.stat.as_str(),
                    rule.kpi
                ));
            }
            match (&rule.window, kind) {
                (None, KpiKind::Ratio | KpiKind::Distribution) => {
                    errors.push(format!("{at}.window: required for {}", rule.kpi))
                }
                (Some(window), KpiKind::Ratio | KpiKind::Distribution) => {
                    if window.nanos() <= 0 {
                        errors.push(format!("{at}.window: must be greater than 0"));
                    }
                    multiple_of_tick(window, format!("{at}.window"), &mut errors);
                }
                _ => {}
            }
            for (band, condition) in [("yellow", &rule.yellow), ("red", &rule.red)] {
                if let Some(condition) = condition {
                    match condition.threshold() {
                        Ok(threshold) => {
                            if let Threshold::AboveBaselineBy(r) | Threshold::BelowBaselineBy(r) =
                                threshold
                            {
                                if !r.is_finite() || r < 0.0 {
                                    errors.push(format!(
                                        "{at}.{band}: the ratio must be finite and at least 0"
                                    ));
                                }
                            }
                        }
                        Err(problem) => errors.push(format!("{at}.{band}: {problem}")),
                    }
                }
            }
            if rule.needs_baseline() && rule.baseline.is_none() {
                errors.push(format!(
                    "{at}.baseline: required by *_baseline_by (baseline = {{ offset = \"1d\" }})"
                ));
            }
            if let Some(baseline) = &rule.baseline {
                multiple_of_tick(
                    &baseline.offset,
                    format!("{at}.baseline.offset"),
                    &mut errors,
                );
                if baseline.offset.nanos() <= 0 {
                    errors.push(format!("{at}.baseline.offset: must be greater than 0"));
                }
                if let Some(window) = &baseline.window {
                    multiple_of_tick(window, format!("{at}.baseline.window"), &mut errors);
                }
            }
            if let Some(span) = &rule.for_ {
                multiple_of_tick(span, format!("{at}.for"), &mut errors);
            }
            if let Some(span) = &rule.recover_for {
                multiple_of_tick(span, format!("{at}.recover_for"), &mut errors);
            }
            for notifier in &rule.notify {
                if !self.notifiers.contains_key(notifier) {
                    errors.push(format!(
                        "{at}.notify: no [notifier.{notifier}] is configured"
                    ));
                }
            }
        }
        let mut gate_names = HashSet::new();
        for (index, gate) in self.gates.iter().enumerate() {
            let at = format!("gate[{index}] ({})", gate.name);
            validate_name(&gate.name, &format!("{at}.name"), &mut errors);
            if !gate_names.insert(gate.name.as_str()) {
                errors.push(format!(
                    "{at}.name: another gate is already named {:?}",
                    gate.name
                ));
            }
            if gate.rules.is_empty() {
                errors.push(format!("{at}.rules: a gate needs at least one rule"));
            }
            for member in &gate.rules {
                match self.rule(member) {
                    None => errors.push(format!("{at}.rules: no rule named {member:?}")),
                    Some(rule) if rule.scope != ScopeDim::Global => errors.push(format!(
                        "{at}.rules: {member:?} has scope {}; gates take rules of scope global only",
                        rule.scope
                    )),
                    Some(_) => {}
                }
            }
            if gate.min_green() > gate.rules.len() {
                errors.push(format!(
                    "{at}.min_green: {} is more than the gate's {} rules",
                    gate.min_green(),
                    gate.rules.len()
                ));
            }
            for notifier in &gate.notify {
                if !self.notifiers.contains_key(notifier) {
                    errors.push(format!(
                        "{at}.notify: no [notifier.{notifier}] is configured"
                    ));
                }
            }
        }
        self.kafka.validate(&mut errors);
        self.validate_actions(&mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(errors))
        }
    }
}

fn validate_name(name: &str, path: &str, errors: &mut Vec<String>) {
    let valid = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if !valid {
        errors.push(format!(
            "{path}: {name:?} must be non-empty and use only a-z, 0-9, _ and -"
        ));
    }
}

#[cfg(test)]
mod tests;
