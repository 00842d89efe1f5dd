//! Checking a template message against the stored template at send time, as Meta does: the
//! template must exist in that language (132001), be APPROVED (paused 132015, disabled 132016),
//! and receive exactly the parameters it declares (132000 for a count, 132012 for a format).

use std::sync::OnceLock;

use regex::Regex;
use serde_json::Value;

use super::errors::MetaError;
use crate::state::{Template, TemplateStatus, Waba};

/// Placeholders `{{1}}` or `{{first_name}}` in a template text.
pub fn placeholders(text: &str) -> Vec<String> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| Regex::new(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}").expect("regex"));
    re.captures_iter(text).map(|c| c[1].to_string()).collect()
}

/// The error of a parameter Meta refuses for its content: `(#132018)` from Graph API v23 on,
/// `(#100) Invalid parameter` before (both are what apps report seeing).
fn parameter_error(api_major: u32, details: String) -> MetaError {
    MetaError::with_details(if api_major >= 23 { 132018 } else { 100 }, details)
}

/// The template a send names, checked; returns it. `api` is the major version of the send's
/// `metaApiVersion` (some errors changed code in v23).
pub fn check_send<'w>(
    waba: &'w Waba,
    message: &Value,
    api: u32,
) -> Result<&'w Template, MetaError> {
    let name = message["name"].as_str().unwrap_or_default();
    let language = message["language"]["code"].as_str().unwrap_or_default();
    let Some(template) = waba.templates.iter().find(|t| t.name == name && t.language == language)
    else {
        return Err(MetaError::with_details(
            132001,
            format!("template name ({name}) does not exist in {language}"),
        ));
    };
    match template.status {
        TemplateStatus::Approved => {}
        TemplateStatus::Paused => {
            return Err(MetaError::with_details(
                132015,
                format!("Template {name} ({language}) is paused due to low quality."),
            ));
        }
        TemplateStatus::Disabled => {
            return Err(MetaError::with_details(
                132016,
                format!("Template {name} ({language}) is disabled."),
            ));
        }
        other => {
            return Err(MetaError::with_details(
                132001,
                format!("template name ({name}) in {language} is {other}, not APPROVED"),
            ));
        }
    }
    let named = template.definition["parameter_format"].as_str() == Some("NAMED");
    let sent = message["components"].as_array().cloned().unwrap_or_default();
    let sent_of = |kind: &str| -> Vec<&Value> {
        sent.iter().filter(|c| c["type"].as_str() == Some(kind)).collect()
    };
    for component in template.definition["components"].as_array().into_iter().flatten() {
        let kind = component["type"].as_str().unwrap_or_default().to_ascii_lowercase();
        match kind.as_str() {
            "body" | "header" => {
                let given: Vec<&Value> = sent_of(&kind)
                    .iter()
                    .flat_map(|c| c["parameters"].as_array().into_iter().flatten())
                    .collect();
                let format = component["format"].as_str().unwrap_or("TEXT");
                if kind == "header" && format != "TEXT" {
                    check_media_header(name, format, &given)?;
                    continue;
                }
                let expected = placeholders(component["text"].as_str().unwrap_or_default());
                check_parameters(name, &kind, &expected, &given, named, api)?;
                if kind == "body" && super::authentication::is_authentication(&template.definition)
                {
                    check_code(name, &given, api)?;
                }
            }
            "buttons" => {
                for (index, button) in
                    component["buttons"].as_array().into_iter().flatten().enumerate()
                {
                    let given: Vec<&Value> = sent_of("button")
                        .into_iter()
                        .filter(|c| index_of(c) == Some(index))
                        .flat_map(|c| c["parameters"].as_array().into_iter().flatten())
                        .collect();
                    if button["type"].as_str() == Some("COPY_CODE") {
                        check_coupon(name, index, &given, api)?;
                        continue;
                    }
                    let expected = placeholders(button["url"].as_str().unwrap_or_default());
                    if button["type"].as_str() != Some("URL") || expected.is_empty() {
                        continue;
                    }
                    let at = format!("button {index}");
                    check_parameters(name, &at, &expected, &given, false, api)?;
                }
            }
            _ => {}
        }
    }
    // Parameters for a component the template does not have.
    for c in &sent {
        let kind = c["type"].as_str().unwrap_or_default();
        let has = template.definition["components"].as_array().into_iter().flatten().any(|t| {
            let t = t["type"].as_str().unwrap_or_default().to_ascii_lowercase();
            t == kind || (kind == "button" && t == "buttons")
        });
        let count = c["parameters"].as_array().map(Vec::len).unwrap_or(0);
        if !has && count > 0 {
            return Err(MetaError::with_details(
                132000,
                format!(
                    "template {name} has no {kind} component, but {count} parameter(s) were given for it"
                ),
            ));
        }
    }
    Ok(template)
}

