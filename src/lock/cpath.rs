//! NUL-terminated paths and short byte strings built in stack buffers.
//!
//! nix copies a `&Path` into a C string at every call (a copy and a scan
//! for NUL each time). The create path makes five such calls on two names;
//! building each name once as a `&CStr` and handing that to nix (which
//! passes a `CStr` through as it is) saves the scans and keeps the
//! uncontended path free of heap allocations.
#![forbid(unsafe_code)]

use std::ffi::CStr;

use crate::error::Errno;
use crate::lock::PATH_MAX;

/// Paths up to this many bytes (NUL included) stay on the stack; longer
/// ones, rare for lock files, go to the heap.
const INLINE: usize = 256;

/// Room for one NUL-terminated path.
pub(crate) struct CPathBuf {
    inline: [u8; INLINE],
    heap: Vec<u8>,
}

impl CPathBuf {
    /// An empty buffer (no allocation).
    pub(crate) fn new() -> CPathBuf {
        CPathBuf {
            inline: [0; INLINE],
            heap: Vec::new(),
        }
    }

    /// The concatenation of `parts` as a C string. EINVAL if it contains a
    /// NUL byte (as nix reports it).
    pub(crate) fn join<'a>(&'a mut self, parts: &[&[u8]]) -> Result<&'a CStr, Errno> {
        let len = parts.iter().map(|p| p.len()).sum::<usize>();
        let buf: &mut [u8] = if len < INLINE {
            self.inline.get_mut(..=len).ok_or(Errno::EINVAL)?
        } else {
            self.heap.clear();
            self.heap.resize(len + 1, 0);
            &mut self.heap
        };
        let mut rest = &mut *buf;
        for part in parts {
            let (head, tail) = rest.split_at_mut_checked(part.len()).ok_or(Errno::EINVAL)?;
            head.copy_from_slice(part);
            rest = tail;
        }
        // What is left is the one byte for the terminating NUL.
        rest.fill(0);
        CStr::from_bytes_with_nul(buf).map_err(|_| Errno::EINVAL)
    }
}

/// One path of up to `PATH_MAX` bytes as a C string, on the stack: for
/// the calls that must not allocate (async-signal-safe ones, SPEC §4).
pub struct FixedCPath {
    buf: [u8; PATH_MAX + 1],
}

impl FixedCPath {
    /// The concatenation of `parts`; ENAMETOOLONG if longer than
    /// `PATH_MAX`, EINVAL if it contains a NUL byte.
    pub fn new(parts: &[&[u8]]) -> Result<FixedCPath, Errno> {
        let mut path = FixedCPath {
            buf: [0; PATH_MAX + 1],
        };
        let mut rest = path.buf.get_mut(..PATH_MAX).ok_or(Errno::EINVAL)?;
        for part in parts {
            if part.contains(&0) {
                return Err(Errno::EINVAL);
            }
            let (head, tail) = rest
                .split_at_mut_checked(part.len())
                .ok_or(Errno::ENAMETOOLONG)?;
            head.copy_from_slice(part);
            rest = tail;
        }
        Ok(path)
    }

    /// The path of `len` bytes that `byte(i)` gives, one at a time (no
    /// second buffer on the stack); ENAMETOOLONG beyond `PATH_MAX`, EINVAL
    /// for a NUL byte.
    pub fn from_fn(len: usize, mut byte: impl FnMut(usize) -> u8) -> Result<FixedCPath, Errno> {
        let mut path = FixedCPath {
            buf: [0; PATH_MAX + 1],
        };
        let dst = path.buf.get_mut(..len).ok_or(Errno::ENAMETOOLONG)?;
        if len > PATH_MAX {
            return Err(Errno::ENAMETOOLONG);
        }
        for (i, b) in dst.iter_mut().enumerate() {
            *b = byte(i);
            if *b == 0 {
                return Err(Errno::EINVAL);
            }
        }
        Ok(path)
    }

    /// The path as a C string.
    pub fn as_cstr(&self) -> &CStr {
        // The last byte is never written, so there is always a NUL.
        CStr::from_bytes_until_nul(&self.buf).unwrap_or_default()
    }
}

/// A short byte string of at most `N` bytes; what does not fit is cut off
/// (the temporary name is cut to 31 bytes that way).
#[derive(Clone, Copy)]
pub(crate) struct Bytes<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> Bytes<N> {
    /// An empty string.
    pub(crate) fn new() -> Bytes<N> {
        Bytes {
            buf: [0; N],
            len: 0,
        }
    }

    /// The bytes so far.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// Append what fits of `s`.
    pub(crate) fn push(&mut self, s: &[u8]) {
        let free = self.buf.get_mut(self.len..).unwrap_or_default();
        let n = free.len().min(s.len());
        if let (Some(dst), Some(src)) = (free.get_mut(..n), s.get(..n)) {
            dst.copy_from_slice(src);
            self.len += n;
        }
    }

    /// Append `n` in decimal, zero-padded to `width` characters (the sign
    /// included), as C's `%0*d` does.
    pub(crate) fn push_int(&mut self, n: i64, width: usize) {
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
    fn joins_parts_on_the_stack_and_on_the_heap() {
        let mut b = CPathBuf::new();
        assert_eq!(b.join(&[b"/a/", b"b.lock"]).unwrap(), c"/a/b.lock");
        assert_eq!(b.join(&[]).unwrap(), c"");
        let long = vec![b'x'; INLINE];
        let c = b.join(&[b"/", &long]).unwrap();
        assert_eq!(c.to_bytes().len(), INLINE + 1);
        assert!(b.heap.capacity() > INLINE);
        let exact = vec![b'y'; INLINE - 1];
        assert_eq!(b.join(&[&exact]).unwrap().to_bytes(), &exact[..]);
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
        let p = FixedCPath::from_fn(3, |i| b"abc"[i]).unwrap();
        assert_eq!(p.as_cstr(), c"abc");
        assert!(matches!(
            FixedCPath::from_fn(PATH_MAX + 1, |_| b'x'),
            Err(Errno::ENAMETOOLONG)
        ));
    }

    #[test]
    fn nul_inside_is_einval() {
        let mut b = CPathBuf::new();
        assert_eq!(b.join(&[b"a\0b"]), Err(Errno::EINVAL));
        assert_eq!(b.join(&[&[b'z'; 600], b"\0"]), Err(Errno::EINVAL));
    }
}
