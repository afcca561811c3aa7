//! Finds every problem in a config file, each with the line and column to fix.
//!
//! serde stops at the first error and cannot see cross-field rules, so the text is first
//! parsed into TOML's spanned document tree and walked against the known keys (the
//! tables below mirror the structs in `config.rs`): unknown keys (with a "did you
//! mean"), wrong types, out-of-range numbers, bad enum words, missing required keys,
//! then the rules that tie fields together (unique names, URLs, the ALB switch wiring).
//! Only a file with no problems goes on to serde. This module reads text and reports;
//! it builds no config and touches no file or network.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::ops::Range;
use std::path::Path;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::suggest::{closest, quoted_alternatives, quoted_list};
use super::{ConfigProblem, line_col};

/// Byte range in the config text.
type Span = Range<usize>;

/// The words `role` accepts (the serde names of `NodeRole`).
pub(super) const ROLES: &[&str] = &["general", "validator"];
/// The words `alb_switch.mode` accepts (the serde names of `SwitchMode`).
pub(super) const SWITCH_MODES: &[&str] = &["listener", "targets"];
/// The words `logs.follow` accepts (the serde names of `FollowBy`).
pub(super) const FOLLOW_MODES: &[&str] = &["live-tail", "poll"];

/// What a key's value must be.
#[derive(Debug, Clone, Copy)]
enum Kind {
    String,
    /// An integer in `min..=max`.
    Integer {
        min: i128,
        max: i128,
    },
    Boolean,
    /// A string that is one of these words.
    OneOf(&'static [&'static str]),
    Table,
    ArrayOfTables,
    /// A table with free keys and string values.
    StringMap,
    /// An array of strings.
    StringArray,
}

impl Kind {
    fn expected(self) -> String {
        match self {
            Self::String => "a string".into(),
            Self::Integer { .. } => "an integer".into(),
            Self::Boolean => "a boolean (`true` or `false`)".into(),
            Self::OneOf(words) => format!("a string ({})", quoted_alternatives(words)),
            Self::Table => "a table".into(),
            Self::ArrayOfTables => "an array of tables (`[[...]]`)".into(),
            Self::StringMap => "a table of strings".into(),
            Self::StringArray => "an array of strings".into(),
        }
    }
}

/// One known key of a table.
#[derive(Debug, Clone, Copy)]
struct Key {
    name: &'static str,
    kind: Kind,
    required: bool,
}

const fn optional(name: &'static str, kind: Kind) -> Key {
    Key {
        name,
        kind,
        required: false,
    }
}

const fn required(name: &'static str, kind: Kind) -> Key {
    Key {
        name,
        kind,
        required: true,
    }
}

const U32_MAX: i128 = u32::MAX as i128;
const U64_MAX: i128 = u64::MAX as i128;
const ANY_U64: Kind = Kind::Integer {
    min: 0,
    max: U64_MAX,
};
const POSITIVE_U64: Kind = Kind::Integer {
    min: 1,
    max: U64_MAX,
};

/// `Config`.
const ROOT_KEYS: &[Key] = &[
    optional("refresh_secs", POSITIVE_U64),
    optional("rpc_poll_secs", POSITIVE_U64),
    optional("quiet_refresh_secs", POSITIVE_U64),
    optional("quiet_rpc_poll_secs", POSITIVE_U64),
    optional("theme", Kind::String),
    optional("log_buffer_lines", POSITIVE_U64),
    optional("timezone", Kind::String),
    optional("audit_log", Kind::String),
    optional("quorum", Kind::Table),
    optional("metrics", Kind::Table),
    optional("logs", Kind::Table),
    optional("environments", Kind::ArrayOfTables),
];

/// `LogsSettings`.
const LOGS_KEYS: &[Key] = &[optional("follow", Kind::OneOf(FOLLOW_MODES))];

const PERCENT: Kind = Kind::Integer { min: 1, max: 100 };

/// `MetricThresholds`.
const METRICS_KEYS: &[Key] = &[
    optional("error_rate_warn_pct", PERCENT),
    optional("error_rate_critical_pct", PERCENT),
    optional("p95_warn_ms", POSITIVE_U64),
    optional("cpu_warn_pct", PERCENT),
    optional("memory_warn_pct", PERCENT),
    optional("waf_blocked_warn_pct", PERCENT),
    optional("queue_oldest_warn_secs", POSITIVE_U64),
    optional("db_free_storage_warn_gib", ANY_U64),
];

