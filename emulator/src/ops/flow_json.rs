//! Validation of a WhatsApp Flow JSON document (the `flowJson` blob of CreateWhatsAppFlow and
//! UpdateWhatsAppFlowAssets) the way Meta reports it: a list of errors, each
//! `<ERROR>: <message>`, with Meta's `$root/...` paths. An unparsable document is one error in
//! the list, never a failure of the request.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Map, Value};

/// Meta's component limits and AWS's publishable versions, from `fixtures/flow-limits.json`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowLimits {
    pub publishable: Publishable,
    screen: ScreenLimits,
    lengths: PerComponent<BTreeMap<String, usize>>,
    not_blank: NotBlank,
    options: PerComponent<OptionLimits>,
    enums: PerComponent<BTreeMap<String, Vec<String>>>,
}

#[derive(Debug, Deserialize)]
pub struct Publishable {
    pub versions: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScreenLimits {
    max_components: usize,
    max_of_kind: BTreeMap<String, usize>,
}

#[derive(Debug, Deserialize)]
struct PerComponent<T> {
    components: BTreeMap<String, T>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotBlank {
    from_version: String,
    components: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct OptionLimits {
    min: usize,
    max: usize,
    max_with_images: Option<usize>,
    title: usize,
    description: usize,
    metadata: usize,
}

/// The limits, read once from the embedded fixture.
pub fn limits() -> &'static FlowLimits {
    static LIMITS: OnceLock<FlowLimits> = OnceLock::new();
    LIMITS.get_or_init(|| {
        serde_json::from_str(include_str!("../../../fixtures/flow-limits.json"))
            .expect("fixtures/flow-limits.json is valid")
    })
}

/// Whether AWS publishes a Flow JSON of this version.
pub fn publishable(version: &str) -> bool {
    limits().publishable.versions.iter().any(|v| v == version)
}

/// Flow JSON versions Meta accepts.
pub const SUPPORTED_VERSIONS: &[&str] = &[
    "2.1", "3.0", "3.1", "4.0", "5.0", "5.1", "6.0", "6.1", "6.2", "6.3", "7.0", "7.1", "7.2",
    "7.3",
];
/// `data_api_version` values Meta accepts.
pub const DATA_API_VERSIONS: &[&str] = &["3.0"];

const COMPONENTS: &[&str] = &[
    "TextHeading",
    "TextSubheading",
    "TextBody",
    "TextCaption",
    "RichText",
    "Form",
    "TextInput",
    "TextArea",
    "CheckboxGroup",
    "RadioButtonsGroup",
    "ChipsSelector",
    "Dropdown",
    "DatePicker",
    "CalendarPicker",
    "OptIn",
    "Footer",
    "EmbeddedLink",
    "Image",
    "ImageCarousel",
    "PhotoPicker",
    "DocumentPicker",
    "NavigationList",
    "If",
    "Switch",
];
const ACTIONS: &[&str] = &["navigate", "complete", "data_exchange", "update_data", "open_url"];
const ACTION_KEYS: &[&str] =
    &["on-click-action", "on-select-action", "on-unselect-action", "on-change-action"];
const TOP_LEVEL: &[&str] = &["version", "data_api_version", "routing_model", "screens"];
const SCREEN_KEYS: &[&str] =
    &["id", "title", "terminal", "success", "data", "layout", "refresh_on_back", "sensitive"];
/// At most this many errors are reported (Meta stops early on broken documents too).
const MAX_ERRORS: usize = 50;

/// What validation learned about a Flow JSON document.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct FlowJsonReport {
    pub errors: Vec<String>,
    pub version: Option<String>,
    pub data_api_version: Option<String>,
}

/// Validates `bytes` as Flow JSON.
pub fn validate(bytes: &[u8]) -> FlowJsonReport {
    let mut v = Validator::default();
    let doc = match std::str::from_utf8(bytes)
        .map_err(|e| e.to_string())
        .and_then(|text| serde_json::from_str::<Value>(text).map_err(|e| e.to_string()))
    {
        Ok(doc) => doc,
        Err(e) => {
            v.push("INVALID_FLOW_JSON", format!("The Flow JSON is not valid JSON: {e}."));
            return v.report;
        }
    };
    let Some(root) = doc.as_object() else {
        v.push("INVALID_FLOW_JSON", "The Flow JSON must be a JSON object.".to_string());
        return v.report;
    };
    v.root(root);
    v.report.errors.truncate(MAX_ERRORS);
    v.report
}

#[derive(Default)]
struct Validator {
    report: FlowJsonReport,
    screen_ids: BTreeSet<String>,
    /// (screen id named by a navigate action, where).
    navigations: Vec<(String, String)>,
    uses_data_exchange: Vec<String>,
    /// Components of the screen being checked: in all, and by kind.
    on_screen: usize,
    kinds_on_screen: BTreeMap<String, usize>,
}

impl Validator {
    fn push(&mut self, error: &str, message: String) {
        if self.report.errors.len() < MAX_ERRORS {
            self.report.errors.push(format!("{error}: {message}"));
        }
    }

