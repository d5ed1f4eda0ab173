//! RPM's version ordering (`rpmvercmp`), so that version 10 sorts after 9
//! and `150600.10.1` after `150600.9.1`. Strings never compare as strings.

use std::cmp::Ordering;

/// Compares two version or release strings the way rpm does: split into
/// runs of digits and of letters (anything else separates); digits beat
/// letters; numbers compare as numbers; `~` sorts before everything (even
/// the end), `^` after the end but before anything else.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        a = skip_separators(a);
        b = skip_separators(b);
        // Tilde: a pre-release marker, lower than anything, even the end.
        match (a.first() == Some(&b'~'), b.first() == Some(&b'~')) {
            (true, true) => {
                a = &a[1..];
                b = &b[1..];
                continue;
            }
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            _ => {}
        }
        // Caret: a post-release marker, higher than the end only.
        match (a.first() == Some(&b'^'), b.first() == Some(&b'^')) {
            (true, true) => {
                a = &a[1..];
                b = &b[1..];
                continue;
            }
            (true, false) => return if b.is_empty() { Ordering::Greater } else { Ordering::Less },
            (false, true) => return if a.is_empty() { Ordering::Less } else { Ordering::Greater },
            _ => {}
        }
        if a.is_empty() || b.is_empty() {
            return a.len().cmp(&b.len());
        }
        let numeric = a[0].is_ascii_digit();
        let take = |s: &[u8]| -> usize {
            s.iter().take_while(|c| if numeric { c.is_ascii_digit() } else { c.is_ascii_alphabetic() }).count()
        };
        let (len_a, len_b) = (take(a), take(b));
        // A numeric segment is newer than an alphabetic one.
        if len_b == 0 {
            return if numeric { Ordering::Greater } else { Ordering::Less };
        }
        let (seg_a, seg_b) = (&a[..len_a], &b[..len_b]);
        let order = if numeric {
            let trim = |s: &[u8]| -> usize { s.iter().take_while(|&&c| c == b'0').count() };
            let (seg_a, seg_b) = (&seg_a[trim(seg_a)..], &seg_b[trim(seg_b)..]);
            seg_a.len().cmp(&seg_b.len()).then_with(|| seg_a.cmp(seg_b))
        } else {
            seg_a.cmp(seg_b)
        };
        if order != Ordering::Equal {
            return order;
        }
        a = &a[len_a..];
        b = &b[len_b..];
    }
}

fn skip_separators(s: &[u8]) -> &[u8] {
    let n = s.iter().take_while(|&&c| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^').count();
    &s[n..]
}

/// An edition `[EPOCH:]VERSION[-RELEASE]` as zypper and rpm print it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edition {
    pub(crate) epoch: u64,
    /// The version, compared with rpm's rules.
    /// The version, compared with rpm's rules.
    pub version: String,
    pub(crate) release: String,
}

impl Edition {
    /// `[EPOCH:]VERSION[-RELEASE]`.
    /// `[EPOCH:]VERSION[-RELEASE]`.
    pub fn parse(text: &str) -> Edition {
        let (epoch, rest) = match text.split_once(':') {
            Some((e, rest)) if !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit()) => (e.parse().unwrap_or(0), rest),
            _ => (0, text),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((v, r)) => (v.to_string(), r.to_string()),
            None => (rest.to_string(), String::new()),
        };
        Edition { epoch, version, release }
    }

    /// Ordering of two editions; a missing release matches any release.
    pub fn cmp_rpm(&self, other: &Edition) -> Ordering {
        self.epoch.cmp(&other.epoch).then_with(|| rpmvercmp(&self.version, &other.version)).then_with(|| {
            if self.release.is_empty() || other.release.is_empty() {
                Ordering::Equal
            } else {
                rpmvercmp(&self.release, &other.release)
            }
        })
    }
}

impl std::fmt::Display for Edition {
    /// `VERSION-RELEASE`, with `EPOCH:` only when the epoch is set.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.epoch > 0 {
            write!(f, "{}:", self.epoch)?;
        }
        write!(f, "{}", self.version)?;
        if !self.release.is_empty() {
            write!(f, "-{}", self.release)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    #[test]
    fn numbers_compare_as_numbers() {
        assert_eq!(rpmvercmp("10", "9"), Greater);
        assert_eq!(rpmvercmp("9", "10"), Less);
        assert_eq!(rpmvercmp("150600.10.1", "150600.9.1"), Greater);
        assert_eq!(rpmvercmp("010", "10"), Equal);
        assert_eq!(rpmvercmp("1.0", "1.0"), Equal);
        assert_eq!(rpmvercmp("1.0", "1.0.1"), Less);
    }

    // Cases from rpm's own test suite (rpmvercmp.at).
    #[test]
    fn rpm_reference_cases() {
        let cases = [
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("2.0.1", "2.0.1a", Less),
            ("5.5p1", "5.5p2", Less),
            ("5.5p10", "5.5p1", Greater),
            ("10xyz", "10.1xyz", Less),
            ("xyz10", "xyz10.1", Less),
            ("xyz.4", "8", Less),
            ("5.5p1", "5.5.p1", Equal),
            ("1.0aa", "1.0a", Greater),
            ("a", "b", Less),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0~rc1~git123", "1.0~rc1", Less),
            ("1.0^", "1.0", Greater),
            ("1.0^git1", "1.0", Greater),
            ("1.0^git1", "1.01", Less),
            ("1.0^git1~pre", "1.0^git1", Less),
            ("1.0~rc1^git1", "1.0~rc1", Greater),
            ("2_0", "2_0", Equal),
            ("2.0", "2_0", Equal),
            ("a+", "a_", Equal),
            ("+", "_", Equal),
        ];
        for (a, b, want) in cases {
            assert_eq!(rpmvercmp(a, b), want, "{a} vs {b}");
            assert_eq!(rpmvercmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn editions() {
        let e = Edition::parse("12-150600.13.1");
        assert_eq!((e.epoch, e.version.as_str(), e.release.as_str()), (0, "12", "150600.13.1"));
        assert_eq!(e.to_string(), "12-150600.13.1");
        assert_eq!(Edition::parse("2:1.0-3").to_string(), "2:1.0-3");
        assert_eq!(Edition::parse("10-150600.11.1").cmp_rpm(&Edition::parse("9-150600.10.1")), Greater);
        assert_eq!(Edition::parse("1:1-1").cmp_rpm(&Edition::parse("9-1")), Greater);
        assert_eq!(Edition::parse("5").cmp_rpm(&Edition::parse("5-150600.6.1")), Equal);
    }
}
