//! The one error type of the API and its restJson1 wire form.
//!
//! Every failure on the request path becomes an [`ApiError`]; [`ApiError::into_response_for`]
//! writes it as the real service does: the modeled status, `x-amzn-ErrorType: <Shape>`,
//! `x-amzn-RequestId` and a JSON body `{"message": "..."}`. The SDKs pick the exception type from
//! that header, so this is what makes `err.is_resource_not_found_exception()` work.

use http::{HeaderValue, StatusCode};

/// The error shapes of the `socialmessaging` model, plus the one an unknown route gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    Validation,
    InvalidParameters,
    AccessDenied,
    AccessDeniedByMeta,
    ResourceNotFound,
    Conflict,
    LimitExceeded,
    ThrottledRequest,
    InternalService,
    Dependency,
    /// Not in the model: what AWS answers for a path or method no operation has.
    UnknownOperation,
    /// Not in the model (AWS's common authentication errors, 403, with `--verify-sigv4`): no
    /// signature at all.
    MissingAuthenticationToken,
    /// A malformed `Authorization` header or presigned query.
    IncompleteSignature,
    /// An access key the credentials file does not hold.
    UnrecognizedClient,
    /// A signature that does not match, a stale date or a wrong credential scope.
    InvalidSignature,
}

impl ErrorKind {
    /// All modeled kinds (every kind but `UnknownOperation`).
    pub const MODELED: [ErrorKind; 10] = [
        ErrorKind::Validation,
        ErrorKind::InvalidParameters,
        ErrorKind::AccessDenied,
        ErrorKind::AccessDeniedByMeta,
        ErrorKind::ResourceNotFound,
        ErrorKind::Conflict,
        ErrorKind::LimitExceeded,
        ErrorKind::ThrottledRequest,
        ErrorKind::InternalService,
        ErrorKind::Dependency,
    ];

    /// The shape name, sent as `x-amzn-ErrorType`.
    pub fn shape(self) -> &'static str {
        match self {
            ErrorKind::Validation => "ValidationException",
            ErrorKind::InvalidParameters => "InvalidParametersException",
            ErrorKind::AccessDenied => "AccessDeniedException",
            ErrorKind::AccessDeniedByMeta => "AccessDeniedByMetaException",
            ErrorKind::ResourceNotFound => "ResourceNotFoundException",
            ErrorKind::Conflict => "ConflictException",
            ErrorKind::LimitExceeded => "LimitExceededException",
            ErrorKind::ThrottledRequest => "ThrottledRequestException",
            ErrorKind::InternalService => "InternalServiceException",
            ErrorKind::Dependency => "DependencyException",
            ErrorKind::UnknownOperation => "UnknownOperationException",
            ErrorKind::MissingAuthenticationToken => "MissingAuthenticationTokenException",
            ErrorKind::IncompleteSignature => "IncompleteSignatureException",
            ErrorKind::UnrecognizedClient => "UnrecognizedClientException",
            ErrorKind::InvalidSignature => "InvalidSignatureException",
        }
    }

    /// The modeled HTTP status (checked against the model facts by a test).
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::Validation | ErrorKind::InvalidParameters | ErrorKind::LimitExceeded => {
                StatusCode::BAD_REQUEST
            }
            ErrorKind::AccessDenied
            | ErrorKind::AccessDeniedByMeta
            | ErrorKind::MissingAuthenticationToken
            | ErrorKind::IncompleteSignature
            | ErrorKind::UnrecognizedClient
            | ErrorKind::InvalidSignature => StatusCode::FORBIDDEN,
            ErrorKind::ResourceNotFound | ErrorKind::UnknownOperation => StatusCode::NOT_FOUND,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::ThrottledRequest => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::InternalService => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Dependency => StatusCode::BAD_GATEWAY,
        }
    }

    /// The errors of request authentication, common to every AWS service and declared by none.
    pub fn is_authentication(self) -> bool {
        matches!(
            self,
            ErrorKind::MissingAuthenticationToken
                | ErrorKind::IncompleteSignature
                | ErrorKind::UnrecognizedClient
                | ErrorKind::InvalidSignature
        )
    }

    pub fn from_shape(name: &str) -> Option<ErrorKind> {
        Self::MODELED.into_iter().find(|k| k.shape() == name)
    }
}

/// An error answered to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub kind: ErrorKind,
    pub message: String,
    /// A status other than the modeled one (413 for an oversized body, 501 for an operation
    /// this emulator does not implement yet); the error type stays modeled.
    pub status: Option<StatusCode>,
}

impl ApiError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ApiError { kind, message: message.into(), status: None }
    }
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Validation, message)
    }
    pub fn invalid_parameters(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidParameters, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ResourceNotFound, message)
    }
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::AccessDenied, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InternalService, message)
    }
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = Some(status);
        self
    }

    /// Maps the error onto one the operation declares: an SDK turns an undeclared error code into
    /// an `Unhandled` error, so e.g. a missing resource in an operation without
    /// `ResourceNotFoundException` is answered as `InvalidParametersException`.
    pub fn declared_for(mut self, declared: &[ErrorKind]) -> Self {
        if self.kind == ErrorKind::UnknownOperation
            || self.kind.is_authentication()
            || declared.contains(&self.kind)
        {
            return self;
        }
        let fallbacks: &[ErrorKind] = match self.kind {
            ErrorKind::AccessDeniedByMeta => &[ErrorKind::AccessDenied],
            ErrorKind::InternalService => &[ErrorKind::Dependency],
            ErrorKind::Dependency => &[ErrorKind::InternalService],
            ErrorKind::LimitExceeded => &[ErrorKind::InvalidParameters],
            _ => &[ErrorKind::InvalidParameters],
        };
        if let Some(kind) = fallbacks.iter().copied().find(|k| declared.contains(k)) {
            self.kind = kind;
        }
        self
    }

    /// The restJson1 wire form (a web framework's response from an `http` one).
    pub fn into_response_for(self, request_id: &str) -> http::Response<String> {
        let status = self.status.unwrap_or(self.kind.status());
        let body = serde_json::json!({ "message": self.message }).to_string();
        let mut response = http::Response::new(body);
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert("content-type", HeaderValue::from_static("application/json"));
        headers.insert("x-amzn-errortype", HeaderValue::from_static(self.kind.shape()));
        if let Ok(v) = HeaderValue::from_str(request_id) {
            headers.insert("x-amzn-requestid", v);
        }
        response
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind.shape(), self.message)
    }
}

impl std::error::Error for ApiError {}

pub type ApiResult<T> = Result<T, ApiError>;
