//! Authentication (one-time password) templates as Meta implements them (Meta, "Authentication
//! templates", "Copy code authentication templates", "One-tap autofill authentication
//! templates", "Zero-tap authentication templates").
//!
//! A business does not write an authentication template's text: it submits a BODY with
//! `add_security_recommendation`, a FOOTER with `code_expiration_minutes` (1–90) and one OTP
//! button (`otp_type` COPY_CODE, ONE_TAP or ZERO_TAP). Meta stores the preset body
//! (`*{{1}}* is your verification code.` plus the security recommendation), the expiry footer,
//! and turns the OTP button into a URL button whose URL carries the code (`…&code=otp{{1}}`), which
//! is what GetWhatsAppMessageTemplate returns. A send then gives the code twice, as Meta's page
//! shows: the body's `{{1}}` and the URL button's parameter.

use serde_json::{Map, Value, json};

use super::errors::MetaError;

/// Meta's preset texts in one language.
struct Presets {
    code: &'static str,
    security: &'static str,
    /// `{n}` is the number of minutes.
    expiry: &'static str,
    copy_code: &'static str,
    autofill: &'static str,
}

const ENGLISH: Presets = Presets {
    code: "*{{1}}* is your verification code.",
    security: "For your security, do not share this code.",
    expiry: "This code expires in {n} minutes.",
    copy_code: "Copy code",
    autofill: "Autofill",
};

const SPANISH: Presets = Presets {
    code: "*{{1}}* es tu código de verificación.",
    security: "Por tu seguridad, no lo compartas.",
    expiry: "Este código caduca en {n} minutos.",
    copy_code: "Copiar código",
    autofill: "Autocompletar",
};

/// The presets of a template language: English and Spanish as Meta writes them; other languages
/// get the English text (Meta translates them; the translations are not emulated).
fn presets(language: &str) -> &'static Presets {
    if language == "es" || language.starts_with("es_") { &SPANISH } else { &ENGLISH }
}

/// The example code Meta shows in a stored authentication template.
const EXAMPLE_CODE: &str = "123456";

/// The longest one-time password Meta sends (Meta: "one-time passwords … up to 15 characters").
pub const CODE_MAX: usize = 15;

fn invalid(details: impl Into<std::borrow::Cow<'static, str>>) -> MetaError {
    MetaError::with_details(100, details)
}

/// Whether a definition is an authentication template.
pub fn is_authentication(def: &Value) -> bool {
    def["category"].as_str().is_some_and(|c| c.eq_ignore_ascii_case("AUTHENTICATION"))
}

/// Whether a stored button is an authentication template's OTP button (a URL button to
/// WhatsApp's OTP handler).
pub fn is_otp_url(url: &str) -> bool {
    url.starts_with("https://www.whatsapp.com/otp/code/?otp_type=")
}

/// An authentication template as submitted → as Meta stores it. Anything an authentication
/// template cannot have is refused with `(#100)`.
pub fn normalize(def: &Value) -> Result<Value, MetaError> {
    let language = def["language"].as_str().unwrap_or_default();
    let p = presets(language);
    let Some(components) = def["components"].as_array().filter(|c| !c.is_empty()) else {
        return Err(invalid("components must be a non-empty array"));
    };
    let mut security = false;
    let mut minutes = None;
    let mut button = None;
    for c in components {
        let kind = c["type"].as_str().unwrap_or_default().to_ascii_uppercase();
        match kind.as_str() {
            "BODY" => {
                if c.get("text").is_some() {
                    return Err(invalid(
                        "BODY.text cannot be set in an AUTHENTICATION template: Meta writes the preset text; use add_security_recommendation",
                    ));
                }
                security = match &c["add_security_recommendation"] {
                    Value::Null => false,
                    Value::Bool(b) => *b,
                    _ => {
                        return Err(invalid("BODY.add_security_recommendation must be a boolean"));
                    }
                };
            }
            "FOOTER" => {
                if c.get("text").is_some() {
                    return Err(invalid(
                        "FOOTER.text cannot be set in an AUTHENTICATION template: use code_expiration_minutes",
                    ));
                }
                match &c["code_expiration_minutes"] {
                    Value::Null => {}
                    v => match v.as_i64().filter(|m| (1..=90).contains(m)) {
                        Some(m) => minutes = Some(m),
                        None => {
                            return Err(invalid(format!(
                                "FOOTER.code_expiration_minutes must be an integer from 1 to 90, got {v}"
                            )));
                        }
                    },
                }
            }
            "BUTTONS" => {
                let buttons = c["buttons"].as_array().map(Vec::as_slice).unwrap_or_default();
                let [b] = buttons else {
                    return Err(invalid(format!(
                        "an AUTHENTICATION template has exactly 1 OTP button, it has {}",
                        buttons.len()
                    )));
                };
                button = Some(b);
            }
            "HEADER" => {
                return Err(invalid(
                    "an AUTHENTICATION template cannot have a HEADER: URLs, media and emojis are not supported",
                ));
            }
            other => {
                return Err(invalid(format!(
                    "component type '{other}' is invalid: use BODY, FOOTER or BUTTONS"
                )));
            }
        }
    }
    let Some(button) = button else {
        return Err(invalid(
            "an AUTHENTICATION template needs a BUTTONS component with one OTP button (otp_type COPY_CODE, ONE_TAP or ZERO_TAP)",
        ));
    };
    // Built once every component is read: the URL carries the footer's expiry.
    let button = otp_button(button, p, minutes)?;
    let mut text = p.code.to_string();
    if security {
        text.push(' ');
        text.push_str(p.security);
    }
    let mut body = json!({
        "type": "BODY",
        "text": text,
        "example": { "body_text": [[EXAMPLE_CODE]] },
    });
    if security {
        body["add_security_recommendation"] = json!(true);
    }
    let mut stored = vec![body];
    if let Some(m) = minutes {
        stored.push(json!({
            "type": "FOOTER",
            "text": p.expiry.replace("{n}", &m.to_string()),
            "code_expiration_minutes": m,
        }));
    }
    stored.push(json!({ "type": "BUTTONS", "buttons": [button] }));
    let mut out = def.clone();
    out["category"] = json!("AUTHENTICATION");
    out["parameter_format"] = json!("POSITIONAL");
    out["components"] = Value::Array(stored);
    Ok(out)
}

