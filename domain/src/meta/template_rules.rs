//! Meta's rules for message template definitions: what is refused at creation (synchronously,
//! `(#100) Invalid parameter`), and what review rejects later (asynchronously, with Meta's
//! reason). Magic name prefixes force a review outcome without setup.

use std::collections::HashSet;

use serde_json::Value;

use super::errors::MetaError;
use super::templates::placeholders;

/// Meta's template languages.
pub const LANGUAGES: &[&str] = &[
    "af", "sq", "ar", "az", "bn", "bg", "ca", "zh_CN", "zh_HK", "zh_TW", "hr", "cs", "da", "nl",
    "en", "en_GB", "en_US", "et", "fil", "fi", "fr", "ka", "de", "el", "gu", "ha", "he", "hi",
    "hu", "id", "ga", "it", "ja", "kn", "kk", "rw_RW", "ko", "ky_KG", "lo", "lv", "lt", "mk", "ms",
    "ml", "mr", "nb", "fa", "pl", "pt_BR", "pt_PT", "pa", "ro", "ru", "sr", "sk", "sl", "es",
    "es_AR", "es_ES", "es_MX", "sw", "sv", "ta", "te", "th", "tr", "uk", "ur", "uz", "vi", "zu",
];

pub const CATEGORIES: &[&str] = &["MARKETING", "UTILITY", "AUTHENTICATION"];

/// Name prefixes that force a review outcome: `reject_<reason>_…` is rejected with that reason,
/// `stay_pending_…` is never reviewed.
pub const REJECTION_REASONS: &[&str] = &[
    "INVALID_FORMAT",
    "ABUSIVE_CONTENT",
    "PROMOTIONAL",
    "INCORRECT_CATEGORY",
    "SCAM",
    "TAG_CONTENT_MISMATCH",
];

fn invalid(details: impl Into<std::borrow::Cow<'static, str>>) -> MetaError {
    MetaError::with_details(100, details)
}

/// A definition as submitted → as Meta stores it, checked: the category in capitals (Meta takes
/// `authentication` as well), an authentication template's preset text and OTP button
/// ([`super::authentication::normalize`]), then [`check_definition`].
pub fn prepare(def: &Value, handles: &HashSet<String>) -> Result<Value, MetaError> {
    let mut def = def.clone();
    if let Some(category) = def["category"].as_str().map(str::to_ascii_uppercase)
        && CATEGORIES.contains(&category.as_str())
    {
        def["category"] = Value::String(category);
    }
    if super::authentication::is_authentication(&def) {
        def = super::authentication::normalize(&def)?;
    }
    check_definition(&def, handles)?;
    Ok(def)
}

/// `message_send_ttl_seconds` (Meta, "Configure message time-to-live"): authentication 30–900 s,
/// utility 30–43,200 s, marketing 43,200–2,592,000 s; `-1` (30 days) for authentication and
/// utility only.
fn check_ttl(def: &Value) -> Result<(), MetaError> {
    let Some(ttl) = def.get("message_send_ttl_seconds") else { return Ok(()) };
    let category = def["category"].as_str().unwrap_or_default();
    let range = match category {
        "AUTHENTICATION" => 30..=900,
        "UTILITY" => 30..=43_200,
        _ => 43_200..=2_592_000,
    };
    match ttl.as_i64() {
        Some(-1) if category != "MARKETING" => Ok(()),
        Some(s) if range.contains(&s) => Ok(()),
        _ => Err(invalid(format!(
            "message_send_ttl_seconds {ttl} is invalid for a {category} template: use {} to {} seconds{}",
            range.start(),
            range.end(),
            if category == "MARKETING" { "" } else { ", or -1 for 30 days" }
        ))),
    }
}

/// The time-to-live of a template's messages in milliseconds: its `message_send_ttl_seconds`,
/// or Meta's default (authentication 10 minutes, otherwise 30 days; `-1` is 30 days).
pub fn ttl_ms(def: &Value) -> i64 {
    match def["message_send_ttl_seconds"].as_i64() {
        Some(s) if s > 0 => s * 1000,
        Some(_) => DEFAULT_TTL_MS,
        None if super::authentication::is_authentication(def) => 600_000,
        None => DEFAULT_TTL_MS,
    }
}

/// How long Meta keeps trying to deliver a message without a time-to-live of its own: 30 days.
pub const DEFAULT_TTL_MS: i64 = 30 * super::DAY_MS;