fn index_of(c: &Value) -> Option<usize> {
    match &c["index"] {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64().map(|n| n as usize),
        _ => None,
    }
}

/// An authentication template's code (its body parameter): at most 15 characters.
fn check_code(name: &str, given: &[&Value], api: u32) -> Result<(), MetaError> {
    let code = given.first().and_then(|p| p["text"].as_str()).unwrap_or_default();
    let length = code.chars().count();
    if length > super::authentication::CODE_MAX {
        return Err(parameter_error(
            api,
            format!(
                "template {name}: the one-time password has {length} characters; the limit is {}",
                super::authentication::CODE_MAX
            ),
        ));
    }
    Ok(())
}

/// A coupon code template's COPY_CODE button takes one `coupon_code` parameter of at most 15
/// characters (Meta, "Coupon code templates").
fn check_coupon(name: &str, index: usize, given: &[&Value], api: u32) -> Result<(), MetaError> {
    let [p] = given else {
        return Err(MetaError::with_details(
            132000,
            format!(
                "template {name} button {index}: expected number of params (1) does not match received number of params ({}): a COPY_CODE button needs its coupon_code",
                given.len()
            ),
        ));
    };
    if p["type"].as_str() != Some("coupon_code") {
        return Err(MetaError::with_details(
            132012,
            format!(
                "template {name} button {index}: expected a coupon_code parameter, got {}",
                p["type"].as_str().unwrap_or("none")
            ),
        ));
    }
    let code = p["coupon_code"].as_str().unwrap_or_default();
    if code.is_empty() {
        return Err(MetaError::with_details(
            131008,
            format!(
                "template {name} button {index}: Parameter of type coupon_code is missing coupon_code value"
            ),
        ));
    }
    if code.chars().count() > 15 {
        return Err(parameter_error(
            api,
            format!(
                "template {name} button {index}: coupon_code has {} characters; the limit is 15",
                code.chars().count()
            ),
        ));
    }
    Ok(())
}

/// Meta refuses a text parameter with a new line, a tab or more than 4 consecutive spaces.
fn layout_allowed(text: &str) -> bool {
    !text.contains(['\n', '\r', '\t']) && !text.contains("     ")
}

fn check_parameters(
    name: &str,
    component: &str,
    expected: &[String],
    given: &[&Value],
    named: bool,
    api: u32,
) -> Result<(), MetaError> {
    if given.len() != expected.len() {
        return Err(MetaError::with_details(
            132000,
            format!(
                "template {name} {component}: expected number of params ({}) does not match received number of params ({})",
                expected.len(),
                given.len()
            ),
        ));
    }
    for p in given {
        let ty = p["type"].as_str().unwrap_or_default();
        if !["text", "currency", "date_time", "payload"].contains(&ty) {
            return Err(MetaError::with_details(
                132012,
                format!(
                    "template {name} {component}: parameter of type {ty} where text is expected"
                ),
            ));
        }
        if ty == "text" {
            let text = p["text"].as_str().unwrap_or_default();
            if text.trim().is_empty() {
                return Err(MetaError::with_details(
                    131008,
                    format!(
                        "template {name} {component}: Parameter of type text is missing text value"
                    ),
                ));
            }
            if !layout_allowed(text) {
                return Err(parameter_error(
                    api,
                    format!(
                        "template {name} {component}: Param text cannot have new-line/tab characters or more than 4 consecutive spaces"
                    ),
                ));
            }
        }
        match (named, p.get("parameter_name").and_then(Value::as_str)) {
            (true, None) => {
                return Err(MetaError::with_details(
                    132012,
                    format!(
                        "template {name} {component} uses named parameters: every parameter needs parameter_name"
                    ),
                ));
            }
            (true, Some(n)) if !expected.iter().any(|e| e == n) => {
                return Err(MetaError::with_details(
                    132012,
                    format!(
                        "template {name} {component} has no parameter named {n}; expected {}",
                        expected.join(", ")
                    ),
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_media_header(name: &str, format: &str, given: &[&Value]) -> Result<(), MetaError> {
    let want = format.to_ascii_lowercase();
    match given {
        [] => Err(MetaError::with_details(
            132000,
            format!("template {name} header: a {want} parameter is required"),
        )),
        [p] if p["type"].as_str() == Some(want.as_str()) => Ok(()),
        [p] => Err(MetaError::with_details(
            132012,
            format!(
                "template {name} header: expected a {want} parameter, got {}",
                p["type"].as_str().unwrap_or("none")
            ),
        )),
        _ => Err(MetaError::with_details(
            132000,
            format!("template {name} header: expected 1 parameter, received {}", given.len()),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_positional_and_named() {
        assert_eq!(placeholders("Hi {{1}}, code {{2}}"), vec!["1", "2"]);
        assert_eq!(placeholders("Hi {{ first_name }}"), vec!["first_name"]);
        assert!(placeholders("no params").is_empty());
    }
}
