//! Meta's Cloud API error codes, with their titles and details as Meta sends them (status
//! `errors[]` and synchronous error messages `(#code) title: details`).

use std::borrow::Cow;

/// A Meta error: code, title (also the `message`), details.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MetaError {
    pub code: u32,
    /// Meta's title (static for the codes in the table, as are most details).
    pub title: Cow<'static, str>,
    pub details: Cow<'static, str>,
}

const TABLE: &[(u32, &str, &str)] = &[
    (0, "AuthException", "Unable to authenticate the app user."),
    (4, "API Too Many Calls", "The app has reached its API call rate limit."),
    (
        100,
        "Invalid parameter",
        "The request included one or more unsupported or misspelled parameters.",
    ),
    (130429, "Rate limit hit", "Cloud API message throughput has been reached."),
    (
        130472,
        "User's number is part of an experiment",
        "Failed to send message because this user's phone number is part of an experiment.",
    ),
    (
        130497,
        "Business account is restricted from messaging users in this country",
        "The business is restricted from sending messages to users in this country.",
    ),
    (131000, "Something went wrong", "Message failed to send due to an unknown error."),
    (131005, "Access denied", "Permission is either not granted or has been removed."),
    (131008, "Required parameter is missing", "The request is missing a required parameter."),
    (131009, "Parameter value is not valid", "One or more parameter values are invalid."),
    (131016, "Service unavailable", "A service is temporarily unavailable."),
    (131021, "Recipient cannot be sender", "Sender and recipient phone number is the same."),
    (
        131026,
        "Message Undeliverable",
        "Message failed to send because the recipient's phone number is not a WhatsApp phone number, the recipient has not accepted the new Terms of Service, or the recipient is using an old WhatsApp version.",
    ),
    (
        131031,
        "Account has been locked",
        "The WhatsApp Business Account is restricted or disabled for a policy violation, or the data of the request could not be verified.",
    ),
    (
        131042,
        "Business eligibility payment issue",
        "There was an error related to your payment method.",
    ),
    (
        131045,
        "Incorrect certificate",
        "Message failed to send due to a phone number registration error.",
    ),
    (
        131047,
        "Re-engagement message",
        "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
    ),
    (
        131048,
        "Spam rate limit hit",
        "Message failed to send because there are restrictions on how many messages can be sent from this phone number.",
    ),
    (
        131049,
        "This message was not delivered to maintain healthy ecosystem engagement.",
        "In order to maintain a healthy ecosystem engagement, the message failed to be delivered.",
    ),
    (
        131050,
        "Unable to deliver the message",
        "The user has stopped marketing messages from this business.",
    ),
    (131051, "Unsupported message type", "Unsupported message type."),
    (
        131062,
        "Business-scoped User ID recipients are not supported for this message",
        "This message cannot be sent to a business-scoped user ID; send it to the phone number.",
    ),
    (131052, "Media download error", "Unable to download the media sent by the user."),
    (131053, "Media upload error", "Unable to upload the media used in the message."),
    (
        131056,
        "(Business Account, Consumer Account) pair rate limit hit",
        "Too many messages sent from the sender phone number to the same recipient phone number in a short period of time.",
    ),
    (131057, "Account in maintenance mode", "Business Account is in maintenance mode."),
    (
        132000,
        "Number of parameters does not match the expected number of params",
        "The number of variable parameter values included in the request did not match the number of variable parameters defined in the template.",
    ),
    (
        132001,
        "Template name does not exist in the translation",
        "The template does not exist in the specified language or the template has not been approved.",
    ),
    (132005, "Translated text too long", "Translated text is too long."),
    (
        132007,
        "Template Format Character Policy Violated",
        "Template content violates a WhatsApp policy.",
    ),
    (
        132012,
        "Parameter format does not match format in the created template",
        "Variable parameter values formatted incorrectly.",
    ),
    (
        132015,
        "Template is Paused",
        "Template is paused due to low quality so it cannot be sent in a template message.",
    ),
    (
        132016,
        "Template is Disabled",
        "Template has been paused too many times due to low quality and is now permanently disabled.",
    ),
    (
        132018,
        "There was an issue with the parameters in your template.",
        "One or more parameter values are invalid.",
    ),
    (133004, "Server Temporarily Unavailable", "Server is temporarily unavailable."),
    (
        133010,
        "Phone number Not Registered",
        "The phone number is not registered on the WhatsApp Business Platform.",
    ),
    (
        135000,
        "Generic user error",
        "Message failed to send because of an unknown error with your request parameters.",
    ),
];

impl MetaError {
    /// The error `code` with Meta's title and details (a generic text for unknown codes).
    pub fn new(code: u32) -> MetaError {
        match TABLE.iter().find(|(c, _, _)| *c == code) {
            Some((_, title, details)) => {
                MetaError { code, title: Cow::Borrowed(title), details: Cow::Borrowed(details) }
            }
            None => MetaError {
                code,
                title: "Message failed to send".into(),
                details: format!("Message failed to send with error code {code}.").into(),
            },
        }
    }

    /// The same error with request-specific details.
    pub fn with_details(code: u32, details: impl Into<Cow<'static, str>>) -> MetaError {
        MetaError { details: details.into(), ..MetaError::new(code) }
    }

    pub fn is_known(code: u32) -> bool {
        TABLE.iter().any(|(c, _, _)| *c == code)
    }

    /// `(#131009) Parameter value is not valid: <details>` — the synchronous form.
    pub fn sync_message(&self) -> String {
        format!("(#{}) {}: {}", self.code, self.title, self.details)
    }

    /// An element of a status's `errors` array.
    pub fn status_error(&self) -> StatusError {
        StatusError {
            code: self.code,
            title: self.title.clone(),
            message: self.title.clone(),
            error_data: ErrorData { details: self.details.clone() },
            href: ERROR_CODES_HREF.into(),
        }
    }
}

/// Where a status error's `href` points.
pub const ERROR_CODES_HREF: &str =
    "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/";

/// An element of a status's `errors` array, as Meta sends it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatusError {
    pub code: u32,
    pub title: Cow<'static, str>,
    pub message: Cow<'static, str>,
    pub error_data: ErrorData,
    pub href: Cow<'static, str>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrorData {
    pub details: Cow<'static, str>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_and_unknown_codes() {
        let e = MetaError::new(131047);
        assert_eq!(e.title, "Re-engagement message");
        let status_error = serde_json::to_value(e.status_error()).unwrap();
        assert_eq!(status_error["message"], "Re-engagement message");
        assert_eq!(status_error["error_data"]["details"], e.details.as_ref());
        assert!(!MetaError::is_known(999_999));
        assert_eq!(MetaError::new(999_999).code, 999_999);
        assert!(MetaError::with_details(131009, "x").sync_message().starts_with("(#131009) "));
    }
}