    fn missing(&mut self, property: &str, at: &str) {
        self.push(
            "MISSING_REQUIRED_PROPERTY",
            format!("The property \"{property}\" is required at \"{at}\"."),
        );
    }

    fn bad_value(&mut self, property: &str, at: &str, expected: &str) {
        self.push(
            "INVALID_PROPERTY_VALUE",
            format!("Invalid value found for property \"{property}\" at \"{at}\": {expected}."),
        );
    }

    fn unknown_properties(&mut self, obj: &Map<String, Value>, allowed: &[&str], at: &str) {
        for key in obj.keys().filter(|k| !allowed.contains(&k.as_str())) {
            self.push(
                "INVALID_PROPERTY",
                format!("The property \"{key}\" cannot be specified at \"{at}\"."),
            );
        }
    }

    fn root(&mut self, root: &Map<String, Value>) {
        let at = "$root";
        self.unknown_properties(root, TOP_LEVEL, at);
        match root.get("version") {
            None => self.missing("version", at),
            Some(Value::String(version)) if SUPPORTED_VERSIONS.contains(&version.as_str()) => {
                self.report.version = Some(version.clone());
            }
            Some(Value::String(version)) => self.push(
                "INVALID_FLOW_JSON_VERSION",
                format!(
                    "The Flow JSON version \"{version}\" is not supported. Supported versions: {}.",
                    SUPPORTED_VERSIONS.join(", ")
                ),
            ),
            Some(_) => self.bad_value("version", at, "expected a string such as \"7.2\""),
        }
        match root.get("data_api_version") {
            None => {}
            Some(Value::String(d)) if DATA_API_VERSIONS.contains(&d.as_str()) => {
                self.report.data_api_version = Some(d.clone());
            }
            Some(_) => self.bad_value(
                "data_api_version",
                at,
                &format!("expected one of {}", DATA_API_VERSIONS.join(", ")),
            ),
        }
        match root.get("screens") {
            None => self.missing("screens", at),
            Some(Value::Array(screens)) if screens.is_empty() => {
                self.bad_value("screens", at, "a Flow needs at least one screen")
            }
            Some(Value::Array(screens)) => self.screens(screens),
            Some(_) => self.bad_value("screens", at, "expected an array of screens"),
        }
        let has_data_api = root.contains_key("data_api_version");
        match root.get("routing_model") {
            None if has_data_api => self.missing("routing_model", at),
            None => {}
            Some(Value::Object(model)) => self.routing_model(model),
            Some(_) => self.bad_value("routing_model", at, "expected an object"),
        }
        for (target, at) in std::mem::take(&mut self.navigations) {
            if !self.screen_ids.contains(&target) {
                self.push(
                    "INVALID_NAVIGATION",
                    format!("The navigate action at \"{at}\" targets screen \"{target}\", which does not exist."),
                );
            }
        }
        if !has_data_api {
            for at in std::mem::take(&mut self.uses_data_exchange) {
                self.push(
                    "INVALID_ACTION",
                    format!(
                        "The data_exchange action at \"{at}\" needs an endpoint: set \"data_api_version\"."
                    ),
                );
            }
        }
    }

