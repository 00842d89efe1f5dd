//! WhatsApp Flows of a WABA (CreateWhatsAppFlow and friends): Meta's flow object, its Flow JSON
//! asset and its preview link.

use serde::{Deserialize, Serialize};

/// Meta's flow statuses. DRAFT → PUBLISHED → DEPRECATED is driven by the API; THROTTLED and
/// BLOCKED are Meta's health decisions.
pub const DRAFT: &str = "DRAFT";
pub const PUBLISHED: &str = "PUBLISHED";
pub const DEPRECATED: &str = "DEPRECATED";
/// Meta's health decisions on a published flow: sendable 10 times an hour, or not at all.
pub const THROTTLED: &str = "THROTTLED";
pub const BLOCKED: &str = "BLOCKED";
/// Messages a THROTTLED flow may carry per hour (Meta, Flows: "Throttled").
pub const THROTTLED_PER_HOUR: usize = 10;

/// A WhatsApp Flow, as Meta keeps it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Flow {
    /// Meta's numeric flow id.
    pub id: String,
    pub name: String,
    pub status: String,
    pub categories: Vec<String>,
    /// The Flow JSON asset as uploaded (UTF-8 text), if any.
    pub flow_json: Option<String>,
    /// Meta's validation errors of `flow_json`, as strings.
    pub validation_errors: Vec<String>,
    /// `version` and `data_api_version` of a Flow JSON that had them.
    pub json_version: Option<String>,
    pub data_api_version: Option<String>,
    /// The Meta app connected to the flow (UpdateWhatsAppFlow `metaAppId`).
    pub meta_app_id: Option<String>,
    pub preview: Option<FlowPreview>,
    /// Virtual-clock milliseconds.
    pub created_ms: i64,
    pub updated_ms: i64,
    /// When messages carried it while THROTTLED, within the last hour (virtual ms).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub throttled_sends: Vec<i64>,
}

/// A preview link of a flow and when it stops working.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FlowPreview {
    pub token: String,
    pub expires_ms: i64,
}
