//! A picture a message carries (the seat chart): PNG bytes and the file name it goes by.

/// A PNG picture to attach to a message.
#[derive(Clone, PartialEq, Eq)]
pub struct Picture {
    /// The file name it is shown under (`seats.png`).
    pub file_name: String,
    /// What it shows, in words, for those who cannot see it (Discord's attachment
    /// description, read by screen readers).
    pub description: String,
    /// The PNG file's bytes.
    pub png: Vec<u8>,
}

impl std::fmt::Debug for Picture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Picture")
            .field("file_name", &self.file_name)
            .field("description", &self.description)
            .field("bytes", &self.png.len())
            .finish()
    }
}
