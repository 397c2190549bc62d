//! The group of a set-group-ID `dotlockfile` (docs/dotlockfile.md §6, §6.6).
//!
//! At start the effective gid is set to the real one and the mail group is
//! kept only as the saved gid. It is taken back by a scoped guard around
//! the work on a verified mail lock of the caller, and given up for good
//! (real, effective and saved) in every other case.
#![forbid(unsafe_code)]

use nix::unistd::{Gid, ResGid, getresgid, setresgid};

use nix::errno::Errno;

/// Leave one id of `setresgid` unchanged.
fn unchanged() -> Gid {
    Gid::from_raw(u32::MAX)
}

/// The group ids of the process and what it may still do with them.
#[derive(Debug)]
pub struct Privs {
    real: Gid,
    /// The group this program was installed with, while it is kept saved.
    group: Option<Gid>,
}

impl Privs {
    /// Drop the effective gid to the real one, keeping the saved one; the
    /// first thing `main` does.
    pub fn drop_at_start() -> Result<Privs, Errno> {
        let ids = getresgid()?;
        if ids.effective == ids.real {
            return Ok(Privs {
                real: ids.real,
                group: None,
            });
        }
        setresgid(unchanged(), ids.real, unchanged())?;
        let now = getresgid()?;
        if now.effective != ids.real || now.saved != ids.effective {
            return Err(Errno::EPERM);
        }
        Ok(Privs {
            real: ids.real,
            group: Some(ids.effective),
        })
    }

    /// The group this program runs set-group-ID to, if it does.
    pub fn group(&self) -> Option<Gid> {
        self.group
    }

    /// The real gid, which a command runs with.
    pub fn real(&self) -> Gid {
        self.real
    }

    /// Give up the group for good: real, effective and saved gid all
    /// become the real gid, checked afterwards.
    pub fn drop_for_good(&mut self) -> Result<(), Errno> {
        if self.group.is_none() {
            return Ok(());
        }
        setresgid(self.real, self.real, self.real)?;
        let ResGid {
            real,
            effective,
            saved,
        } = getresgid()?;
        if real != self.real || effective != self.real || saved != self.real {
            return Err(Errno::EPERM);
        }
        self.group = None;
        Ok(())
    }

    /// Take the group back until the guard is dropped (nothing happens if
    /// it was given up or never held).
    pub fn raise(&self) -> Result<Raised, Errno> {
        match self.group {
            Some(group) => {
                setresgid(unchanged(), group, unchanged())?;
                Ok(Raised {
                    real: Some(self.real),
                })
            }
            None => Ok(Raised { real: None }),
        }
    }
}

/// The effective gid is the saved group while this lives.
#[derive(Debug)]
pub struct Raised {
    real: Option<Gid>,
}

impl Drop for Raised {
    fn drop(&mut self) {
        if let Some(real) = self.real {
            if setresgid(unchanged(), real, unchanged()).is_err() {
                // Cannot happen (the real gid is always allowed); never go
                // on with the group that was meant to be dropped.
                std::process::abort();
            }
        }
    }
}
