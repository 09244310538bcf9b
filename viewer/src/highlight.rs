//! TOML highlighting for the filter editor: splits a text into classed
//! spans whose concatenation is exactly the text, so an overlay lines up
//! with the textarea above it. A display aid only: the engine parses.

/// What a span is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Anything else (spaces, newlines, unknown text).
    Plain,
    /// `# …`.
    Comment,
    /// `[table]` or `[[array.of.tables]]`.
    Table,
    /// A key before `=`.
    Key,
    /// A string, basic or literal, one- or multi-line.
    Str,
    /// A number, boolean or date.
    Literal,
    /// `=`, `,`, brackets and braces of values.
    Punct,
}

impl Class {
    /// The CSS class of the span.
    pub fn css(self) -> &'static str {
        match self {
            Class::Plain => "tk-plain",
            Class::Comment => "tk-comment",
            Class::Table => "tk-table",
            Class::Key => "tk-key",
            Class::Str => "tk-str",
            Class::Literal => "tk-lit",
            Class::Punct => "tk-punct",
        }
    }
}

/// The spans of `text`, in order; their texts concatenate to `text`.
pub fn spans(text: &str) -> Vec<(Class, &str)> {
    let mut out: Vec<(Class, &str)> = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut line_start = true;
    let mut after_equals = false;
    while i < bytes.len() {
        let rest = &text[i..];
        let c = bytes[i];
        if c == b'\n' {
            push(&mut out, Class::Plain, &text[i..i + 1]);
            i += 1;
            line_start = true;
            after_equals = false;
            continue;
        }
        if c == b' ' || c == b'\t' || c == b'\r' {
            let end = i + rest
                .find(|ch: char| ch != ' ' && ch != '\t' && ch != '\r')
                .unwrap_or(rest.len());
            push(&mut out, Class::Plain, &text[i..end]);
            i = end;
            continue;
        }
        if c == b'#' {
            let end = i + rest.find('\n').unwrap_or(rest.len());
            push(&mut out, Class::Comment, &text[i..end]);
            i = end;
            continue;
        }
        if line_start && c == b'[' {
            let end = i + rest.find(['\n', '#']).unwrap_or(rest.len());
            push(&mut out, Class::Table, &text[i..end]);
            i = end;
            line_start = false;
            continue;
        }
        if c == b'"' || c == b'\'' {
            let end = i + string_len(rest);
            push(&mut out, Class::Str, &text[i..end]);
            i = end;
            line_start = false;
            continue;
        }
        if !after_equals && line_start {
            // A key: up to `=` (quoted keys were handled above as strings).
            let end = i + rest.find(['=', '\n', '#']).unwrap_or(rest.len());
            push(&mut out, Class::Key, &text[i..end]);
            i = end;
            line_start = false;
            continue;
        }
        if c == b'=' {
            push(&mut out, Class::Punct, &text[i..i + 1]);
            i += 1;
            after_equals = true;
            line_start = false;
            continue;
        }
        if b"[]{},".contains(&c) {
            push(&mut out, Class::Punct, &text[i..i + 1]);
            i += 1;
            continue;
        }
        // A bare word: number, boolean, date, or an inline-table key.
        let first = rest.chars().next().map_or(1, char::len_utf8);
        let end = i + rest
            .find(|ch: char| ch.is_whitespace() || "[]{},=#\"'".contains(ch))
            .unwrap_or(rest.len())
            .max(first);
        let word = &text[i..end];
        let class = if word == "true"
            || word == "false"
            || word.starts_with(|ch: char| ch.is_ascii_digit() || ch == '+' || ch == '-')
        {
            Class::Literal
        } else if after_equals {
            Class::Plain
        } else {
            Class::Key
        };
        push(&mut out, class, word);
        i = end;
    }
    out
}

/// Appends a non-empty span.
fn push<'a>(out: &mut Vec<(Class, &'a str)>, class: Class, s: &'a str) {
    if !s.is_empty() {
        out.push((class, s));
    }
}

/// The length in bytes of the string starting `rest` (at its quote),
/// through its closing quote or, unterminated, the end of the line (the end
/// of the text for multi-line strings).
fn string_len(rest: &str) -> usize {
    let quote = &rest[..1];
    let triple = quote.repeat(3);
    if rest.starts_with(&triple) {
        return match rest[3..].find(&triple) {
            Some(at) => {
                // Up to two more quotes may belong to the string (`""""` ends it with one).
                let mut end = 3 + at + 3;
                while end < rest.len() && rest[end..].starts_with(quote) && end < 3 + at + 5 {
                    end += 1;
                }
                end
            }
            None => rest.len(),
        };
    }
    let basic = quote == "\"";
    let mut escaped = false;
    for (at, ch) in rest.char_indices().skip(1) {
        if ch == '\n' {
            return at;
        }
        if basic && escaped {
            escaped = false;
            continue;
        }
        if basic && ch == '\\' {
            escaped = true;
            continue;
        }
        if ch.to_string() == quote {
            return at + 1;
        }
    }
    rest.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn classes(text: &str) -> Vec<(Class, String)> {
        spans(text)
            .into_iter()
            .filter(|(c, _)| *c != Class::Plain || !text.is_empty())
            .filter(|(_, s)| !s.trim().is_empty())
            .map(|(c, s)| (c, s.to_string()))
            .collect()
    }

    #[test]
    fn spans_cover_the_text_exactly() {
        let text = "# c\n[meta]\nname = \"shop\" # x\nlabels = ['a', \"b\\\"\"]\nv = 1\n\"q k\" = true\ns = \"\"\"\nmulti\n\"\"\"\nbad = \"open\nü = ï\n";
        let joined: String = spans(text).iter().map(|(_, s)| *s).collect();
        assert_eq!(joined, text);
    }

    #[test]
    fn classes_follow_toml() {
        let got = classes(
            "[[scope.rules]]\nselector = \"pkg:shop.*\" # ours\nversion = 1\nx = [true, 'a']\n",
        );
        let want = vec![
            (Class::Table, "[[scope.rules]]"),
            (Class::Key, "selector "),
            (Class::Punct, "="),
            (Class::Str, "\"pkg:shop.*\""),
            (Class::Comment, "# ours"),
            (Class::Key, "version "),
            (Class::Punct, "="),
            (Class::Literal, "1"),
            (Class::Key, "x "),
            (Class::Punct, "="),
            (Class::Punct, "["),
            (Class::Literal, "true"),
            (Class::Punct, ","),
            (Class::Str, "'a'"),
            (Class::Punct, "]"),
        ];
        let want: Vec<(Class, String)> = want.into_iter().map(|(c, s)| (c, s.into())).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn hostile_text_is_only_split() {
        let text = "<script>alert(1)</script> = \"\"><img onerror=x>\"";
        let joined: String = spans(text).iter().map(|(_, s)| *s).collect();
        assert_eq!(joined, text);
        let odd = "a\u{a0}b = \u{a0}x";
        let joined: String = spans(odd).iter().map(|(_, s)| *s).collect();
        assert_eq!(joined, odd);
    }
}
