//! User principal names: the directory account a licence is assigned to.

use super::ParseError;

/// A Microsoft Entra user principal name, `local@domain`, stored lower-case.
///
/// Microsoft allows `A-Z a-z 0-9 ' . - _ ! # ^ ~` in the local part (the `#` appears in
/// guest UPNs such as `adele_adatum.com#EXT#@contoso.onmicrosoft.com`) and at most 113
/// characters before the domain; the domain is a DNS name. Anything else is refused here,
/// so a UPN can never smuggle a path, an OData filter or SQL into a backend call.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Upn(String);

/// The rule a text breaks that is not a valid UPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpnProblem {
    /// No `@`.
    NoAt,
    /// The part before `@` is empty or longer than 113 characters.
    LocalLength,
    /// The part before `@` holds a character a UPN may not.
    LocalCharacters,
    /// A dot starts, ends or repeats in the part before `@`.
    LocalDots,
    /// The domain is no DNS name.
    Domain,
}

impl UpnProblem {
    /// In words, for the operator (settings problems, logs).
    pub fn describe(self) -> &'static str {
        match self {
            UpnProblem::NoAt => "it has no @",
            UpnProblem::LocalLength => "the part before @ must have 1 to 113 characters",
            UpnProblem::LocalCharacters => {
                "the part before @ may only hold letters, digits and ' . - _ ! # ^ ~"
            }
            UpnProblem::LocalDots => "dots may not start, end or repeat in the part before @",
            UpnProblem::Domain => "the domain must be a DNS name such as contoso.com",
        }
    }
}

impl Upn {
    /// Parses and normalises a UPN; the error says why in words for the operator (chat
    /// answers use [`Upn::check`] and the catalogue).
    pub fn parse(input: &str) -> Result<Upn, ParseError> {
        Upn::check(input).map_err(|why| {
            ParseError(format!(
                "`{}` is not a valid UPN: {}",
                shorten(input.trim()),
                why.describe()
            ))
        })
    }

    /// Parses and normalises a UPN, or says which rule it breaks.
    pub fn check(input: &str) -> Result<Upn, UpnProblem> {
        let s = input.trim();
        let (local, domain) = s.split_once('@').ok_or(UpnProblem::NoAt)?;
        if local.is_empty() || local.chars().count() > 113 {
            return Err(UpnProblem::LocalLength);
        }
        if !local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "'.-_!#^~".contains(c))
        {
            return Err(UpnProblem::LocalCharacters);
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err(UpnProblem::LocalDots);
        }
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = domain.len() <= 255
            && labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !domain_ok {
            return Err(UpnProblem::Domain);
        }
        Ok(Upn(s.to_ascii_lowercase()))
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() > 64 {
        let cut: String = s.chars().take(61).collect();
        format!("{cut}...")
    } else {
        s.to_string()
    }
}

super::checked_text!(Upn);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upn_is_lowercased() {
        assert_eq!(
            Upn::parse(" Alice@Contoso.Example ").unwrap().as_str(),
            "alice@contoso.example"
        );
    }

    #[test]
    fn guest_and_apostrophe_upns_are_valid() {
        assert!(Upn::parse("adele_adatum.com#EXT#@contoso.onmicrosoft.com").is_ok());
        assert!(Upn::parse("o'brien@contoso.com").is_ok());
    }

    #[test]
    fn injection_attempts_are_refused() {
        for bad in [
            "alice",
            "@contoso.com",
            "alice@",
            "alice@localhost",
            "a lice@contoso.com",
            "alice@contoso.com/../../admin",
            "x' or 1 eq 1 or 'a@contoso.com",
            "alice@contoso.com?$filter=x",
            "a@b@contoso.com",
            "alice;drop table requests@contoso.com",
            "alice@-contoso.com",
            "al..ice@contoso.com",
        ] {
            assert!(Upn::parse(bad).is_err(), "{bad}");
        }
    }
}