    fn screens(&mut self, screens: &[Value]) {
        let mut terminal_screens = 0;
        for (i, screen) in screens.iter().enumerate() {
            let at = format!("$root/screens/{i}");
            let Some(obj) = screen.as_object() else {
                self.bad_value("screens", &at, "expected a screen object");
                continue;
            };
            self.unknown_properties(obj, SCREEN_KEYS, &at);
            let id = match obj.get("id") {
                None => {
                    self.missing("id", &at);
                    None
                }
                Some(Value::String(id)) if is_screen_id(id) => Some(id.clone()),
                Some(Value::String(id)) if id == "SUCCESS" => {
                    self.bad_value("id", &at, "\"SUCCESS\" is a reserved screen id");
                    None
                }
                Some(_) => {
                    self.bad_value("id", &at, "screen ids contain only letters and underscores");
                    None
                }
            };
            if let Some(id) = &id
                && !self.screen_ids.insert(id.clone())
            {
                self.push(
                    "DUPLICATE_SCREEN_ID",
                    format!("The screen id \"{id}\" is used by more than one screen."),
                );
            }
            for flag in ["terminal", "success", "refresh_on_back"] {
                if obj.get(flag).is_some_and(|v| !v.is_boolean()) {
                    self.bad_value(flag, &at, "expected a boolean");
                }
            }
            if obj.get("title").is_some_and(|v| !v.is_string()) {
                self.bad_value("title", &at, "expected a string");
            }
            let terminal = obj.get("terminal").and_then(Value::as_bool).unwrap_or(false);
            if terminal {
                terminal_screens += 1;
            }
            self.on_screen = 0;
            self.kinds_on_screen.clear();
            let footers = match obj.get("layout") {
                None => {
                    self.missing("layout", &at);
                    continue;
                }
                Some(layout) => self.layout(layout, &format!("{at}/layout")),
            };
            self.screen_counts(id.as_deref().unwrap_or("?"), &at);
            if terminal && footers == 0 {
                self.push(
                    "MISSING_FOOTER",
                    format!(
                        "The terminal screen \"{}\" must have a Footer component.",
                        id.as_deref().unwrap_or("?")
                    ),
                );
            }
        }
        if terminal_screens == 0 {
            self.push(
                "MISSING_TERMINAL_SCREEN",
                "A Flow needs at least one terminal screen (\"terminal\": true).".to_string(),
            );
        }
    }

    /// Checks a layout; returns how many Footers it holds.
    fn layout(&mut self, layout: &Value, at: &str) -> usize {
        let Some(obj) = layout.as_object() else {
            self.bad_value("layout", at, "expected an object");
            return 0;
        };
        match obj.get("type") {
            None => self.missing("type", at),
            Some(Value::String(t)) if t == "SingleColumnLayout" => {}
            Some(_) => self.bad_value("type", at, "expected \"SingleColumnLayout\""),
        }
        match obj.get("children") {
            None => {
                self.missing("children", at);
                0
            }
            Some(Value::Array(children)) => {
                let footers = self.components(children, &format!("{at}/children"));
                if footers > 1 {
                    self.push(
                        "INVALID_LAYOUT",
                        format!(
                            "Only one Footer is allowed per screen, found {footers} at \"{at}\"."
                        ),
                    );
                }
                footers
            }
            Some(_) => {
                self.bad_value("children", at, "expected an array of components");
                0
            }
        }
    }

    /// Checks components (recursing into Form, If and Switch); returns the Footers found.
    fn components(&mut self, list: &[Value], at: &str) -> usize {
        let mut footers = 0;
        let mut names = HashSet::new();
        for (i, component) in list.iter().enumerate() {
            let at = format!("{at}/{i}");
            let Some(obj) = component.as_object() else {
                self.bad_value("children", &at, "expected a component object");
                continue;
            };
            let kind = match obj.get("type") {
                None => {
                    self.missing("type", &at);
                    continue;
                }
                Some(Value::String(t)) if COMPONENTS.contains(&t.as_str()) => t.as_str(),
                Some(_) => {
                    self.bad_value("type", &at, "not a Flow component");
                    continue;
                }
            };
            self.on_screen += 1;
            *self.kinds_on_screen.entry(kind.to_string()).or_default() += 1;
            self.component_limits(kind, obj, &at);
            if kind == "Footer" {
                footers += 1;
                if !obj.get("label").is_some_and(Value::is_string) {
                    self.missing("label", &at);
                }
                if !obj.contains_key("on-click-action") {
                    self.missing("on-click-action", &at);
                }
            }
            if let Some(Value::String(name)) = obj.get("name")
                && !names.insert(name.clone())
            {
                self.push(
                    "DUPLICATE_COMPONENT_NAME",
                    format!("The component name \"{name}\" is used twice at \"{at}\"."),
                );
            }
            for key in ACTION_KEYS {
                if let Some(action) = obj.get(*key) {
                    self.action(action, &format!("{at}/{key}"));
                }
            }
            if let Some(Value::Array(children)) = obj.get("children") {
                footers += self.components(children, &format!("{at}/children"));
            }
            for branch in ["then", "else"] {
                if let Some(Value::Array(children)) = obj.get(branch) {
                    footers += self.components(children, &format!("{at}/{branch}"));
                }
            }
            if let Some(Value::Object(cases)) = obj.get("cases") {
                for (case, children) in cases {
                    if let Some(children) = children.as_array() {
                        footers += self.components(children, &format!("{at}/cases/{case}"));
                    }
                }
            }
        }
        footers
    }

