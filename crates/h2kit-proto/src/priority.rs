//! Extensible priorities (RFC 9218): a response's urgency (0, the most urgent, to 7) and
//! whether it is useful in pieces (incremental), carried by the `priority` request header and
//! by PRIORITY_UPDATE frames.
//!
//! The field is a Structured Fields Dictionary (RFC 8941 §3.2). What does not parse as one,
//! and members of the wrong type or range, are ignored as RFC 9218 §4 says: the defaults
//! (`u=3`, not incremental) stand in for them.

/// A response's priority (RFC 9218 §4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Priority {
    /// 0 (most urgent) to 7 (least).
    pub urgency: u8,
    /// The response is useful in pieces: it may share the connection with others of its
    /// urgency rather than wait for them to finish.
    pub incremental: bool,
}

impl Default for Priority {
    fn default() -> Priority {
        Priority::DEFAULT
    }
}

/// The PRIORITY_UPDATE frame type (RFC 9218 §7.1).
pub const PRIORITY_UPDATE: u8 = 0x10;

impl Priority {
    /// `u=3`, not incremental (RFC 9218 §4.1, §4.2).
    pub const DEFAULT: Priority = Priority {
        urgency: 3,
        incremental: false,
    };

    /// The priority a field value signals (parameters it omits take their defaults). A value
    /// that is not a valid dictionary signals nothing: the defaults.
    pub fn parse(value: &[u8]) -> Priority {
        Priority::read(value).0
    }

    /// For a value a user typed: the priority, or why the value would be ignored.
    pub fn parse_strict(value: &[u8]) -> Result<Priority, &'static str> {
        match Priority::read(value) {
            (p, None) => Ok(p),
            (_, Some(why)) => Err(why),
        }
    }

    /// The priority, and what was ignored in the value, if anything.
    fn read(value: &[u8]) -> (Priority, Option<&'static str>) {
        let mut p = Priority::DEFAULT;
        let Some(members) = dictionary(value) else {
            return (p, Some("not a structured-field dictionary (RFC 8941 §3.2)"));
        };
        let mut ignored = None;
        // A dictionary keeps the last of duplicated keys (RFC 8941 §4.2.2).
        for (key, item) in members {
            match (key, item) {
                (b"u", Item::Integer(u)) if (0..=7).contains(&u) => p.urgency = u as u8,
                (b"u", _) => {
                    p.urgency = Priority::DEFAULT.urgency;
                    ignored = Some("u must be an integer from 0 to 7 (RFC 9218 §4.1)");
                }
                (b"i", Item::Boolean(i)) => p.incremental = i,
                (b"i", _) => {
                    p.incremental = Priority::DEFAULT.incremental;
                    ignored = Some("i must be a boolean: i, i=?1 or i=?0 (RFC 9218 §4.2)");
                }
                _ => {}
            }
        }
        (p, ignored)
    }

    /// The field value that signals this priority (defaults omitted, as RFC 9218 §4 allows).
    pub fn to_field(self) -> String {
        let mut out = String::new();
        if self.urgency != Priority::DEFAULT.urgency {
            out.push_str("u=");
            out.push(char::from(b'0' + self.urgency.min(7)));
        }
        if self.incremental {
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push('i');
        }
        out
    }
}

impl From<Priority> for http::HeaderValue {
    /// The `priority` header that signals it (RFC 9218 §5).
    fn from(p: Priority) -> http::HeaderValue {
        http::HeaderValue::try_from(p.to_field()).expect("a priority field is visible ASCII")
    }
}

/// A member's value, as far as priorities care: anything else parses but is `Other`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Item {
    Integer(i64),
    Boolean(bool),
    Other,
}