/// `QuorumThresholds`.
const QUORUM_KEYS: &[Key] = &[
    optional("max_lag_blocks", ANY_U64),
    optional("stall_window_secs", POSITIVE_U64),
    optional("min_blocks_in_window", ANY_U64),
    optional(
        "down_after_failures",
        Kind::Integer {
            min: 1,
            max: U32_MAX,
        },
    ),
    optional("head_age_warn_secs", POSITIVE_U64),
];

/// `Environment`.
const ENVIRONMENT_KEYS: &[Key] = &[
    required("name", Kind::String),
    optional("region", Kind::String),
    optional("aws_profile", Kind::String),
    optional("endpoint_url", Kind::String),
    optional("danger", Kind::Boolean),
    optional("read_only", Kind::Boolean),
    optional("redact", Kind::Boolean),
    optional("team", Kind::Table),
    optional("alarm_prefix", Kind::String),
    optional("clusters", Kind::ArrayOfTables),
];

/// `Team`.
const TEAM_KEYS: &[Key] = &[
    optional("lock_table", Kind::String),
    optional("audit_log_group", Kind::String),
    optional("lease_secs", Kind::Integer { min: 10, max: 3600 }),
];

/// `Cluster`.
const CLUSTER_KEYS: &[Key] = &[
    required("name", Kind::String),
    required("ecs_cluster", Kind::String),
    optional("quorum_nodes", Kind::ArrayOfTables),
    optional("alb_switch", Kind::Table),
    optional("log_groups", Kind::StringMap),
    optional("exec_commands", Kind::StringMap),
    optional("waf_web_acl", Kind::String),
    optional("rds_instances", Kind::StringArray),
    optional("sqs_queues", Kind::StringArray),
];

/// `QuorumNode`.
const QUORUM_NODE_KEYS: &[Key] = &[
    required("name", Kind::String),
    required("rpc_url", Kind::String),
    optional("role", Kind::OneOf(ROLES)),
    optional("service", Kind::String),
    optional("exec_command", Kind::String),
];

/// `AlbSwitch`.
const ALB_SWITCH_KEYS: &[Key] = &[
    optional("mode", Kind::OneOf(SWITCH_MODES)),
    optional("listener_arn", Kind::String),
    optional("rule_arn", Kind::String),
    optional("target_group_arn", Kind::String),
    required("nodes", Kind::StringMap),
    optional("max_lag_blocks", ANY_U64),
    optional("max_head_age_secs", POSITIVE_U64),
    optional(
        "consecutive_polls",
        Kind::Integer {
            min: 1,
            max: U32_MAX,
        },
    ),
    optional("min_peers", ANY_U64),
];

/// Every problem in `text`, in file order; empty when the text is a valid config.
/// A file with TOML syntax errors reports only those (its tree is not trustworthy).
pub(super) fn problems(text: &str, path: &Path) -> Vec<ConfigProblem> {
    let mut checker = Checker {
        text,
        path,
        problems: Vec::new(),
    };
    let (document, syntax_errors) = DeTable::parse_recoverable(text);
    if syntax_errors.is_empty() {
        checker.root(document.get_ref());
    } else {
        for error in syntax_errors {
            let span = error.span().unwrap_or(0..0);
            let mut message = format!("TOML syntax: {}", error.message().trim_end());
            // The parser does not say which key; the span does.
            if message.ends_with("duplicate key")
                && let Some(key) = text.get(span.clone())
                && !key.is_empty()
                && !key.contains('\n')
            {
                message = format!("{message} `{key}`");
            }
            checker.report(span, message);
        }
    }
    let mut problems = checker.problems;
    problems.sort_by_key(|p| (p.line, p.col));
    problems.dedup();
    problems
}

/// Walks the document and collects problems.
struct Checker<'a> {
    text: &'a str,
    path: &'a Path,
    problems: Vec<ConfigProblem>,
}

/// A quorum node as the ALB switch check needs it.
struct KnownNode<'t> {
    name: &'t str,
    is_validator: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Listener,
    Targets,
}

