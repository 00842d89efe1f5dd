//! Control API for SNS HTTP(S) subscribers of event destination topics.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::IntoResponse;
use serde_json::{Value, json};

use super::{ControlError, Params, parse_body};
use crate::AppState;
use crate::events::sns::{self, SubscribeRequest};

/// `POST /_emulator/sns/subscriptions` `{"topicArn", "endpoint", "rawMessageDelivery",
/// "signatureVersion"}`: registers a subscriber and sends its SubscriptionConfirmation.
pub async fn subscribe(
    State(state): State<AppState>,
    body: Bytes,
) -> Result<Json<Value>, ControlError> {
    let req: SubscribeRequest = parse_body(&body)?;
    match sns::subscribe(&state.bus, req).await {
        Ok((sub, problem)) => {
            let mut out = serde_json::to_value(sub).unwrap_or_default();
            if let Some(problem) = problem {
                out["confirmationError"] = json!(problem);
            }
            Ok(Json(out))
        }
        Err(e) => Err(ControlError::bad_request(e)),
    }
}

/// `GET /_emulator/sns/subscriptions`
pub async fn list(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "subscriptions": state.bus.sns.subscriptions() }))
}

/// `DELETE /_emulator/sns/subscriptions?subscriptionArn=`
pub async fn unsubscribe(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<Value>, ControlError> {
    let arn = params
        .get("subscriptionArn")
        .ok_or_else(|| ControlError::bad_request("subscriptionArn is required"))?;
    if state.bus.sns.unsubscribe(arn) {
        Ok(Json(json!({ "unsubscribed": arn })))
    } else {
        Err(ControlError::not_found(format!("subscription {arn} does not exist")))
    }
}

/// `GET /_emulator/sns/unsubscribe?SubscriptionArn=` — the `UnsubscribeURL` of notifications.
pub async fn unsubscribe_link(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<Value>, ControlError> {
    let arn = params
        .get("SubscriptionArn")
        .ok_or_else(|| ControlError::bad_request("SubscriptionArn is required"))?;
    if state.bus.sns.unsubscribe(arn) {
        Ok(Json(json!({ "unsubscribed": arn })))
    } else {
        Err(ControlError::not_found(format!("subscription {arn} does not exist")))
    }
}

/// `GET /_emulator/sns/confirm?token=` — the `SubscribeURL` of a SubscriptionConfirmation.
pub async fn confirm(
    State(state): State<AppState>,
    params: Params,
) -> Result<Json<Value>, ControlError> {
    let token =
        params.get("token").ok_or_else(|| ControlError::bad_request("token is required"))?;
    match state.bus.sns.confirm(token) {
        Some(arn) => Ok(Json(
            json!({ "ConfirmSubscriptionResponse": { "ConfirmSubscriptionResult": { "SubscriptionArn": arn } } }),
        )),
        None => Err(ControlError::not_found("no subscription has this token")),
    }
}

/// `GET /_emulator/sns/?Action=ConfirmSubscription&TopicArn=…&Token=…` and
/// `?Action=Unsubscribe&SubscriptionArn=…`: the `SubscribeURL` and `UnsubscribeURL` of SNS's
/// messages, answered as SNS answers them (XML `ConfirmSubscriptionResponse` /
/// `UnsubscribeResponse`, or an XML `ErrorResponse`).
pub async fn action(State(state): State<AppState>, params: Params) -> axum::response::Response {
    let request_id = state.ids.uuid().to_string();
    let xml = |status: u16, body: String| {
        (
            axum::http::StatusCode::from_u16(status).unwrap_or(axum::http::StatusCode::BAD_REQUEST),
            [(header::CONTENT_TYPE, "text/xml")],
            body,
        )
            .into_response()
    };
    let error = |status: u16, code: &str, message: &str| {
        xml(
            status,
            format!(
                "<ErrorResponse xmlns=\"{SNS_XMLNS}\"><Error><Type>Sender</Type><Code>{code}</Code><Message>{}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>",
                escape(message)
            ),
        )
    };
    match params.get("Action").map(String::as_str) {
        Some("ConfirmSubscription") => {
            let Some(token) = params.get("Token") else {
                return error(400, "InvalidParameter", "Invalid parameter: Token");
            };
            match state.bus.sns.confirm(token) {
                Some(arn)
                    if params.get("TopicArn").is_none_or(|t| arn.starts_with(&format!("{t}:"))) =>
                {
                    xml(
                        200,
                        format!(
                            "<ConfirmSubscriptionResponse xmlns=\"{SNS_XMLNS}\"><ConfirmSubscriptionResult><SubscriptionArn>{}</SubscriptionArn></ConfirmSubscriptionResult><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></ConfirmSubscriptionResponse>",
                            escape(&arn)
                        ),
                    )
                }
                _ => error(400, "InvalidParameter", "Invalid token"),
            }
        }
        Some("Unsubscribe") => {
            let Some(arn) = params.get("SubscriptionArn") else {
                return error(400, "InvalidParameter", "Invalid parameter: SubscriptionArn");
            };
            if state.bus.sns.unsubscribe(arn) {
                xml(
                    200,
                    format!(
                        "<UnsubscribeResponse xmlns=\"{SNS_XMLNS}\"><ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata></UnsubscribeResponse>"
                    ),
                )
            } else {
                error(404, "NotFound", "Subscription does not exist")
            }
        }
        other => error(
            400,
            "InvalidAction",
            &format!("Could not find operation {}", other.unwrap_or_default()),
        ),
    }
}

const SNS_XMLNS: &str = "http://sns.amazonaws.com/doc/2010-03-31/";

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// `GET /_emulator/sns/deliveries?state=pending|delivered|failed`
pub async fn deliveries(State(state): State<AppState>, params: Params) -> Json<Value> {
    Json(json!({ "deliveries": state.bus.sns.deliveries(params.get("state").map(String::as_str)) }))
}

/// `POST /_emulator/sns/deliveries/redrive`: failed deliveries are attempted again.
pub async fn redrive(State(state): State<AppState>) -> Json<Value> {
    Json(json!({ "redriven": sns::redrive(&state.bus) }))
}

/// `GET /_emulator/sns/SimpleNotificationService-….pem` — the `SigningCertURL`.
pub async fn certificate(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<impl IntoResponse, ControlError> {
    match state.bus.sns.certificate(&file) {
        Some(pem) => Ok(([(header::CONTENT_TYPE, "application/x-pem-file")], pem)),
        None => Err(ControlError::not_found(format!("{file} does not exist"))),
    }
}
