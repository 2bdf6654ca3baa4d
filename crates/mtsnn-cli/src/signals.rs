//! The signals that stop a training at its next chunk of batches with a checkpoint: SIGTERM (a
//! scheduler's or `kill`'s), SIGUSR1 (Slurm's warning before a time limit or a preemption, as
//! `--signal=B:USR1@120` asks) and SIGINT (Ctrl-C; a second one ends the program at once with
//! status 130 — every file written is whole, since every write is atomic).

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Result;

/// Sets `flag` on SIGTERM, SIGUSR1 and SIGINT from now on.
pub fn stop_on(flag: &Arc<AtomicBool>) -> Result<()> {
    #[cfg(unix)]
    {
        use signal_hook::consts::{SIGINT, SIGTERM, SIGUSR1};
        signal_hook::flag::register_conditional_shutdown(SIGINT, 130, Arc::clone(flag))?;
        for signal in [SIGTERM, SIGUSR1, SIGINT] {
            signal_hook::flag::register(signal, Arc::clone(flag))?;
        }
    }
    #[cfg(not(unix))]
    let _ = flag;
    Ok(())
}