impl Checker<'_> {
    fn report(&mut self, span: Span, message: impl Into<String>) {
        let (line, col) = line_col(self.text, span.start);
        self.problems.push(ConfigProblem {
            path: self.path.to_path_buf(),
            line,
            col,
            message: message.into(),
        });
    }

    /// The top level.
    fn root(&mut self, root: &DeTable<'_>) {
        self.keys(root, &(0..0), "", ROOT_KEYS);
        for key in ["theme", "audit_log"] {
            self.non_empty(root, "", key);
        }
        if let Some((zone, span)) = string(root, "timezone")
            && let Err(e) = crate::clock::Zone::named(zone)
            && !zone.trim().eq_ignore_ascii_case("local")
        {
            self.report(span, format!("`timezone`: {e}"));
        }
        if let Some((quorum, span)) = table(root, "quorum") {
            self.keys(quorum, &span, "quorum", QUORUM_KEYS);
        }
        if let Some((metrics, span)) = table(root, "metrics") {
            self.metrics(metrics, &span);
        }
        if let Some((logs, span)) = table(root, "logs") {
            self.keys(logs, &span, "logs", LOGS_KEYS);
        }
        let mut names = HashMap::new();
        for (i, env, span) in tables(root, "environments") {
            let ctx = format!("environments[{i}]");
            self.environment(env, &span, &ctx);
            if let Some((name, name_span)) = string(env, "name") {
                self.unique(&mut names, name, name_span, "environment name", "");
            }
        }
    }

    fn environment(&mut self, env: &DeTable<'_>, span: &Span, ctx: &str) {
        self.keys(env, span, ctx, ENVIRONMENT_KEYS);
        for key in ["name", "region", "aws_profile", "alarm_prefix"] {
            self.non_empty(env, ctx, key);
        }
        self.http_url(env, ctx, "endpoint_url");
        if let Some((team, span)) = table(env, "team") {
            self.team(team, &span, &format!("{ctx}.team"));
        }
        let mut names = HashMap::new();
        for (i, cluster, span) in tables(env, "clusters") {
            self.cluster(cluster, &span, &format!("{ctx}.clusters[{i}]"));
            if let Some((name, name_span)) = string(cluster, "name") {
                let within = format!(" in `{ctx}`");
                self.unique(&mut names, name, name_span, "cluster name", &within);
            }
        }
    }

    fn metrics(&mut self, metrics: &DeTable<'_>, span: &Span) {
        self.keys(metrics, span, "metrics", METRICS_KEYS);
        let pct = |key| {
            metrics.get(key).and_then(|v| match v.get_ref() {
                DeValue::Integer(i) => i64::from_str_radix(i.as_str(), i.radix()).ok(),
                _ => None,
            })
        };
        if let (Some(warn), Some(critical)) =
            (pct("error_rate_warn_pct"), pct("error_rate_critical_pct"))
            && critical < warn
            && let Some(value) = metrics.get("error_rate_critical_pct")
        {
            self.report(
                value.span(),
                format!(
                    "`metrics.error_rate_critical_pct` ({critical}) must not be below \
                     `metrics.error_rate_warn_pct` ({warn})"
                ),
            );
        }
    }

    /// The CloudWatch resources of a cluster's request path: names CloudWatch takes.
    fn path_resources(&mut self, cluster: &DeTable<'_>, ctx: &str) {
        if let Some((name, span)) = string(cluster, "waf_web_acl")
            && !is_resource_name(name, 128, "-_")
        {
            self.report(
                span,
                format!(
                    "`{}` must be a WAF web ACL name (1 to 128 of A-Z a-z 0-9 - _), found `{name}`",
                    join(ctx, "waf_web_acl")
                ),
            );
        }
        for (key, what, max, extra) in [
            (
                "rds_instances",
                "an RDS instance identifier (1 to 63 of a-z A-Z 0-9 -, starting with a letter)",
                63,
                "-",
            ),
            (
                "sqs_queues",
                "an SQS queue name (1 to 80 of A-Z a-z 0-9 - _, `.fifo` at the end for FIFO)",
                80,
                "-_",
            ),
        ] {
            let Some(DeValue::Array(items)) = cluster.get(key).map(Spanned::get_ref) else {
                continue;
            };
            let mut seen = std::collections::HashSet::new();
            for (i, item) in items.iter().enumerate() {
                let DeValue::String(name) = item.get_ref() else {
                    continue;
                };
                let at = format!("{}[{i}]", join(ctx, key));
                let bare = if key == "sqs_queues" {
                    name.strip_suffix(".fifo").unwrap_or(name)
                } else {
                    name
                };
                let starts_ok = key != "rds_instances"
                    || bare.chars().next().is_some_and(|c| c.is_ascii_alphabetic());
                if !is_resource_name(bare, max, extra) || !starts_ok {
                    self.report(
                        item.span(),
                        format!("`{at}` must be {what}, found `{name}`"),
                    );
                } else if !seen.insert(name.to_string()) {
                    self.report(item.span(), format!("`{at}`: `{name}` is listed twice"));
                }
            }
        }
    }

    fn team(&mut self, team: &DeTable<'_>, span: &Span, ctx: &str) {
        self.keys(team, span, ctx, TEAM_KEYS);
        if let Some((name, span)) = string(team, "lock_table")
            && !is_table_name(name)
        {
            self.report(
                span,
                format!(
                    "`{}` must be a DynamoDB table name (3 to 255 of A-Z a-z 0-9 _ - .), found `{name}`",
                    join(ctx, "lock_table")
                ),
            );
        }
        if let Some((name, span)) = string(team, "audit_log_group")
            && !is_log_group_name(name)
        {
            self.report(
                span,
                format!(
                    "`{}` must be a CloudWatch Logs group name (1 to 512 of A-Z a-z 0-9 _ - . / #), found `{name}`",
                    join(ctx, "audit_log_group")
                ),
            );
        }
    }

    fn cluster(&mut self, cluster: &DeTable<'_>, span: &Span, ctx: &str) {
        self.keys(cluster, span, ctx, CLUSTER_KEYS);
        self.path_resources(cluster, ctx);
        for key in ["name", "ecs_cluster"] {
            self.non_empty(cluster, ctx, key);
        }
        let mut names = HashMap::new();
        let mut known = Vec::new();
        for (i, node, span) in tables(cluster, "quorum_nodes") {
            self.quorum_node(node, &span, &format!("{ctx}.quorum_nodes[{i}]"));
            if let Some((name, name_span)) = string(node, "name") {
                let within = format!(" in `{ctx}`");
                self.unique(&mut names, name, name_span, "quorum node name", &within);
                known.push(KnownNode {
                    name,
                    is_validator: string(node, "role").is_some_and(|(r, _)| r == "validator"),
                });
            }
        }
        if let Some((switch, span)) = table(cluster, "alb_switch") {
            self.alb_switch(switch, &span, &format!("{ctx}.alb_switch"), &known);
        }
        self.exec_commands(cluster, ctx);
    }

    fn quorum_node(&mut self, node: &DeTable<'_>, span: &Span, ctx: &str) {
        self.keys(node, span, ctx, QUORUM_NODE_KEYS);
        for key in ["name", "service"] {
            self.non_empty(node, ctx, key);
        }
        self.http_url(node, ctx, "rpc_url");
        if let Some((command, span)) = string(node, "exec_command") {
            self.exec_command(command, span.clone(), &join(ctx, "exec_command"));
            if !node.contains_key("service") {
                self.report(
                    span,
                    format!(
                        "`{}` needs `service` in `{ctx}`: the ECS service whose containers \
                         it runs in",
                        join(ctx, "exec_command")
                    ),
                );
            }
        }
    }

    /// `exec_commands`: a command per service, and none for a service a Quorum node's
    /// `exec_command` covers already.
    fn exec_commands(&mut self, cluster: &DeTable<'_>, ctx: &str) {
        let Some((commands, _)) = table(cluster, "exec_commands") else {
            return;
        };
        let by_node: Vec<(&str, String)> = tables(cluster, "quorum_nodes")
            .filter(|(_, node, _)| node.contains_key("exec_command"))
            .filter_map(|(i, node, _)| {
                let (service, _) = string(node, "service")?;
                Some((service, format!("{ctx}.quorum_nodes[{i}].exec_command")))
            })
            .collect();
        let at = format!("{ctx}.exec_commands");
        for (key, value) in commands {
            let service: &str = key.get_ref();
            let DeValue::String(command) = value.get_ref() else {
                continue; // reported by `keys`
            };
            self.exec_command(command, value.span(), &join(&at, service));
            if let Some((_, other)) = by_node.iter().find(|(s, _)| *s == service) {
                self.report(
                    key.span(),
                    format!(
                        "`{}` sets the command of `{service}` a second time (`{other}` sets \
                         it); keep one",
                        join(&at, service)
                    ),
                );
            }
        }
    }

    /// A command `exec` runs: one line of text, not blank.
    fn exec_command(&mut self, command: &str, span: Span, at: &str) {
        if command.trim().is_empty() {
            self.report(span, format!("`{at}` must not be empty"));
        } else if command.chars().any(char::is_control) {
            self.report(
                span,
                format!("`{at}` must be one line without control characters"),
            );
        }
    }

    fn alb_switch(
        &mut self,
        switch: &DeTable<'_>,
        span: &Span,
        ctx: &str,
        cluster_nodes: &[KnownNode<'_>],
    ) {
        self.keys(switch, span, ctx, ALB_SWITCH_KEYS);
        // A bad `mode` word is already reported; the mode-specific rules then say nothing.
        let mode = match switch.get("mode").map(Spanned::get_ref) {
            None => Some(Mode::Listener),
            Some(DeValue::String(word)) if word == "listener" => Some(Mode::Listener),
            Some(DeValue::String(word)) if word == "targets" => Some(Mode::Targets),
            Some(_) => None,
        };
        self.switch_members(switch, ctx, cluster_nodes, mode);
        match mode {
            Some(Mode::Listener) => {
                match (switch.get("listener_arn"), switch.get("rule_arn")) {
                    (None, None) => self.report(
                        span.clone(),
                        format!("listener mode needs `listener_arn` or `rule_arn` in `{ctx}`"),
                    ),
                    (Some(_), Some(rule)) => self.report(
                        rule.span(),
                        format!(
                            "`{ctx}` sets both `listener_arn` and `rule_arn`; \
                             listener mode switches exactly one of them"
                        ),
                    ),
                    _ => {}
                }
                self.elb_arn(switch, ctx, "listener_arn", "listener", "listener/");
                self.elb_arn(switch, ctx, "rule_arn", "listener rule", "listener-rule/");
                self.not_in_mode(switch, ctx, "target_group_arn", "targets");
            }
            Some(Mode::Targets) => {
                if !switch.contains_key("target_group_arn") {
                    self.report(
                        span.clone(),
                        format!("targets mode needs `target_group_arn` in `{ctx}`"),
                    );
                }
                self.elb_arn(
                    switch,
                    ctx,
                    "target_group_arn",
                    "target group",
                    "targetgroup/",
                );
                self.not_in_mode(switch, ctx, "listener_arn", "listener");
                self.not_in_mode(switch, ctx, "rule_arn", "listener");
            }
            None => {}
        }
    }

    /// `alb_switch.nodes`: general nodes of this cluster, at least two, each with a
    /// target of the shape the mode needs, no two with the same target.
    fn switch_members(
        &mut self,
        switch: &DeTable<'_>,
        ctx: &str,
        cluster_nodes: &[KnownNode<'_>],
        mode: Option<Mode>,
    ) {
        let Some((members, members_span)) = table(switch, "nodes") else {
            return;
        };
        let nodes_ctx = format!("{ctx}.nodes");
        if members.len() < 2 {
            self.report(
                members_span,
                format!(
                    "`{nodes_ctx}` must name at least two general nodes to switch between, \
                     found {}",
                    members.len()
                ),
            );
        }
        let mut targets: HashMap<&str, &str> = HashMap::new();
        for (key, value) in members {
            let name: &str = key.get_ref();
            match cluster_nodes.iter().find(|n| n.name == name) {
                None => {
                    let message = format!(
                        "`{nodes_ctx}` names `{name}`, which is not a quorum node of this \
                         cluster; {}",
                        node_hint(name, cluster_nodes)
                    );
                    self.report(key.span(), message);
                }
                Some(node) if node.is_validator => self.report(
                    key.span(),
                    format!(
                        "`{nodes_ctx}` names `{name}`, a validator; the ALB switch moves \
                         between general nodes only"
                    ),
                ),
                Some(_) => {}
            }
            let DeValue::String(target) = value.get_ref() else {
                continue; // reported by `keys`
            };
            let at = join(&nodes_ctx, name);
            match mode {
                Some(Mode::Listener) if !is_elb_arn(target, "targetgroup/") => self.report(
                    value.span(),
                    format!(
                        "`{at}` must be a target group ARN in listener mode \
                         (`arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID`), \
                         found `{target}`"
                    ),
                ),
                Some(Mode::Targets) if !is_switch_target(target) => self.report(
                    value.span(),
                    format!(
                        "`{at}` must be `IP:PORT` or `INSTANCE-ID:PORT` in targets mode \
                         (e.g. `10.0.1.10:8545` or `i-0123456789abcdef0:8545`), found `{target}`"
                    ),
                ),
                _ => {}
            }
            if let Some(first) = targets.get(target.as_ref()) {
                self.report(
                    value.span(),
                    format!("`{at}` has the same target as `{first}`; each node needs its own"),
                );
            } else {
                targets.insert(target, name);
            }
        }
    }

    /// Checks `table`'s keys against `keys`: unknown keys, value types, integer ranges,
    /// enum words, and missing required keys (reported at `span`, the table's header).
    fn keys(&mut self, table: &DeTable<'_>, span: &Span, ctx: &str, keys: &[Key]) {
        for (key, value) in table {
            let name: &str = key.get_ref();
            if let Some(known) = keys.iter().find(|k| k.name == name) {
                self.value(value, &join(ctx, name), known.kind);
                continue;
            }
            let names: Vec<&str> = keys.iter().map(|k| k.name).collect();
            let within = if ctx.is_empty() {
                String::new()
            } else {
                format!(" in `{ctx}`")
            };
            let hint = closest(name, &names).map_or_else(
                || format!("valid keys are {}", quoted_list(&names)),
                |near| format!("did you mean `{near}`?"),
            );
            self.report(key.span(), format!("unknown key `{name}`{within}; {hint}"));
        }
        for key in keys.iter().filter(|k| k.required) {
            if !table.contains_key(key.name) {
                let owner = if ctx.is_empty() { "the top level" } else { ctx };
                self.report(
                    span.clone(),
                    format!("`{owner}` is missing the required key `{}`", key.name),
                );
            }
        }
    }

    /// Checks one value against its kind; `at` is its dotted path.
    fn value(&mut self, value: &Spanned<DeValue<'_>>, at: &str, kind: Kind) {
        match (kind, value.get_ref()) {
            (Kind::String, DeValue::String(_))
            | (Kind::Boolean, DeValue::Boolean(_))
            | (Kind::Table, DeValue::Table(_)) => {}
            (Kind::Integer { min, max }, DeValue::Integer(integer)) => {
                let number = i128::from_str_radix(integer.as_str(), integer.radix()).ok();
                let message = match number {
                    Some(n) if n < min && min == 0 => {
                        Some(format!("`{at}` must not be negative, found {n}"))
                    }
                    Some(n) if n < min => Some(format!("`{at}` must be at least {min}, found {n}")),
                    Some(n) if n <= max => None,
                    _ => Some(format!("`{at}` must be at most {max}, found {integer}")),
                };
                if let Some(message) = message {
                    self.report(value.span(), message);
                }
            }
            (Kind::OneOf(words), DeValue::String(word)) => {
                if !words.contains(&word.as_ref()) {
                    self.report(
                        value.span(),
                        format!(
                            "`{at}` must be {}, found `{word}`",
                            quoted_alternatives(words)
                        ),
                    );
                }
            }
            (Kind::ArrayOfTables, DeValue::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if !matches!(item.get_ref(), DeValue::Table(_)) {
                        self.wrong_type(item, &format!("{at}[{i}]"), "a table");
                    }
                }
            }
            (Kind::StringArray, DeValue::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    if !matches!(item.get_ref(), DeValue::String(_)) {
                        self.wrong_type(item, &format!("{at}[{i}]"), "a string");
                    }
                }
            }
            (Kind::StringMap, DeValue::Table(map)) => {
                for (key, item) in map {
                    if !matches!(item.get_ref(), DeValue::String(_)) {
                        self.wrong_type(item, &join(at, key.get_ref()), "a string");
                    }
                }
            }
            _ => self.wrong_type(value, at, &kind.expected()),
        }
    }

    fn wrong_type(&mut self, value: &Spanned<DeValue<'_>>, at: &str, expected: &str) {
        let found = value.get_ref().type_str();
        let article = if found.starts_with(['a', 'e', 'i', 'o', 'u']) {
            "an"
        } else {
            "a"
        };
        self.report(
            value.span(),
            format!("`{at}` must be {expected}, found {article} {found}"),
        );
    }

    /// A string key, when present, must not be blank.
    fn non_empty(&mut self, table: &DeTable<'_>, ctx: &str, key: &str) {
        if let Some((text, span)) = string(table, key)
            && text.trim().is_empty()
        {
            self.report(span, format!("`{}` must not be empty", join(ctx, key)));
        }
    }

    /// A string key, when present, must be an http(s) URL.
    fn http_url(&mut self, table: &DeTable<'_>, ctx: &str, key: &str) {
        if let Some((url, span)) = string(table, key)
            && !is_http_url(url)
        {
            self.report(
                span,
                format!(
                    "`{}` must be an http:// or https:// URL, found `{url}`",
                    join(ctx, key)
                ),
            );
        }
    }

    /// An ELBv2 ARN key, when present, must name the right kind of resource.
    fn elb_arn(&mut self, table: &DeTable<'_>, ctx: &str, key: &str, what: &str, kind: &str) {
        if let Some((arn, span)) = string(table, key)
            && !is_elb_arn(arn, kind)
        {
            self.report(
                span,
                format!(
                    "`{}` must be a {what} ARN \
                     (`arn:aws:elasticloadbalancing:REGION:ACCOUNT:{kind}...`), found `{arn}`",
                    join(ctx, key)
                ),
            );
        }
    }

    /// A key that belongs to the other switch mode.
    fn not_in_mode(&mut self, table: &DeTable<'_>, ctx: &str, key: &str, mode: &str) {
        if let Some(value) = table.get(key) {
            self.report(
                value.span(),
                format!(
                    "`{}` is only used in {mode} mode; set `mode = \"{mode}\"` or remove it",
                    join(ctx, key)
                ),
            );
        }
    }

    /// Names must be unique within their scope: the second use is reported.
    fn unique<'t>(
        &mut self,
        seen: &mut HashMap<&'t str, Span>,
        name: &'t str,
        span: Span,
        what: &str,
        within: &str,
    ) {
        if name.trim().is_empty() {
            return; // reported as empty
        }
        if let Some(first) = seen.get(name) {
            let (line, _) = line_col(self.text, first.start);
            self.report(
                span,
                format!("duplicate {what} `{name}`{within} (first used on line {line})"),
            );
        } else {
            seen.insert(name, span);
        }
    }
}

