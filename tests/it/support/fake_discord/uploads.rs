//! File uploads, as Discord's "Uploading Files" reference gives them: a request that uploads
//! files is `multipart/form-data`; its JSON (optional) is the part `payload_json`, and each
//! file is a part named `files[n]` with a `filename` in its Content-Disposition. The JSON's
//! `attachments` names each new file by its placeholder id `n`, with its `filename` and an
//! optional `description` (alt text, at most 1,024 characters). At most 10 files a message,
//! each at most 10 MiB (the upload limit of a server without boosts). Anything else is
//! refused as Discord refuses it.

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{json, Value};

use super::rest::{error, invalid_form, too_long_field};

/// The most files one message carries.
const MAX_FILES: usize = 10;
/// The largest file, in bytes.
const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;
/// The longest description.
const MAX_DESCRIPTION: usize = 1024;

/// A file the bot uploaded with a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The attachment's id once stored.
    pub id: u64,
    /// Its file name.
    pub filename: String,
    /// Its alt text.
    pub description: Option<String>,
    /// Its part's Content-Type.
    pub content_type: Option<String>,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

impl Upload {
    /// The picture's size when it is a PNG Discord would show (Discord reports it).
    pub fn png_size(&self) -> Option<(u32, u32)> {
        png_size(&self.bytes)
    }
}

/// The width and height of a PNG file; None for anything else.
pub fn png_size(bytes: &[u8]) -> Option<(u32, u32)> {
    let reader = png::Decoder::new(std::io::Cursor::new(bytes))
        .read_info()
        .ok()?;
    let info = reader.info();
    Some((info.width, info.height))
}

/// A request body: its JSON, and the files a multipart body uploads (with placeholder ids,
/// replaced by stored ids in [`attach`]).
pub(super) struct Body {
    pub(super) json: Value,
    pub(super) files: Vec<Upload>,
}

/// Reads a request body: JSON, or multipart with `payload_json` and `files[n]`.
pub(super) async fn read(headers: &HeaderMap, bytes: axum::body::Bytes) -> Result<Body, Refusal> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("multipart/form-data") {
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        return Ok(Body {
            json,
            files: Vec::new(),
        });
    }
    let boundary = multer::parse_boundary(content_type).map_err(|_| bad_multipart())?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::io::Error>(bytes) });
    let mut form = multer::Multipart::new(stream, boundary);
    let mut json = Value::Object(Default::default());
    let mut files = Vec::new();
    while let Some(field) = form.next_field().await.map_err(|_| bad_multipart())? {
        let name = field.name().unwrap_or_default().to_string();
        let filename = field.file_name().map(str::to_string);
        let part_type = field.content_type().map(|m| m.to_string());
        let data = field.bytes().await.map_err(|_| bad_multipart())?;
        if name == "payload_json" {
            json = serde_json::from_slice(&data).map_err(|_| {
                error(
                    StatusCode::BAD_REQUEST,
                    50109,
                    "The request body contains invalid JSON.",
                )
            })?;
            continue;
        }
        let n = name
            .strip_prefix("files[")
            .and_then(|rest| rest.strip_suffix(']'))
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| form_error(&name, "UNKNOWN_FIELD", "Unknown form field."))?;
        let Some(filename) = filename.filter(|f| !f.is_empty()) else {
            return Err(form_error(
                &name,
                "FILE_NAME_REQUIRED",
                "A file needs a filename.",
            ));
        };
        if files.iter().any(|f: &Upload| f.id == n) {
            return Err(form_error(
                &name,
                "DUPLICATE_FIELD",
                "Each file needs its own name.",
            ));
        }
        if data.len() > MAX_FILE_BYTES {
            return Err(Box::new(error(
                StatusCode::PAYLOAD_TOO_LARGE,
                40005,
                "Request entity too large",
            )));
        }
        files.push(Upload {
            id: n,
            filename,
            description: None,
            content_type: part_type,
            bytes: data.to_vec(),
        });
    }
    if files.len() > MAX_FILES {
        return Err(Box::new(too_long_field("files", MAX_FILES)));
    }
    describe(&json, &mut files)?;
    Ok(Body { json, files })
}

/// Applies the JSON's `attachments` to the uploaded files: each entry names an uploaded
/// file by its placeholder id, with its description.
fn describe(json: &Value, files: &mut [Upload]) -> Result<(), Refusal> {
    let Some(entries) = json.get("attachments").and_then(Value::as_array) else {
        return Ok(());
    };
    for (i, entry) in entries.iter().enumerate() {
        let id = match &entry["id"] {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.parse().ok(),
            _ => None,
        };
        let Some(file) = id.and_then(|id| files.iter_mut().find(|f| f.id == id)) else {
            return Err(Box::new(invalid_form(
                json!({"attachments": {i.to_string(): {"id": {"_errors": [{
                    "code": "ATTACHMENT_NOT_FOUND",
                    "message": "No file was uploaded for this attachment id.",
                }]}}}}),
            )));
        };
        if let Some(d) = entry["description"].as_str() {
            if d.chars().count() > MAX_DESCRIPTION {
                return Err(Box::new(too_long_field("description", MAX_DESCRIPTION)));
            }
            file.description = Some(d.to_string());
        }
    }
    Ok(())
}

/// The attachments' JSON of a message, as Discord reports them.
pub(super) fn attachments_json(channel: u64, files: &[Upload]) -> Value {
    files
        .iter()
        .map(|f| {
            let url = format!(
                "https://cdn.discordapp.com/attachments/{channel}/{}/{}",
                f.id, f.filename
            );
            let mut v = json!({
                "id": f.id.to_string(), "filename": f.filename, "size": f.bytes.len(),
                "url": url, "proxy_url": url, "content_type": f.content_type,
            });
            if let Some(d) = &f.description {
                v["description"] = json!(d);
            }
            if let Some((w, h)) = f.png_size() {
                v["width"] = json!(w);
                v["height"] = json!(h);
            }
            v
        })
        .collect()
}

/// A refused request's answer.
pub(super) type Refusal = Box<Response>;

fn bad_multipart() -> Refusal {
    Box::new(error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body"))
}

fn form_error(field: &str, code: &str, message: &str) -> Refusal {
    Box::new(invalid_form(
        json!({field: {"_errors": [{"code": code, "message": message}]}}),
    ))
}
