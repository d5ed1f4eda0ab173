use super::{build_status, Context};
use crate::cli::CheckArgs;
use crate::report::{CheckReport, State, WaitOutcome};
use crate::sys::SysRoot;
use crate::{Error, Result};
use std::time::{Duration, Instant};

pub(crate) fn run(ctx: &Context, args: &CheckArgs) -> Result<CheckReport> {
    if !args.wait {
        return Ok(CheckReport { status: build_status(&ctx.sys)?, wait: None });
    }
    if !(args.timeout.is_finite() && args.timeout >= 0.0) {
        return Err(Error::InvalidArgument {
            message: format!("--timeout must be a number of seconds >= 0, not {}", args.timeout),
        });
    }
    if !(args.interval.is_finite() && args.interval > 0.0) {
        return Err(Error::InvalidArgument {
            message: format!("--interval must be a number of seconds > 0, not {}", args.interval),
        });
    }
    let (status, wait) = wait_for_ready(&ctx.sys, args.timeout, args.interval)?;
    Ok(CheckReport { status, wait: Some(wait) })
}

/// Polls the status until ready or the timeout passes; the last status read
/// is the answer (one more read happens at the deadline).
pub(crate) fn wait_for_ready(
    sys: &SysRoot,
    timeout: f64,
    interval: f64,
) -> Result<(crate::report::StatusReport, WaitOutcome)> {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(timeout);
    let interval = Duration::from_secs_f64(interval);
    let mut polls = 0;
    loop {
        let status = build_status(sys)?;
        polls += 1;
        let now = Instant::now();
        if status.state == State::Ready || now >= deadline {
            let wait = WaitOutcome {
                timeout_seconds: timeout,
                interval_seconds: interval.as_secs_f64(),
                waited_seconds: round_ms(now.duration_since(start).as_secs_f64()),
                timed_out: status.state != State::Ready,
                polls,
            };
            return Ok((status, wait));
        }
        std::thread::sleep(interval.min(deadline - now));
    }
}

fn round_ms(seconds: f64) -> f64 {
    (seconds * 1000.0).round() / 1000.0
}