    /// A screen's component counts against Meta's limits.
    fn screen_counts(&mut self, screen: &str, at: &str) {
        let limits = &limits().screen;
        if self.on_screen > limits.max_components {
            self.push(
                "INVALID_LAYOUT",
                format!(
                    "The screen \"{screen}\" has {} components; a screen can have at most {} (at \"{at}\").",
                    self.on_screen, limits.max_components
                ),
            );
        }
        for (kind, max) in &limits.max_of_kind {
            let count = self.kinds_on_screen.get(kind).copied().unwrap_or(0);
            if count > *max {
                self.push(
                    "INVALID_LAYOUT",
                    format!(
                        "The screen \"{screen}\" has {count} {kind} components; a screen can have at most {max} (at \"{at}\")."
                    ),
                );
            }
        }
    }

    /// One component's properties against Meta's limits: lengths, blank texts (from 6.0),
    /// enumerations and the options of its data source.
    fn component_limits(&mut self, kind: &str, obj: &Map<String, Value>, at: &str) {
        let limits = limits();
        for (property, max) in limits.lengths.components.get(kind).into_iter().flatten() {
            if let Some(text) = obj.get(property).and_then(static_text)
                && text.chars().count() > *max
            {
                self.bad_value(
                    property,
                    at,
                    &format!("{} characters; the limit for {kind} is {max}", text.chars().count()),
                );
            }
        }
        let from = &limits.not_blank.from_version;
        if self.report.version.as_deref().is_some_and(|v| !version_below(v, from)) {
            for property in limits.not_blank.components.get(kind).into_iter().flatten() {
                if obj.get(property).and_then(static_text).is_some_and(|t| t.trim().is_empty()) {
                    self.bad_value(property, at, "an empty or blank value is not accepted");
                }
            }
        }
        for (property, allowed) in limits.enums.components.get(kind).into_iter().flatten() {
            if let Some(value) = obj.get(property).and_then(Value::as_str)
                && !value.starts_with("${")
                && !allowed.iter().any(|a| a == value)
            {
                self.bad_value(property, at, &format!("expected one of {}", allowed.join(", ")));
            }
        }
        if let (Some(rule), Some(Value::Array(options))) =
            (limits.options.components.get(kind), obj.get("data-source"))
        {
            self.options(kind, rule, options, &format!("{at}/data-source"));
        }
    }

    fn options(&mut self, kind: &str, rule: &OptionLimits, options: &[Value], at: &str) {
        let images = options.iter().any(|o| o.get("image").is_some());
        let max = if images { rule.max_with_images.unwrap_or(rule.max) } else { rule.max };
        if options.len() < rule.min || options.len() > max {
            self.bad_value(
                "data-source",
                at,
                &format!(
                    "{} options; {kind} takes {} to {max}{}",
                    options.len(),
                    rule.min,
                    if images && rule.max_with_images.is_some() { " with images" } else { "" }
                ),
            );
        }
        let mut ids = HashSet::new();
        for (i, option) in options.iter().enumerate() {
            let at = format!("{at}/{i}");
            if let Some(id) = option.get("id").and_then(Value::as_str)
                && !ids.insert(id)
            {
                self.bad_value("id", &at, &format!("the option id \"{id}\" is used twice"));
            }
            for (property, max) in [
                ("title", rule.title),
                ("description", rule.description),
                ("metadata", rule.metadata),
            ] {
                if let Some(text) = option.get(property).and_then(static_text)
                    && text.chars().count() > max
                {
                    self.bad_value(
                        property,
                        &at,
                        &format!(
                            "{} characters; the limit for a {kind} option is {max}",
                            text.chars().count()
                        ),
                    );
                }
            }
        }
    }

    fn action(&mut self, action: &Value, at: &str) {
        let Some(obj) = action.as_object() else {
            self.bad_value("action", at, "expected an object");
            return;
        };
        match obj.get("name").and_then(Value::as_str) {
            None => self.missing("name", at),
            Some(name) if !ACTIONS.contains(&name) => {
                self.bad_value("name", at, &format!("expected one of {}", ACTIONS.join(", ")))
            }
            Some("navigate") => {
                match obj.get("next").and_then(|n| n.get("name")).and_then(Value::as_str) {
                    Some(target) => self.navigations.push((target.to_string(), at.to_string())),
                    None => self.missing("next", at),
                }
            }
            Some("data_exchange") => self.uses_data_exchange.push(at.to_string()),
            Some(_) => {}
        }
    }

