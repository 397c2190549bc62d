//! NUL-terminated paths and short byte strings built in stack buffers,
//! and the few things every module needs to know about a lock's name: its
//! directory and the `.lock` suffix of a mailbox's lock.
//!
//! No path is ever copied to the heap: a path of up to `PATH_MAX` bytes is
//! built once as a `&CStr` in a stack buffer and handed to libc as is.
#![forbid(unsafe_code)]

use crate::sys::Errno;

/// `PATH_MAX` of Linux: a lock path plus the temporary name's reserve
/// must stay within it.
pub const PATH_MAX: usize = 4096;

/// The suffix that makes a mailbox's lock: `MBOX.lock`.
pub const LOCK_SUFFIX: &[u8] = b".lock";

/// A path's directory and its last component: `("a/b", "c")` for
/// `"a/b/c"`, `("/", "c")` for `"/c"`, `(".", "c")` for `"c"`. The
/// directory is what `chdir`, `stat` or a watch takes; the prefix that
/// ends in the slash is `path` without the last component's bytes.
pub fn split_dir(path: &[u8]) -> (&[u8], &[u8]) {
    match path.iter().rposition(|&b| b == b'/') {
        Some(0) => (b"/", path.get(1..).unwrap_or_default()),
        Some(i) => (
            path.get(..i).unwrap_or_default(),
            path.get(i + 1..).unwrap_or_default(),
        ),
        None => (b".", path),
    }
}

/// `path` up to and including its last slash (empty without one).
pub fn dir_prefix(path: &[u8]) -> &[u8] {
    let (_, base) = split_dir(path);
    path.get(..path.len() - base.len()).unwrap_or_default()
}

pub use crate::sys::FixedCPath;

impl FixedCPath {
    /// The concatenation of `parts`; ENAMETOOLONG if longer than
    /// `PATH_MAX`, EINVAL if it contains a NUL byte. (A 4 KiB value:
    /// on a hot path, [`FixedCPath::set`] one in place instead.)
    pub fn new(parts: &[&[u8]]) -> Result<FixedCPath, Errno> {
        let mut path = FixedCPath::empty();
        path.set(parts)?;
        Ok(path)
    }

    /// The lock of the mailbox `mbox`: `mbox` and [`LOCK_SUFFIX`].
    pub fn lock_of(mbox: &[u8]) -> Result<FixedCPath, Errno> {
        FixedCPath::new(&[mbox, LOCK_SUFFIX])
    }
}

/// A short byte string of at most `N` bytes; what does not fit is cut off
/// (the temporary name is cut to 31 bytes that way).
#[derive(Clone, Copy)]
pub struct Bytes<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Default for Bytes<N> {
    fn default() -> Bytes<N> {
        Bytes::new()
    }
}

impl<const N: usize> Bytes<N> {
    /// An empty string.
    pub fn new() -> Bytes<N> {
        Bytes {
            buf: [0; N],
            len: 0,
        }
    }

    /// The bytes so far.
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// Append what fits of `s`.
    pub fn push(&mut self, s: &[u8]) {
        let free = self.buf.get_mut(self.len..).unwrap_or_default();
        let n = free.len().min(s.len());
        if let (Some(dst), Some(src)) = (free.get_mut(..n), s.get(..n)) {
            dst.copy_from_slice(src);
            self.len += n;
        }
    }

