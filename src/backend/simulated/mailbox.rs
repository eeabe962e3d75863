//! The simulated tenant's mailbox: every mail the bot sends is appended, as one JSON line
//! `{"to", "from", "subject", "body", "sent_at"}`, to a file (`[backend.simulated] mailbox`),
//! where a person trying the bot (or a test) reads it. The file holds one-time codes, so it
//! is created readable by its owner only.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;

use crate::backend::{BackendError, ErrorKind, Mail, Mailer};
use crate::engine::clock::Clock;

/// Mail "sent" by appending it to a file.
pub struct SimulatedMailbox {
    path: PathBuf,
    from: String,
    clock: Arc<dyn Clock>,
    /// One append at a time, so lines never interleave.
    write: tokio::sync::Mutex<()>,
}

impl SimulatedMailbox {
    /// A mailbox file at `path`; mails come from `from`.
    pub fn new(path: PathBuf, from: impl Into<String>, clock: Arc<dyn Clock>) -> Self {
        SimulatedMailbox {
            path,
            from: from.into(),
            clock,
            write: tokio::sync::Mutex::new(()),
        }
    }

    fn append(&self, line: &str) -> std::io::Result<()> {
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&self.path)?;
        writeln!(file, "{line}")?;
        file.sync_data()
    }
}

#[async_trait]
impl Mailer for SimulatedMailbox {
    fn name(&self) -> &'static str {
        "simulated"
    }

    async fn send(&self, mail: &Mail) -> Result<(), BackendError> {
        let line = serde_json::json!({
            "to": mail.to,
            "from": self.from,
            "subject": mail.subject,
            "body": mail.body,
            "sent_at": crate::store::ts(self.clock.now()),
        })
        .to_string();
        let _one_at_a_time = self.write.lock().await;
        self.append(&line).map_err(|e| {
            BackendError::new(
                ErrorKind::Transient,
                format!(
                    "the simulated mailbox {} cannot be written: {e}",
                    self.path.display()
                ),
            )
        })
    }
}