/// Checks a template definition as Meta does at creation and edit. `handles` are the media
/// header handles this WABA uploaded (CreateWhatsAppMessageTemplateMedia).
pub fn check_definition(def: &Value, handles: &HashSet<String>) -> Result<(), MetaError> {
    let Some(obj) = def.as_object() else {
        return Err(invalid("the template definition must be a JSON object"));
    };
    let name = obj.get("name").and_then(Value::as_str).unwrap_or_default();
    if name.is_empty()
        || name.len() > 512
        || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(invalid(format!(
            "name '{name}' is invalid: use 1 to 512 lowercase letters, digits and underscores"
        )));
    }
    let language = obj.get("language").and_then(Value::as_str).unwrap_or_default();
    if !LANGUAGES.contains(&language) {
        return Err(invalid(format!("language '{language}' is not a supported template language")));
    }
    let category = obj.get("category").and_then(Value::as_str).unwrap_or_default();
    if !CATEGORIES.contains(&category) {
        return Err(invalid(format!(
            "category '{category}' is invalid: use MARKETING, UTILITY or AUTHENTICATION"
        )));
    }
    check_ttl(def)?;
    let format = obj.get("parameter_format").and_then(Value::as_str).unwrap_or("POSITIONAL");
    if !["POSITIONAL", "NAMED"].contains(&format) {
        return Err(invalid(format!(
            "parameter_format '{format}' is invalid: use POSITIONAL or NAMED"
        )));
    }
    check_components(
        obj.get("components").unwrap_or(&Value::Null),
        format == "NAMED",
        category,
        handles,
    )
}

/// Checks a components array (also what UpdateWhatsAppMessageTemplate sends).
pub fn check_components(
    components: &Value,
    named: bool,
    category: &str,
    handles: &HashSet<String>,
) -> Result<(), MetaError> {
    let Some(list) = components.as_array().filter(|l| !l.is_empty()) else {
        return Err(invalid("components must be a non-empty array"));
    };
    let mut seen = HashSet::new();
    for c in list {
        let kind = c["type"].as_str().unwrap_or_default().to_ascii_uppercase();
        if !["HEADER", "BODY", "FOOTER", "BUTTONS"].contains(&kind.as_str()) {
            return Err(invalid(format!(
                "component type '{kind}' is invalid: use HEADER, BODY, FOOTER or BUTTONS"
            )));
        }
        if !seen.insert(kind.clone()) {
            return Err(invalid(format!("a template has at most one {kind} component")));
        }
        match kind.as_str() {
            "HEADER" => check_header(c, named, handles)?,
            "BODY" => {
                let text = c["text"].as_str().unwrap_or_default();
                if category != "AUTHENTICATION" {
                    if text.is_empty() {
                        return Err(invalid("BODY.text is required"));
                    }
                    if text.chars().count() > 1024 {
                        return Err(invalid(format!(
                            "BODY.text has {} characters; the limit is 1024",
                            text.chars().count()
                        )));
                    }
                }
                check_params(
                    text,
                    named,
                    &c["example"],
                    "body_text",
                    "body_text_named_params",
                    "BODY",
                )?;
            }
            "FOOTER" => {
                let text = c["text"].as_str().unwrap_or_default();
                if text.chars().count() > 60 {
                    return Err(invalid(format!(
                        "FOOTER.text has {} characters; the limit is 60",
                        text.chars().count()
                    )));
                }
                if !placeholders(text).is_empty() {
                    return Err(invalid("FOOTER.text cannot contain parameters"));
                }
            }
            _ => check_buttons(c, category)?,
        }
    }
    if category != "AUTHENTICATION" && !seen.contains("BODY") {
        return Err(invalid("a BODY component is required"));
    }
    Ok(())
}

fn check_header(c: &Value, named: bool, handles: &HashSet<String>) -> Result<(), MetaError> {
    match c["format"].as_str().unwrap_or("TEXT") {
        "TEXT" => {
            let text = c["text"].as_str().unwrap_or_default();
            if text.is_empty() || text.chars().count() > 60 {
                return Err(invalid("HEADER.text is required and at most 60 characters"));
            }
            if placeholders(text).len() > 1 {
                return Err(invalid("HEADER.text can contain at most 1 parameter"));
            }
            check_params(
                text,
                named,
                &c["example"],
                "header_text",
                "header_text_named_params",
                "HEADER",
            )
        }
        "IMAGE" | "VIDEO" | "DOCUMENT" | "GIF" => {
            let handle =
                c["example"]["header_handle"].get(0).and_then(Value::as_str).unwrap_or_default();
            if handle.is_empty() {
                return Err(invalid(
                    "a media HEADER needs example.header_handle (from CreateWhatsAppMessageTemplateMedia)",
                ));
            }
            if !handles.contains(handle) {
                return Err(invalid(format!(
                    "example.header_handle '{handle}' is not a media handle of this WhatsApp Business Account"
                )));
            }
            Ok(())
        }
        "LOCATION" => Ok(()),
        other => Err(invalid(format!(
            "HEADER.format '{other}' is invalid: use TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION"
        ))),
    }
}