    /// Append `n` in decimal, zero-padded to `width` characters (the sign
    /// included), as C's `%0*d` does.
    pub fn push_int(&mut self, n: i64, width: usize) {
        // 20 digits hold any i64; the sign and the padding go in front.
        let mut digits = [b'0'; 21];
        let mut at = digits.len();
        let mut v = n.unsigned_abs();
        for d in digits.iter_mut().rev() {
            *d = b'0' + (v % 10) as u8;
            at -= 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        if n < 0 {
            self.push(b"-");
        }
        let len = digits.len() - at + usize::from(n < 0);
        let pad = width.saturating_sub(len).min(at);
        self.push(digits.get(at - pad..).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_and_suffixes() {
        assert_eq!(
            split_dir(b"/var/mail/joe.lock"),
            (&b"/var/mail"[..], &b"joe.lock"[..])
        );
        assert_eq!(split_dir(b"joe.lock"), (&b"."[..], &b"joe.lock"[..]));
        assert_eq!(split_dir(b"/joe.lock"), (&b"/"[..], &b"joe.lock"[..]));
        assert_eq!(split_dir(b"a/../b.lock"), (&b"a/.."[..], &b"b.lock"[..]));
        assert_eq!(dir_prefix(b"a/b/"), b"a/b/");
        assert_eq!(dir_prefix(b"/x"), b"/");
        assert_eq!(dir_prefix(b"x"), b"");
        assert_eq!(
            FixedCPath::lock_of(b"/m/joe").unwrap().as_cstr(),
            c"/m/joe.lock"
        );
    }

    #[test]
    fn short_strings_format_like_printf_and_cut() {
        let s = |n: i64, w: usize| {
            let mut b = Bytes::<24>::new();
            b.push_int(n, w);
            String::from_utf8(b.as_bytes().to_vec()).unwrap()
        };
        for (n, w) in [(0, 5), (42, 5), (-1, 5), (1234567, 5), (i64::MIN, 1)] {
            assert_eq!(s(n, w), format!("{n:0w$}"));
        }
        assert_eq!(s(7, 0), "7");
        let mut b = Bytes::<4>::new();
        b.push(b"ab");
        b.push_int(1234, 0);
        assert_eq!(b.as_bytes(), b"ab12");
        b.push(b"x");
        assert_eq!(b.as_bytes(), b"ab12");
    }

    #[test]
    fn fixed_paths_stay_on_the_stack() {
        let p = FixedCPath::new(&[b"/a/", b"b.lock"]).unwrap();
        assert_eq!(p.as_cstr(), c"/a/b.lock");
        let max = vec![b'x'; PATH_MAX];
        assert_eq!(
            FixedCPath::new(&[&max]).unwrap().as_cstr().to_bytes(),
            &max[..]
        );
        assert!(matches!(
            FixedCPath::new(&[&max, b"y"]),
            Err(Errno::ENAMETOOLONG)
        ));
        assert!(matches!(FixedCPath::new(&[b"a\0b"]), Err(Errno::EINVAL)));
        for at in 0..20 {
            let mut bytes = [b'x'; 20];
            bytes[at] = 0;
            assert!(
                matches!(FixedCPath::new(&[&bytes]), Err(Errno::EINVAL)),
                "{at}"
            );
            bytes[at] = 0x80;
            assert!(FixedCPath::new(&[&bytes]).is_ok(), "{at}");
        }
        let mut p = FixedCPath::empty();
        assert_eq!(p.fill(3, |i| b"abc"[i]), Ok(c"abc"));
        assert_eq!(p.fill(PATH_MAX + 1, |_| b'x'), Err(Errno::ENAMETOOLONG));
        assert_eq!(p.fill(2, |i| b"a\0"[i]), Err(Errno::EINVAL));
        assert_eq!(p.as_cstr().to_bytes_with_nul(), b"\0");
        // Set in place, again and again; an empty one is "".
        let mut p = FixedCPath::empty();
        assert_eq!(p.as_cstr(), c"");
        assert_eq!(p.set(&[b"/a/", b"bc"]).unwrap(), c"/a/bc");
        assert_eq!(p.set(&[b"x"]).unwrap(), c"x");
        assert!(p.set(&[b"y\0"]).is_err());
        assert_eq!(p.as_cstr(), c"");
        // A failure after some bytes were written leaves "" too.
        assert_eq!(p.set(&[b"abc", b"d\0"]), Err(Errno::EINVAL));
        assert_eq!(p.as_cstr().to_bytes_with_nul(), b"\0");
        let long = vec![b'x'; PATH_MAX];
        assert_eq!(p.set(&[b"ab", &long]), Err(Errno::ENAMETOOLONG));
        assert_eq!(p.as_cstr().to_bytes_with_nul(), b"\0");
    }
}
