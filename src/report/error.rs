use super::SchemaVersion;
use schemars::JsonSchema;
use serde::Serialize;

/// What klp prints on stdout (in JSON mode) when a command fails.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorDocument {
    pub schema_version: SchemaVersion,
    pub error: ErrorBody,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorBody {
    /// Stable code, e.g. `usage`, `malformed_value`, `permission_denied`.
    pub code: String,
    pub message: String,
    /// The process exit status that goes with this error.
    pub exit_code: u8,
    /// The file concerned, when there is one.
    pub path: Option<String>,
    /// Further facts, depending on `code`.
    pub details: Option<serde_json::Value>,
}

impl ErrorDocument {
    pub fn new(err: &crate::Error, exit_code: u8) -> Self {
        ErrorDocument {
            schema_version: SchemaVersion,
            error: ErrorBody {
                code: err.code().to_string(),
                message: err.to_string(),
                exit_code,
                path: err.path().map(|p| p.display().to_string()),
                details: err.details(),
            },
        }
    }
}