/// `ctx.key`, quoting the key when it is not a bare TOML key.
fn join(ctx: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let key = if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if ctx.is_empty() {
        key
    } else {
        format!("{ctx}.{key}")
    }
}

/// "did you mean" for a node name, or the list of the cluster's nodes.
fn node_hint(name: &str, cluster_nodes: &[KnownNode<'_>]) -> String {
    let names: Vec<&str> = cluster_nodes.iter().map(|n| n.name).collect();
    if names.is_empty() {
        return "the cluster has no `quorum_nodes`".into();
    }
    closest(name, &names).map_or_else(
        || format!("its quorum nodes are {}", quoted_list(&names)),
        |near| format!("did you mean `{near}`?"),
    )
}

/// The string at `key`, if present and a string.
fn string<'t>(table: &'t DeTable<'_>, key: &str) -> Option<(&'t str, Span)> {
    let value = table.get(key)?;
    match value.get_ref() {
        DeValue::String(text) => Some((text.as_ref(), value.span())),
        _ => None,
    }
}

/// The table at `key`, if present and a table.
fn table<'t, 'i>(parent: &'t DeTable<'i>, key: &str) -> Option<(&'t DeTable<'i>, Span)> {
    let value = parent.get(key)?;
    match value.get_ref() {
        DeValue::Table(table) => Some((table, value.span())),
        _ => None,
    }
}

