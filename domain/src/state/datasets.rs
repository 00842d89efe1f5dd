//! Conversion events accepted by SendWhatsAppConversionEvent, kept (bounded) for the control API.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How many accepted conversion events a partition keeps (oldest dropped first).
pub const CONVERSION_EVENT_LOG_LIMIT: usize = 1000;

/// One accepted event of one SendWhatsAppConversionEvent request.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConversionEvent {
    pub request_id: String,
    /// `waba-…`
    pub waba_id: String,
    pub dataset_id: String,
    /// Epoch seconds on the virtual clock.
    pub received_at: f64,
    /// The event object as sent (one item of `data`).
    pub event: Value,
}

/// A bounded log: pushing past the limit drops the oldest entry (O(1)).
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ConversionEventLog {
    pub events: VecDeque<ConversionEvent>,
}

impl ConversionEventLog {
    pub fn push(&mut self, event: ConversionEvent) {
        if self.events.len() == CONVERSION_EVENT_LOG_LIMIT {
            self.events.pop_front();
        }
        self.events.push_back(event);
    }
}
