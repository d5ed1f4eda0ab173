//! `check`: the state as an exit status, and `--wait` until it is ready.
//!
//! Arguments arrive checked (finite, bounded: `cli::parse_timeout`,
//! `cli::parse_interval`). A wait ends when the transition ends, at the
//! timeout, or at SIGINT/SIGTERM, which still yields one report
//! (`interrupted`) with the last state read. If the livepatch directory goes
//! away during the wait, the state is unknown: an error, never "ready".

use super::{build_status, Context};
use crate::cli::CheckArgs;
use crate::report::{CheckReport, State, WaitOutcome};
use crate::sys::SysRoot;
use crate::{Error, Result};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub(crate) fn run(ctx: &Context, args: &CheckArgs) -> Result<CheckReport> {
    if !args.wait {
        return Ok(CheckReport { status: build_status(&ctx.sys)?, wait: None });
    }
    let stop = Interruption::install()?;
    let (status, wait) = wait_for_ready(&ctx.sys, args.timeout, args.interval, &|| stop.signal())?;
    Ok(CheckReport { status, wait: Some(wait) })
}

/// SIGINT and SIGTERM, noted rather than fatal while `check --wait` runs.
struct Interruption(Arc<AtomicUsize>);

impl Interruption {
    fn install() -> Result<Self> {
        let flag = Arc::new(AtomicUsize::new(0));
        for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
            signal_hook::flag::register_usize(signal, Arc::clone(&flag), signal as usize).map_err(|e| {
                Error::InvalidArgument { message: format!("cannot handle signal {signal} during --wait: {e}") }
            })?;
        }
        Ok(Interruption(flag))
    }

    fn signal(&self) -> Option<i32> {
        match self.0.load(Ordering::Relaxed) {
            0 => None,
            signal => i32::try_from(signal).ok(),
        }
    }
}

/// The longest sleep between two looks at the interruption flag.
const TICK: Duration = Duration::from_millis(20);

/// Polls the status until ready, the timeout passes or `interrupted` gives
/// a signal; the last status read is the answer (one more read happens at
/// the deadline). `timeout` and `interval` are in range (see `cli`).
pub(crate) fn wait_for_ready(
    sys: &SysRoot,
    timeout: f64,
    interval: f64,
    interrupted: &dyn Fn() -> Option<i32>,
) -> Result<(crate::report::StatusReport, WaitOutcome)> {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(timeout);
    let interval = Duration::from_secs_f64(interval);
    let mut polls = 0;
    let mut supported = None;
    loop {
        let status = build_status(sys)?;
        if supported.replace(status.supported) == Some(true) && !status.supported {
            return Err(Error::MissingFile { path: sys.livepatch_dir() });
        }
        polls += 1;
        let now = Instant::now();
        let signal = interrupted();
        if status.state == State::Ready || now >= deadline || signal.is_some() {
            let wait = WaitOutcome {
                timeout_seconds: timeout,
                interval_seconds: interval.as_secs_f64(),
                waited_seconds: round_ms(now.duration_since(start).as_secs_f64()),
                timed_out: status.state != State::Ready && signal.is_none(),
                polls,
                interrupted: signal.is_some(),
                signal,
            };
            return Ok((status, wait));
        }
        let wake = (now + interval).min(deadline);
        while interrupted().is_none() {
            let now = Instant::now();
            if now >= wake {
                break;
            }
            std::thread::sleep((wake - now).min(TICK));
        }
    }
}

fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}