/// Parameters must be all positional and numbered 1..n, or all named (lowercase), with an
/// example for each.
fn check_params(
    text: &str,
    named: bool,
    example: &Value,
    positional_key: &str,
    named_key: &str,
    at: &str,
) -> Result<(), MetaError> {
    let params = placeholders(text);
    if params.is_empty() {
        return Ok(());
    }
    if named {
        if let Some(p) = params.iter().find(|p| {
            !p.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                || p.bytes().all(|b| b.is_ascii_digit())
        }) {
            return Err(invalid(format!(
                "{at}: named parameter {{{{{p}}}}} must be lowercase letters, digits and underscores"
            )));
        }
        let given: HashSet<&str> = example[named_key]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["param_name"].as_str())
            .collect();
        if let Some(missing) = params.iter().find(|p| !given.contains(p.as_str())) {
            return Err(invalid(format!(
                "{at}: example.{named_key} has no example for {{{{{missing}}}}}"
            )));
        }
        return Ok(());
    }
    for (i, p) in params.iter().enumerate() {
        if *p != (i + 1).to_string() {
            return Err(invalid(format!(
                "{at}: positional parameters must be numbered in order {{{{1}}}}, {{{{2}}}}, …; found {{{{{p}}}}} at position {}",
                i + 1
            )));
        }
    }
    let examples = match &example[positional_key] {
        Value::Array(rows) if rows.first().is_some_and(Value::is_array) => {
            rows[0].as_array().map(Vec::len).unwrap_or(0)
        }
        Value::Array(items) => items.len(),
        _ => 0,
    };
    if examples != params.len() {
        return Err(invalid(format!(
            "{at}: example.{positional_key} must give {} example value(s), it gives {examples}",
            params.len()
        )));
    }
    Ok(())
}