    fn routing_model(&mut self, model: &Map<String, Value>) {
        let mut unknown = BTreeSet::new();
        for (from, targets) in model {
            if !self.screen_ids.contains(from) {
                unknown.insert(from.clone());
            }
            let Some(targets) = targets.as_array() else {
                self.bad_value(from, "$root/routing_model", "expected an array of screen ids");
                continue;
            };
            for target in targets {
                match target.as_str() {
                    Some(t) if self.screen_ids.contains(t) => {}
                    Some(t) => {
                        unknown.insert(t.to_string());
                    }
                    None => self.bad_value(from, "$root/routing_model", "expected screen ids"),
                }
            }
        }
        if !unknown.is_empty() {
            let list: Vec<String> = unknown.into_iter().collect();
            self.push(
                "INVALID_ROUTING_MODEL",
                format!("Invalid screens found in the routing model: {}.", list.join(", ")),
            );
        }
        let missing: Vec<&str> = self
            .screen_ids
            .iter()
            .filter(|id| !model.contains_key(id.as_str()))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            let message = format!(
                "Following screens are missing in the routing model: {}.",
                missing.join(", ")
            );
            self.push("INVALID_ROUTING_MODEL", message);
        }
    }
}

/// A property's text as written (a string, or markdown lines joined), unless it is dynamic.
fn static_text(v: &Value) -> Option<String> {
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Array(lines) => {
            lines.iter().filter_map(Value::as_str).collect::<Vec<_>>().join("\n")
        }
        _ => return None,
    };
    (!text.trim_start().starts_with("${")).then_some(text)
}

/// Whether `version` (`7.2`) comes before `other` (`6.0`).
fn version_below(version: &str, other: &str) -> bool {
    let parse = |v: &str| -> (u32, u32) {
        let (major, minor) = v.split_once('.').unwrap_or((v, "0"));
        (major.parse().unwrap_or(0), minor.parse().unwrap_or(0))
    };
    parse(version) < parse(other)
}

/// Meta: a screen id is letters and underscores, and `SUCCESS` is reserved.
fn is_screen_id(id: &str) -> bool {
    !id.is_empty() && id != "SUCCESS" && id.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(doc: Value) -> Vec<String> {
        validate(doc.to_string().as_bytes()).errors
    }

    fn screen(id: &str, terminal: bool, children: Value) -> Value {
        json!({ "id": id, "title": id, "terminal": terminal,
                "layout": { "type": "SingleColumnLayout", "children": children } })
    }

    fn footer(action: Value) -> Value {
        json!({ "type": "Footer", "label": "Go", "on-click-action": action })
    }

    #[test]
    fn a_minimal_flow_is_valid() {
        let report = validate(
            json!({ "version": "7.2", "screens": [
                screen("WELCOME", true, json!([footer(json!({"name": "complete", "payload": {}}))]))
            ]})
            .to_string()
            .as_bytes(),
        );
        assert_eq!(report.errors, Vec::<String>::new());
        assert_eq!(report.version.as_deref(), Some("7.2"));
    }

    #[test]
    fn broken_documents_are_reported_not_failed() {
        let errors = validate(b"{not json").errors;
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("INVALID_FLOW_JSON: The Flow JSON is not valid JSON"));
        assert_eq!(validate(&[0xff, 0xfe]).errors.len(), 1);
        assert!(check(json!([1])).iter().any(|e| e.contains("must be a JSON object")));
    }

    #[test]
    fn structure_rules() {
        let errors = check(json!({ "version": "1.0", "screens": [
            screen("A", false, json!([footer(json!({"name": "navigate", "next": {"type": "screen", "name": "NOPE"}}))])),
            screen("A", false, json!([{ "type": "Blink" }])),
        ], "extra": 1 }));
        let joined = errors.join("\n");
        for needle in [
            "INVALID_PROPERTY: The property \"extra\" cannot be specified at \"$root\".",
            "INVALID_FLOW_JSON_VERSION",
            "DUPLICATE_SCREEN_ID",
            "Invalid value found for property \"type\" at \"$root/screens/1/layout/children/0\"",
            "MISSING_TERMINAL_SCREEN",
            "INVALID_NAVIGATION",
        ] {
            assert!(joined.contains(needle), "{needle} not in\n{joined}");
        }
    }

    #[test]
    fn routing_model_references_are_checked() {
        let errors = check(json!({ "version": "7.2", "data_api_version": "3.0",
            "routing_model": { "A": ["GHOST"] },
            "screens": [
                screen("A", false, json!([footer(json!({"name": "data_exchange", "payload": {}}))])),
                screen("B", true, json!([footer(json!({"name": "complete", "payload": {}}))])),
            ] }));
        assert_eq!(
            errors,
            vec![
                "INVALID_ROUTING_MODEL: Invalid screens found in the routing model: GHOST.",
                "INVALID_ROUTING_MODEL: Following screens are missing in the routing model: B.",
            ]
        );
    }
}
