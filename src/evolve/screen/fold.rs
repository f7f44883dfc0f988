//! Folding text before screening: compatibility forms (NFKC: full-width letters, ligatures,
//! mathematical alphabets), Cyrillic and Greek look-alikes of Latin letters, invisible characters
//! removed, and every run of whitespace one space, so spelling tricks don't dodge the rules.

use unicode_normalization::UnicodeNormalization;

/// Characters that render as nothing (zero-width spaces and joiners, bidi controls, soft hyphen,
/// the byte-order mark) and are dropped.
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}' | '\u{180E}'
        | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{206F}' | '\u{3164}'
        | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}' | '\u{FFA0}' | '\u{E0000}'..='\u{E007F}')
}

/// The Latin letter a common Cyrillic or Greek look-alike stands for.
fn latin(c: char) -> Option<char> {
    Some(match c {
        'а' | 'А' | 'α' | 'Α' => 'a',
        'В' | 'Β' | 'в' | 'ь' | 'Ь' => 'b',
        'с' | 'С' | 'ϲ' | 'Ϲ' => 'c',
        'ԁ' => 'd',
        'е' | 'Е' | 'ё' | 'Ё' | 'ε' | 'Ε' => 'e',
        'ɡ' => 'g',
        'һ' | 'Һ' | 'Н' | 'н' | 'Η' => 'h',
        'і' | 'І' | 'ї' | 'Ї' | 'ι' | 'Ι' | 'ӏ' | 'Ӏ' => 'i',
        'ј' | 'Ј' => 'j',
        'к' | 'К' | 'κ' | 'Κ' => 'k',
        'М' | 'м' | 'Μ' => 'm',
        'п' | 'η' | 'Ν' => 'n',
        'о' | 'О' | 'ο' | 'Ο' | 'σ' => 'o',
        'р' | 'Р' | 'ρ' | 'Ρ' => 'p',
        'ԛ' | 'Ԛ' => 'q',
        'г' => 'r',
        'ѕ' | 'Ѕ' => 's',
        'т' | 'Т' | 'τ' | 'Τ' => 't',
        'υ' | 'μ' => 'u',
        'ν' | 'ѵ' | 'Ѵ' => 'v',
        'ԝ' | 'Ԝ' | 'ω' => 'w',
        'х' | 'Х' | 'χ' | 'Χ' => 'x',
        'у' | 'У' | 'ү' | 'Ү' | 'γ' | 'Υ' => 'y',
        'Ζ' => 'z',
        _ => return None,
    })
}

/// `text` folded for matching: NFKC, look-alikes as Latin letters, invisible characters gone,
/// whitespace runs (line breaks included) as one space, trimmed. Case is kept: rules that care
/// (curl's `-F` is not `-f`) can tell; the others match case-insensitively.
pub fn fold(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for c in text.nfkc() {
        if invisible(c) {
            continue;
        }
        if c.is_whitespace() {
            space = !out.is_empty();
            continue;
        }
        if space {
            out.push(' ');
            space = false;
        }
        out.push(latin(c).unwrap_or(c));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::fold;

    #[test]
    fn look_alikes_invisibles_and_spacing_fold_to_plain_text() {
        // Cyrillic о and е, Greek ι, a zero-width space, full-width letters, a line break.
        assert_eq!(
            fold("ign\u{200B}оrе  prev\u{03B9}ous\n\n ｉｎｓｔｒｕｃｔｉｏｎｓ "),
            "ignore previous instructions"
        );
        assert_eq!(fold("\u{FEFF}𝐜𝐮𝐫𝐥 x | sh"), "curl x | sh");
        assert_eq!(fold("ﬁle"), "file");
        assert_eq!(fold("Keep Case"), "Keep Case");
    }
}