/// The OTP button as Meta stores it: a URL button to WhatsApp's OTP handler.
fn otp_button(b: &Value, p: &Presets, minutes: Option<i64>) -> Result<Value, MetaError> {
    if !b["type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case("OTP")) {
        return Err(invalid(format!(
            "button type '{}' is invalid in an AUTHENTICATION template: use OTP",
            b["type"].as_str().unwrap_or_default()
        )));
    }
    let otp_type = b["otp_type"].as_str().unwrap_or_default().to_ascii_uppercase();
    if !["COPY_CODE", "ONE_TAP", "ZERO_TAP"].contains(&otp_type.as_str()) {
        return Err(invalid(format!(
            "otp_type '{}' is invalid: use COPY_CODE, ONE_TAP or ZERO_TAP",
            b["otp_type"].as_str().unwrap_or_default()
        )));
    }
    let text = short_text(b, "text", p.copy_code)?;
    let mut query = format!("otp_type={otp_type}");
    let mut apps = Vec::new();
    if otp_type != "COPY_CODE" {
        let autofill = short_text(b, "autofill_text", p.autofill)?;
        apps = supported_apps(b)?;
        if otp_type == "ZERO_TAP" && b["zero_tap_terms_accepted"] != true {
            return Err(invalid(
                "a ZERO_TAP button needs zero_tap_terms_accepted: true (Meta's zero-tap terms)",
            ));
        }
        let (package, hash) = &apps[0];
        query.push_str(&format!(
            "&cta_display_name={}&package_name={package}&signature_hash={}",
            encode(&autofill),
            encode(hash)
        ));
        if otp_type == "ZERO_TAP" {
            query.push_str("&zero_tap_terms_accepted=true");
        }
    }
    if let Some(m) = minutes {
        query.push_str(&format!("&code_expiration_minutes={m}"));
    }
    let url = format!("https://www.whatsapp.com/otp/code/?{query}&code=otp{{{{1}}}}");
    let example = url.replace("{{1}}", EXAMPLE_CODE);
    let mut out = json!({ "type": "URL", "text": text, "url": url, "example": [example] });
    if !apps.is_empty() {
        let apps: Vec<Value> = apps
            .into_iter()
            .map(|(package, hash)| json!({ "package_name": package, "signature_hash": hash }))
            .collect();
        out["supported_apps"] = Value::Array(apps);
    }
    Ok(out)
}

/// An optional button text of at most 25 characters, or Meta's default.
fn short_text(b: &Value, key: &str, default: &str) -> Result<String, MetaError> {
    match &b[key] {
        Value::Null => Ok(default.to_string()),
        Value::String(s) if !s.is_empty() && s.chars().count() <= 25 => Ok(s.clone()),
        _ => Err(invalid(format!("button {key} must be 1 to 25 characters"))),
    }
}