/// The tables of the array at `key` with their index and span (items that are not
/// tables are skipped: `keys` reports them).
fn tables<'t, 'i>(
    parent: &'t DeTable<'i>,
    key: &str,
) -> impl Iterator<Item = (usize, &'t DeTable<'i>, Span)> {
    let items: &[Spanned<DeValue<'i>>] = match parent.get(key).map(Spanned::get_ref) {
        Some(DeValue::Array(items)) => items,
        _ => &[],
    };
    items
        .iter()
        .enumerate()
        .filter_map(|(i, item)| match item.get_ref() {
            DeValue::Table(table) => Some((i, table, item.span())),
            _ => None,
        })
}

/// `http://host[:port][/path]` or `https://...`, with a host and a valid port.
fn is_http_url(url: &str) -> bool {
    if url.chars().any(char::is_whitespace) {
        return false;
    }
    let lower = url.to_ascii_lowercase();
    let Some(rest) = lower
        .strip_prefix("http://")
        .or_else(|| lower.strip_prefix("https://"))
    else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let (host, port) = if let Some(bracketed) = host_port.strip_prefix('[') {
        let Some((host, after)) = bracketed.split_once(']') else {
            return false;
        };
        if !after.is_empty() && !after.starts_with(':') {
            return false;
        }
        (host, after.strip_prefix(':'))
    } else {
        match host_port.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    !host.is_empty() && port.is_none_or(is_port)
}

/// DynamoDB's rule for table names.
/// 1 to `max` ASCII letters and digits and the characters of `extra`.
fn is_resource_name(name: &str, max: usize, extra: &str) -> bool {
    (1..=max).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

fn is_table_name(name: &str) -> bool {
    (3..=255).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c))
}