/// The members of a Structured Fields Dictionary (RFC 8941 §4.2.2), or `None` if `input` is
/// not one.
fn dictionary(input: &[u8]) -> Option<Vec<(&[u8], Item)>> {
    let mut p = Parser { b: input, i: 0 };
    p.skip(b' ');
    let mut members = Vec::new();
    while !p.done() {
        let key = p.key()?;
        let item = if p.eat(b'=') {
            if p.peek() == Some(b'(') {
                p.inner_list()?;
                Item::Other
            } else {
                p.bare_item()?
            }
        } else {
            Item::Boolean(true)
        };
        p.parameters()?;
        members.push((key, item));
        p.skip_ows();
        if p.done() {
            break;
        }
        if !p.eat(b',') {
            return None;
        }
        p.skip_ows();
        // A trailing comma is an error.
        if p.done() {
            return None;
        }
    }
    Some(members)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Parser<'a> {
    fn done(&self) -> bool {
        // Trailing spaces are discarded (RFC 8941 §4.2).
        self.b[self.i..].iter().all(|&c| c == b' ')
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn skip(&mut self, c: u8) {
        while self.eat(c) {}
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    /// key = ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )
    fn key(&mut self) -> Option<&'a [u8]> {
        let start = self.i;
        match self.peek()? {
            b'a'..=b'z' | b'*' => self.i += 1,
            _ => return None,
        }
        while matches!(
            self.peek(),
            Some(b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'*')
        ) {
            self.i += 1;
        }
        Some(&self.b[start..self.i])
    }

    /// parameters = *( ";" *SP key [ "=" bare-item ] )
    fn parameters(&mut self) -> Option<()> {
        while self.eat(b';') {
            self.skip(b' ');
            self.key()?;
            if self.eat(b'=') {
                self.bare_item()?;
            }
        }
        Some(())
    }

    /// inner-list = "(" *SP [ item *( 1*SP item ) *SP ] ")" parameters
    fn inner_list(&mut self) -> Option<()> {
        self.eat(b'(');
        loop {
            self.skip(b' ');
            if self.eat(b')') {
                return self.parameters();
            }
            self.bare_item()?;
            self.parameters()?;
            if !matches!(self.peek(), Some(b' ' | b')')) {
                return None;
            }
        }
    }

    fn bare_item(&mut self) -> Option<Item> {
        match self.peek()? {
            b'-' | b'0'..=b'9' => self.number(),
            b'"' => self.string().map(|()| Item::Other),
            b':' => self.byte_sequence().map(|()| Item::Other),
            b'?' => {
                self.i += 1;
                let v = match self.peek()? {
                    b'0' => false,
                    b'1' => true,
                    _ => return None,
                };
                self.i += 1;
                Some(Item::Boolean(v))
            }
            b'A'..=b'Z' | b'a'..=b'z' | b'*' => {
                // token = ( ALPHA / "*" ) *( tchar / ":" / "/" )
                self.i += 1;
                while let Some(c) = self.peek() {
                    let tchar = c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~:/".contains(&c);
                    if !tchar {
                        break;
                    }
                    self.i += 1;
                }
                Some(Item::Other)
            }
            _ => None,
        }
    }

    /// An Integer (up to 15 digits) or a Decimal (up to 12 integer and 3 fraction digits).
    fn number(&mut self) -> Option<Item> {
        let negative = self.eat(b'-');
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        let int_digits = self.i - start;
        if int_digits == 0 {
            return None;
        }
        if self.eat(b'.') {
            let frac = self.i;
            while matches!(self.peek(), Some(b'0'..=b'9')) {
                self.i += 1;
            }
            let frac_digits = self.i - frac;
            if int_digits > 12 || frac_digits == 0 || frac_digits > 3 {
                return None;
            }
            return Some(Item::Other);
        }
        if int_digits > 15 {
            return None;
        }
        let v: i64 = std::str::from_utf8(&self.b[start..self.i])
            .ok()?
            .parse()
            .ok()?;
        Some(Item::Integer(if negative { -v } else { v }))
    }

    /// sf-string = DQUOTE *( unescaped / "%" / bs-escaped ) DQUOTE, printable ASCII only.
    fn string(&mut self) -> Option<()> {
        self.eat(b'"');
        loop {
            match self.peek()? {
                b'"' => {
                    self.i += 1;
                    return Some(());
                }
                b'\\' => {
                    self.i += 1;
                    match self.peek()? {
                        b'"' | b'\\' => self.i += 1,
                        _ => return None,
                    }
                }
                0x20..=0x7e => self.i += 1,
                _ => return None,
            }
        }
    }

    /// sf-binary = ":" base64 ":"
    fn byte_sequence(&mut self) -> Option<()> {
        self.eat(b':');
        loop {
            match self.peek()? {
                b':' => {
                    self.i += 1;
                    return Some(());
                }
                c if c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'=') => self.i += 1,
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> (u8, bool) {
        let p = Priority::parse(s.as_bytes());
        (p.urgency, p.incremental)
    }

    #[test]
    fn rfc9218_4_parameters_and_their_defaults() {
        assert_eq!(p(""), (3, false));
        assert_eq!(p("u=0"), (0, false));
        assert_eq!(p("u=7, i"), (7, true));
        assert_eq!(p("i"), (3, true));
        assert_eq!(p("i=?1"), (3, true));
        assert_eq!(p("i=?0, u=5"), (5, false));
        assert_eq!(p("  u=1,i  "), (1, true));
        // Unknown members and parameters are ignored; the last of a duplicated key wins.
        assert_eq!(p("u=2, foo=\"bar\", i;x=1, zz=(a b);q=0.5"), (2, true));
        assert_eq!(p("u=1, u=6"), (6, false));
    }

    #[test]
    fn rfc9218_4_wrong_types_and_ranges_are_ignored() {
        // Out of range or of the wrong type: that parameter's default.
        assert_eq!(p("u=8, i"), (3, true));
        assert_eq!(p("u=-1"), (3, false));
        assert_eq!(p("u=1.5"), (3, false));
        assert_eq!(p("u=\"0\""), (3, false));
        assert_eq!(p("u=0, i=1"), (0, false));
        assert_eq!(p("u=0, i=?2"), (3, false), "not a dictionary at all");
    }

    #[test]
    fn rfc8941_invalid_dictionaries_signal_nothing() {
        for bad in [
            "u=0,",
            "u=0,,i",
            "U=0",
            "u=",
            "u=0 i",
            "0=u",
            "u=0;",
            "u=\"open",
            "u=(1",
            "u=0, i,",
            "u=1234567890123456",
            "u=:ab$:",
            "\tu=0",
        ] {
            assert_eq!(p(bad), (3, false), "{bad:?}");
        }
    }

    #[test]
    fn strict_parsing_says_what_would_be_ignored() {
        assert_eq!(
            Priority::parse_strict(b"u=1, i"),
            Ok(Priority {
                urgency: 1,
                incremental: true
            })
        );
        assert!(Priority::parse_strict(b"u=9")
            .unwrap_err()
            .contains("0 to 7"));
        assert!(Priority::parse_strict(b"i=1")
            .unwrap_err()
            .contains("boolean"));
        assert!(Priority::parse_strict(b"u=1,")
            .unwrap_err()
            .contains("dictionary"));
    }

    #[test]
    fn field_values_round_trip() {
        for urgency in 0..8 {
            for incremental in [false, true] {
                let pr = Priority {
                    urgency,
                    incremental,
                };
                assert_eq!(Priority::parse(pr.to_field().as_bytes()), pr);
            }
        }
        assert_eq!(Priority::DEFAULT.to_field(), "");
        assert_eq!(
            Priority {
                urgency: 0,
                incremental: true
            }
            .to_field(),
            "u=0, i"
        );
    }
}