/// `supported_apps` (1 to 5 apps), or the older `package_name` + `signature_hash` on the button.
fn supported_apps(b: &Value) -> Result<Vec<(String, String)>, MetaError> {
    let listed: Vec<&Map<String, Value>> = match &b["supported_apps"] {
        Value::Array(apps) => apps.iter().filter_map(Value::as_object).collect(),
        Value::Null => b.as_object().into_iter().collect(),
        _ => return Err(invalid("supported_apps must be an array of apps")),
    };
    let apps: Vec<(String, String)> = listed
        .iter()
        .filter_map(|app| {
            let get = |snake: &str, camel: &str| {
                app.get(snake).or(app.get(camel)).and_then(Value::as_str).map(str::to_string)
            };
            Some((get("package_name", "packageName")?, get("signature_hash", "signatureHash")?))
        })
        .collect();
    if apps.is_empty() || apps.len() > 5 {
        return Err(invalid(
            "ONE_TAP and ZERO_TAP buttons need supported_apps: 1 to 5 apps with package_name and signature_hash",
        ));
    }
    for (package, hash) in &apps {
        let segment_ok = |s: &str| {
            s.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        };
        if package.len() > 224
            || package.split('.').count() < 2
            || !package.split('.').all(segment_ok)
        {
            return Err(invalid(format!(
                "package_name '{package}' is invalid: an Android package name such as com.example.app, at most 224 characters"
            )));
        }
        if hash.chars().count() != 11
            || !hash.chars().all(|c| c.is_ascii_alphanumeric() || "+/=".contains(c))
        {
            return Err(invalid(format!(
                "signature_hash '{hash}' is invalid: your app's 11-character signing key hash"
            )));
        }
    }
    Ok(apps)
}

/// Percent-encodes what a URL query value cannot carry as is.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn submitted(button: Value) -> Value {
        json!({"name": "otp", "language": "en_US", "category": "authentication",
               "components": [
                   {"type": "body", "add_security_recommendation": true},
                   {"type": "footer", "code_expiration_minutes": 10},
                   {"type": "buttons", "buttons": [button]}]})
    }

    #[test]
    fn copy_code_becomes_a_url_button_with_the_preset_text() {
        let t = normalize(&submitted(json!({"type": "otp", "otp_type": "copy_code"}))).unwrap();
        assert_eq!(t["category"], "AUTHENTICATION");
        let c = &t["components"];
        assert_eq!(
            c[0]["text"],
            "*{{1}}* is your verification code. For your security, do not share this code."
        );
        assert_eq!(c[1]["text"], "This code expires in 10 minutes.");
        assert_eq!(c[2]["buttons"][0]["type"], "URL");
        assert_eq!(
            c[2]["buttons"][0]["url"],
            "https://www.whatsapp.com/otp/code/?otp_type=COPY_CODE&code_expiration_minutes=10&code=otp{{1}}"
        );
        assert_eq!(c[2]["buttons"][0]["text"], "Copy code");
    }

    #[test]
    fn one_tap_needs_an_app_and_zero_tap_its_terms() {
        let app = json!([{"package_name": "com.example.app", "signature_hash": "K8a/AINcGX7"}]);
        let t = normalize(&submitted(
            json!({"type": "OTP", "otp_type": "ONE_TAP", "supported_apps": app}),
        ))
        .unwrap();
        let url = t["components"][2]["buttons"][0]["url"].as_str().unwrap().to_string();
        assert!(url.contains("otp_type=ONE_TAP&cta_display_name=Autofill"), "{url}");
        assert!(url.contains("signature_hash=K8a%2FAINcGX7"), "{url}");
        assert!(normalize(&submitted(json!({"type": "OTP", "otp_type": "ONE_TAP"}))).is_err());
        assert!(
            normalize(&submitted(
                json!({"type": "OTP", "otp_type": "ZERO_TAP", "supported_apps": app})
            ))
            .is_err()
        );
    }

    #[test]
    fn expiry_and_text_rules() {
        let mut d = submitted(json!({"type": "OTP", "otp_type": "COPY_CODE"}));
        d["components"][1]["code_expiration_minutes"] = json!(91);
        assert!(normalize(&d).unwrap_err().details.contains("1 to 90"));
        d["components"][1]["code_expiration_minutes"] = json!(0);
        assert!(normalize(&d).is_err());
        d["components"][1] = json!({"type": "FOOTER", "code_expiration_minutes": 90});
        assert!(normalize(&d).is_ok());
        d["components"][0]["text"] = json!("Your code is {{1}}");
        assert!(normalize(&d).unwrap_err().details.contains("BODY.text"));
    }

    #[test]
    fn spanish_presets() {
        let mut d = submitted(json!({"type": "OTP", "otp_type": "COPY_CODE"}));
        d["language"] = json!("es_MX");
        let t = normalize(&d).unwrap();
        assert_eq!(
            t["components"][0]["text"],
            "*{{1}}* es tu código de verificación. Por tu seguridad, no lo compartas."
        );
    }
}
