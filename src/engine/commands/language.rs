//! `!pro language [en|nl]`: the language the bot answers a person in, chosen by them.
//!
//! A choice is a preference, not an act on licences or money: it is stored, not audited. A
//! slash command still follows the language of the person's Discord app, which Discord sends
//! with it; the choice holds for text commands and for what the bot writes to them later.

use super::Intake;
use crate::domain::Language;
use crate::engine::error::EngineResult;
use crate::engine::ports::IncomingMessage;
use crate::store::languages;
use crate::t;
use crate::texts::Texts;

impl Intake {
    pub(super) async fn language(
        &self,
        m: &IncomingMessage,
        choice: Option<Language>,
    ) -> EngineResult<()> {
        let Some(language) = choice else {
            // Said in the language being spoken to them, which is the answer.
            let texts = self.core.texts();
            let choices = Language::ALL
                .iter()
                .map(|l| format!("`{}` ({})", l.as_str(), self.language_name(texts, *l)))
                .collect::<Vec<_>>()
                .join(", ");
            let spoken = self.core.spoken();
            let text = t!(
                texts,
                "language.current",
                language = self.language_name(texts, spoken),
                prefix = self.core.cfg().parser.prefix,
                choices = choices
            );
            self.reply_now(m, text).await;
            return Ok(());
        };
        let mut w = self.core.store().write().await?;
        languages::choose(w.conn().await?, &m.author, language, self.core.now()).await?;
        let text = self.core.in_language(language, || {
            let texts = self.core.texts();
            t!(
                texts,
                "language.set",
                language = self.language_name(texts, language)
            )
        });
        self.core.reply_and_commit(w, m, text).await
    }
}

impl Intake {
    /// The name of `language` in the language of `texts` ("Dutch", "Nederlands"); a
    /// catalogue that does not name it (a language added after it) says the language's own
    /// name for itself.
    fn language_name(&self, texts: &Texts, language: Language) -> String {
        let key = format!("language.{}", language.as_str());
        match texts.has(&key) {
            true => texts.get(&key, &[]),
            false => self.core.catalogue(language).get(&key, &[]),
        }
    }
}
