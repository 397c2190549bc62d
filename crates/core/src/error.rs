//! The error type of the core: an `L_*` code and the errno of the call that
//! failed.
#![forbid(unsafe_code)]

use core::fmt;

pub use crate::sys::Errno;

/// The result codes of `lockfile_create()`; the values are ABI (docs/abi.md §1).
#[repr(i32)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LCode {
    /// `L_SUCCESS`: the lock was created.
    Success = 0,
    /// `L_NAMELEN`: the mailbox name is too long.
    NameLen = 1,
    /// `L_TMPLOCK`: the temporary file could not be created.
    TmpLock = 2,
    /// `L_TMPWRITE`: the temporary file could not be written.
    TmpWrite = 3,
    /// `L_MAXTRYS`: out of attempts (or the lock name kept vanishing).
    MaxTrys = 4,
    /// `L_ERROR`: another error; errno says which.
    Error = 5,
    /// `L_MANLOCK`: reserved by the reference; never returned.
    ManLock = 6,
    /// `L_ORPHANED`: `L_PPID` was asked for but the parent is gone.
    Orphaned = 7,
    /// `L_RMSTALE`: a stale lock could not be removed.
    RmStale = 8,
}

impl LCode {
    /// The code as the C ABI returns it.
    pub fn as_c(self) -> i32 {
        self as i32
    }

    /// The code for a value the helper program exited with, if it is one.
    pub fn from_c(v: i32) -> Option<LCode> {
        Some(match v {
            0 => LCode::Success,
            1 => LCode::NameLen,
            2 => LCode::TmpLock,
            3 => LCode::TmpWrite,
            4 => LCode::MaxTrys,
            5 => LCode::Error,
            6 => LCode::ManLock,
            7 => LCode::Orphaned,
            8 => LCode::RmStale,
            _ => return None,
        })
    }
}

/// Why a lock operation failed: the `L_*` code and the errno captured at the
/// failing system call (`None` where the reference leaves errno alone, as
/// for `L_ORPHANED`). Clean-up done after the capture never changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockError {
    /// What the C API returns.
    pub code: LCode,
    /// What the C API leaves in errno.
    pub errno: Option<Errno>,
}

impl LockError {
    /// An error with a code and the errno of the call that failed.
    pub fn new(code: LCode, errno: Errno) -> LockError {
        LockError {
            code,
            errno: Some(errno),
        }
    }

    /// An error that leaves errno as it is.
    pub fn bare(code: LCode) -> LockError {
        LockError { code, errno: None }
    }
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.code {
            LCode::Success => "success",
            LCode::NameLen => "name too long",
            LCode::TmpLock => "cannot create the temporary lock file",
            LCode::TmpWrite => "cannot write the temporary lock file",
            LCode::MaxTrys => "lock is busy: out of attempts",
            LCode::Error => "error",
            LCode::ManLock => "cannot set a mandatory lock",
            LCode::Orphaned => "parent process is gone",
            LCode::RmStale => "cannot remove the stale lock",
        };
        match self.errno {
            Some(e) if e != Errno::UnknownErrno => write!(f, "{what}: {e}"),
            _ => f.write_str(what),
        }
    }
}

impl core::error::Error for LockError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for v in 0..=8 {
            assert_eq!(LCode::from_c(v).map(LCode::as_c), Some(v));
        }
        assert_eq!(LCode::from_c(9), None);
        assert_eq!(LCode::from_c(-1), None);
    }
}
