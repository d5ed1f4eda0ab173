use super::SchemaVersion;
use crate::error::Problem;
use schemars::JsonSchema;
use serde::Serialize;

/// What klp prints on stdout (in JSON mode) when a command fails.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ErrorDocument {
    pub(crate) schema_version: SchemaVersion,
    pub(crate) error: ErrorBody,
}

/// `code` (stable, one of the codes below) and `details` (their shape
/// depends on `code`), then the message for people.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(transform = list_codes)]
pub(crate) struct ErrorBody {
    #[serde(flatten)]
    pub(crate) problem: Problem,
    pub(crate) message: String,
    /// The process exit status that goes with this error.
    pub(crate) exit_code: u8,
    /// The file concerned, when there is one.
    pub(crate) path: Option<String>,
}

impl ErrorDocument {
    /// The document of `err`, exiting with `exit_code`.
    /// The document of `err`, exiting with `exit_code`.
    pub fn new(err: &crate::Error, exit_code: u8) -> Self {
        ErrorDocument {
            schema_version: SchemaVersion,
            error: ErrorBody {
                problem: err.problem(),
                message: err.to_string(),
                exit_code,
                path: err.path().map(|p| p.display().to_string()),
            },
        }
    }
}

/// Lists every code in `properties.code` (an `enum`), beside the per-code
/// branches that give each code its `details` shape.
fn list_codes(schema: &mut schemars::Schema) {
    let code = serde_json::json!({
        "description": "Stable code; never reworded.",
        "type": "string",
        "enum": crate::error::error_codes(),
    });
    if let Some(properties) = schema.get_mut("properties").and_then(|p| p.as_object_mut()) {
        properties.insert("code".into(), code);
    }
    if let Some(required) = schema.get_mut("required").and_then(|r| r.as_array_mut()) {
        required.insert(0, "code".into());
        required.push("details".into());
    }
}