fn check_buttons(c: &Value, category: &str) -> Result<(), MetaError> {
    let buttons = c["buttons"].as_array().cloned().unwrap_or_default();
    if buttons.is_empty() || buttons.len() > 10 {
        return Err(invalid(format!(
            "BUTTONS must have 1 to 10 buttons, it has {}",
            buttons.len()
        )));
    }
    let count = |t: &str| buttons.iter().filter(|b| b["type"].as_str() == Some(t)).count();
    if count("URL") > 2 {
        return Err(invalid("a template has at most 2 URL buttons"));
    }
    if count("PHONE_NUMBER") > 1 || count("COPY_CODE") > 1 {
        return Err(invalid("a template has at most 1 PHONE_NUMBER and 1 COPY_CODE button"));
    }
    // Quick replies are grouped: no quick reply between two other buttons.
    let kinds: Vec<bool> =
        buttons.iter().map(|b| b["type"].as_str() == Some("QUICK_REPLY")).collect();
    let switches = kinds.windows(2).filter(|w| w[0] != w[1]).count();
    if switches > 1 {
        return Err(invalid(
            "QUICK_REPLY buttons must be grouped together, before or after the other buttons",
        ));
    }
    for (i, b) in buttons.iter().enumerate() {
        let kind = b["type"].as_str().unwrap_or_default();
        let text = b["text"].as_str().unwrap_or_default();
        if !["QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "OTP", "FLOW", "MPM", "CATALOG"]
            .contains(&kind)
        {
            return Err(invalid(format!("button {i}: type '{kind}' is invalid")));
        }
        if kind == "OTP" && category != "AUTHENTICATION" {
            return Err(invalid(format!(
                "button {i}: OTP buttons are for AUTHENTICATION templates, this one is {category}"
            )));
        }
        if kind != "COPY_CODE" && kind != "OTP" && (text.is_empty() || text.chars().count() > 25) {
            return Err(invalid(format!("button {i}: text is required and at most 25 characters")));
        }
        if kind == "COPY_CODE" {
            // Meta, "Coupon code templates": the example is the code, at most 15 characters.
            let example = match &b["example"] {
                Value::Array(items) => items.first().and_then(Value::as_str),
                other => other.as_str(),
            };
            if example.is_none_or(|e| e.is_empty() || e.chars().count() > 15) {
                return Err(invalid(format!(
                    "button {i}: a COPY_CODE button needs an example code of 1 to 15 characters"
                )));
            }
        }
        if kind == "URL" {
            let url = b["url"].as_str().unwrap_or_default();
            if !(url.starts_with("https://") || url.starts_with("http://")) || url.len() > 2000 {
                return Err(invalid(format!(
                    "button {i}: url must be an http(s) URL of at most 2000 characters"
                )));
            }
            let params = placeholders(url);
            if params.len() > 1 || (params.len() == 1 && !url.trim_end().ends_with("}}")) {
                return Err(invalid(format!(
                    "button {i}: a URL can have one parameter, at its end"
                )));
            }
            if params.len() == 1 && b["example"].as_array().is_none_or(Vec::is_empty) {
                return Err(invalid(format!(
                    "button {i}: a URL with a parameter needs an example"
                )));
            }
        }
        if kind == "PHONE_NUMBER"
            && b["phone_number"].as_str().is_none_or(|p| p.is_empty() || p.len() > 20)
        {
            return Err(invalid(format!(
                "button {i}: phone_number is required and at most 20 characters"
            )));
        }
    }
    Ok(())
}

/// The outcome of Meta's review: `Ok` approves, `Err((reason, rejection_info))` rejects.
pub fn review(def: &Value) -> Result<(), (String, Option<Value>)> {
    let name = def["name"].as_str().unwrap_or_default();
    if let Some(rest) = name.strip_prefix("reject_")
        && let Some(reason) =
            REJECTION_REASONS.iter().find(|r| rest.starts_with(&r.to_ascii_lowercase()))
    {
        return Err(((*reason).to_string(), None));
    }
    if super::authentication::is_authentication(def) {
        // Meta wrote the text: nothing in it to reject.
        return Ok(());
    }
    let body = def["components"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case("BODY")))
        .and_then(|c| c["text"].as_str())
        .unwrap_or_default();
    let params = placeholders(body);
    if params.is_empty() {
        return Ok(());
    }
    let format_rejection = |reason: &str, recommendation: &str| {
        Err((
            "INVALID_FORMAT".to_string(),
            Some(serde_json::json!({ "reason": reason, "recommendation": recommendation })),
        ))
    };
    static ADJACENT: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let adjacent = ADJACENT.get_or_init(|| regex::Regex::new(r"\}\}\s*\{\{").expect("regex"));
    if adjacent.is_match(body) {
        return format_rejection(
            "Your template has parameters placed next to each other (like {{1}}{{2}}) without text or punctuation between them.",
            "Separate parameters with descriptive text and ensure each parameter is clearly contextualized.",
        );
    }
    let trimmed = body.trim();
    if trimmed.starts_with("{{") || trimmed.ends_with("}}") {
        return format_rejection(
            "Your template starts or ends with a parameter.",
            "Add text before the first parameter and after the last one.",
        );
    }
    static PARAM: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let param =
        PARAM.get_or_init(|| regex::Regex::new(r"\{\{\s*[A-Za-z0-9_]+\s*\}\}").expect("regex"));
    let words = param.replace_all(body, " ").split_whitespace().count();
    if words < 2 * params.len() + 1 {
        return format_rejection(
            "Your template has too many parameters for its length.",
            "Add more text or use fewer parameters.",
        );
    }
    Ok(())
}

/// `stay_pending_…` templates are never reviewed.
pub fn stays_pending(name: &str) -> bool {
    name.starts_with("stay_pending")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn def(body: &str) -> Value {
        json!({"name": "t", "language": "en_US", "category": "UTILITY",
               "components": [{"type": "BODY", "text": body, "example": {"body_text": [["a", "b", "c"]]}}]})
    }

    #[test]
    fn review_rules() {
        assert!(review(&def("Hi {{1}}, your order {{2}} ships on {{3}} as planned.")).is_ok());
        assert_eq!(
            review(&def("Hi {{1}}{{2}} there friend and more words")).unwrap_err().0,
            "INVALID_FORMAT"
        );
        assert!(review(&def("{{1}} is your code for the login today")).is_err());
        assert!(review(&def("Code {{1}} {{2}} x")).is_err());
        let mut magic = def("plain");
        magic["name"] = json!("reject_scam_offer");
        assert_eq!(review(&magic).unwrap_err().0, "SCAM");
    }

    #[test]
    fn creation_rules() {
        let none = HashSet::new();
        assert!(check_definition(&def("Hi {{1}}, order {{2}} ships {{3}} ok"), &none).is_ok());
        let e = check_definition(&def("Hi {{2}} x"), &none).unwrap_err();
        assert_eq!(e.code, 100);
        let mut bad = def("x");
        bad["name"] = json!("Bad Name");
        assert!(check_definition(&bad, &none).unwrap_err().details.contains("name"));
    }
}