/// CloudWatch Logs' rule for log group names.
fn is_log_group_name(name: &str) -> bool {
    (1..=512).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-./#".contains(c))
}

fn is_port(text: &str) -> bool {
    text.parse::<u16>().is_ok_and(|port| port > 0)
}

/// `arn:PARTITION:elasticloadbalancing:REGION:ACCOUNT:<resource>...`.
fn is_elb_arn(arn: &str, resource: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    matches!(
        parts.as_slice(),
        ["arn", partition, "elasticloadbalancing", _, _, rest]
            if !partition.is_empty() && rest.len() > resource.len() && rest.starts_with(resource)
    )
}

/// A targets-mode node: `IPv4:PORT`, `[IPv6]:PORT` or `i-<8 or 17 hex>:PORT`.
fn is_switch_target(target: &str) -> bool {
    let Some((host, port)) = target.rsplit_once(':') else {
        return false;
    };
    let host_ok = host.parse::<Ipv4Addr>().is_ok()
        || host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .is_some_and(|h| h.parse::<Ipv6Addr>().is_ok())
        || is_instance_id(host);
    host_ok && is_port(port)
}

/// `i-` and 8 or 17 lowercase hex digits.
fn is_instance_id(text: &str) -> bool {
    text.strip_prefix("i-").is_some_and(|hex| {
        matches!(hex.len(), 8 | 17)
            && hex
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_urls() {
        for good in [
            "http://10.1.2.3:8545",
            "https://rpc.example.internal",
            "http://localhost:8545/",
            "HTTP://[::1]:8545/path?q=1",
            "http://user:pw@10.0.0.1:8545",
        ] {
            assert!(is_http_url(good), "{good}");
        }
        for bad in [
            "10.1.2.3:8545",
            "ws://10.1.2.3:8546",
            "http://",
            "http://:8545",
            "http://host:0",
            "http://host:99999",
            "http://host:port",
            "http://ho st",
            "http://[::1",
        ] {
            assert!(!is_http_url(bad), "{bad}");
        }
    }

    #[test]
    fn elb_arns() {
        let tg = "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:targetgroup/quorum-a/0123456789abcdef";
        assert!(is_elb_arn(tg, "targetgroup/"));
        assert!(!is_elb_arn(tg, "listener/"));
        assert!(is_elb_arn(
            "arn:aws:elasticloadbalancing:ap-northeast-1:123456789012:listener/app/internal/50dc6c495c0c9188/f2f7dc8efc522ab2",
            "listener/"
        ));
        assert!(!is_elb_arn(
            "arn:aws:elasticloadbalancing:...",
            "targetgroup/"
        ));
        assert!(!is_elb_arn("quorum-a", "targetgroup/"));
        assert!(!is_elb_arn(
            "arn:aws:elasticloadbalancing:r:1:targetgroup/",
            "targetgroup/"
        ));
    }

    #[test]
    fn switch_targets() {
        for good in [
            "10.1.2.3:8545",
            "i-0123abcd:8545",
            "i-0123456789abcdef0:8545",
            "[fd00::1]:8545",
        ] {
            assert!(is_switch_target(good), "{good}");
        }
        for bad in [
            "10.1.2.3",
            "10.1.2.300:8545",
            "i-0123:8545",
            "i-0123456789ABCDEF0:8545",
            "node:8545",
            "10.1.2.3:0",
            "fd00::1:8545",
        ] {
            assert!(!is_switch_target(bad), "{bad}");
        }
    }

    #[test]
    fn dotted_paths_quote_odd_keys() {
        assert_eq!(join("", "theme"), "theme");
        assert_eq!(join("a[0]", "general-1"), "a[0].general-1");
        assert_eq!(join("a", "x.y"), "a.\"x.y\"");
    }

    #[test]
    fn enum_words_match_the_model() {
        use crate::model::alb::SwitchMode;
        use crate::model::quorum::NodeRole;
        #[derive(serde::Deserialize)]
        struct Role {
            role: NodeRole,
        }
        #[derive(serde::Deserialize)]
        struct Mode {
            #[allow(dead_code)]
            mode: SwitchMode,
        }
        #[derive(serde::Deserialize)]
        struct Follow {
            #[allow(dead_code)]
            follow: crate::config::FollowBy,
        }
        for word in ROLES {
            let parsed: Role = toml::from_str(&format!("role = \"{word}\"")).expect("a role word");
            assert_eq!(parsed.role.as_str(), *word);
        }
        for word in SWITCH_MODES {
            assert!(toml::from_str::<Mode>(&format!("mode = \"{word}\"")).is_ok());
        }
        assert!(toml::from_str::<Mode>("mode = \"weights\"").is_err());
        for word in FOLLOW_MODES {
            assert!(toml::from_str::<Follow>(&format!("follow = \"{word}\"")).is_ok());
        }
    }
}
