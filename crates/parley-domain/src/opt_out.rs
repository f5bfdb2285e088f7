//! Opt-out keywords: a whole message that says STOP (or opts back in, or asks for HELP).
//!
//! The match is on the whole message, case-insensitive, ignoring spaces, surrounding
//! punctuation and accents (`Arrêt` = `ARRET`), so "please stop texting me" is not an
//! opt-out but " Stop! " is. English follows the US carriers' standard list; Spanish,
//! French and Portuguese add their common equivalents.

/// What a keyword message asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keyword {
    /// Stop all messages from this number.
    OptOut,
    /// Take me back (only meaningful for a user who opted out).
    OptIn,
    /// Send the number's help text.
    Help,
}

const OPT_OUT: &[&str] = &[
    // English (CTIA / carrier standard)
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
    // Spanish
    "PARAR",
    "BAJA",
    "DARDEBAJA",
    "CANCELAR",
    "DETENER",
    "ALTO",
    // French
    "ARRET",
    "ARRETER",
    "DESABONNER",
    "DESINSCRIRE",
    "DESINSCRIPTION",
    "ANNULER",
    // Portuguese (PARAR and CANCELAR are shared with Spanish)
    "PARE",
    "SAIR",
    "DESCADASTRAR",
];

const OPT_IN: &[&str] = &[
    "START",
    "UNSTOP",
    "YES", // English
    "SI",
    "ALTA",
    "COMENZAR", // Spanish
    "OUI",
    "COMMENCER",
    "DEMARRER", // French
    "SIM",
    "INICIAR",
    "COMECAR", // Portuguese
];

const HELP: &[&str] = &["HELP", "INFO", "AYUDA", "AIDE", "AJUDA"];

/// The keyword `text` is, if it is one.
pub fn classify(text: &str) -> Option<Keyword> {
    let word = normalize(text);
    if word.is_empty() {
        None
    } else if OPT_OUT.contains(&word.as_str()) {
        Some(Keyword::OptOut)
    } else if OPT_IN.contains(&word.as_str()) {
        Some(Keyword::OptIn)
    } else if HELP.contains(&word.as_str()) {
        Some(Keyword::Help)
    } else {
        None
    }
}

/// Uppercase, accents folded, whitespace removed, punctuation at either end dropped.
fn normalize(text: &str) -> String {
    let folded: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .map(fold_accent)
        .collect();
    folded
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_owned()
}

/// The base letter of the accented capitals Spanish, French and Portuguese use.
fn fold_accent(c: char) -> char {
    match c {
        'À' | 'Á' | 'Â' | 'Ã' | 'Ä' | 'Å' => 'A',
        'Ç' => 'C',
        'È' | 'É' | 'Ê' | 'Ë' => 'E',
        'Ì' | 'Í' | 'Î' | 'Ï' => 'I',
        'Ñ' => 'N',
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ö' => 'O',
        'Ù' | 'Ú' | 'Û' | 'Ü' => 'U',
        'Ý' | 'Ÿ' => 'Y',
        c => c,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn every_language_opts_out() {
        for w in [
            "STOP",
            "stop",
            " Stop! ",
            "s t o p",
            "StopAll",
            "unsubscribe",
            "Cancel",
            "end",
            "QUIT",
            "revoke",
            "opt out",
            "OPTOUT",
            "Parar",
            "baja",
            "CANCELAR",
            "Arrêt",
            "arret",
            "Désabonner",
            "pare",
            "Sair",
        ] {
            assert_eq!(classify(w), Some(Keyword::OptOut), "{w}");
        }
        for w in [
            "START",
            "unstop",
            "Yes",
            "sí",
            "Oui",
            "sim",
            "Démarrer",
            "começar",
        ] {
            assert_eq!(classify(w), Some(Keyword::OptIn), "{w}");
        }
        for w in ["HELP", "help?", "Ayuda", "aide", "AJUDA"] {
            assert_eq!(classify(w), Some(Keyword::Help), "{w}");
        }
        for w in [
            "please stop texting me",
            "stop it now",
            "",
            "   ",
            "stopp",
            "yes please",
            "I want to cancel",
        ] {
            assert_eq!(classify(w), None, "{w}");
        }
    }

    proptest! {
        /// Case, inner and outer spaces and end punctuation never change the answer.
        #[test]
        fn case_and_spacing_do_not_matter(i in 0usize..OPT_OUT.len(), upper in any::<Vec<bool>>(), pad in "[ \t]{0,3}", punct in "[.!?]{0,2}") {
            let word = OPT_OUT[i];
            let styled: String = word
                .chars()
                .enumerate()
                .map(|(n, c)| if upper.get(n).copied().unwrap_or(false) { c } else { c.to_ascii_lowercase() })
                .collect();
            let text = format!("{pad}{styled}{punct}{pad}");
            prop_assert_eq!(classify(&text), Some(Keyword::OptOut));
        }

        /// A message with a word besides the keyword is never a keyword.
        #[test]
        fn keywords_must_be_the_whole_message(i in 0usize..OPT_OUT.len(), other in "[a-z]{3,8}") {
            let text = format!("{} {other}", OPT_OUT[i]);
            let joined = format!("{}{}", OPT_OUT[i], other.to_uppercase());
            prop_assume!(!OPT_OUT.contains(&joined.as_str()) && !OPT_IN.contains(&joined.as_str()) && !HELP.contains(&joined.as_str()));
            prop_assert_eq!(classify(&text), None);
        }
    }
}
