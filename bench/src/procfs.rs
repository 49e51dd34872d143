//! What the harness reads from /proc: CPU time of a process and of the whole machine, thread
//! count and memory of the server.

use std::fs;
use std::io;

/// Clock ticks per second of /proc CPU times (USER_HZ, 100 on Linux).
pub const TICKS_PER_SECOND: f64 = 100.0;

/// Fields of /proc/<pid>/stat after the command name: field 3 (state) is index 0.
fn stat_fields(pid: &str) -> io::Result<Vec<u64>> {
    let text = fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name is in parentheses and may contain spaces: split after the last ')'.
    let rest = text
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| io::Error::other("malformed stat"))?;
    Ok(rest
        .split_whitespace()
        .map(|field| field.parse().unwrap_or(0))
        .collect())
}

fn field(fields: &[u64], number: usize) -> u64 {
    fields.get(number - 3).copied().unwrap_or(0)
}

/// User and system CPU time, in ticks.
#[derive(Debug, Default, Clone, Copy)]
pub struct Cpu {
    pub user: u64,
    pub system: u64,
}

impl Cpu {
    pub fn total(self) -> u64 {
        self.user + self.system
    }
}

/// utime and stime of process `pid`, all threads (including exited ones).
pub fn process_cpu(pid: u32) -> io::Result<Cpu> {
    let fields = stat_fields(&pid.to_string())?;
    Ok(Cpu {
        user: field(&fields, 14),
        system: field(&fields, 15),
    })
}

/// (own times, times of waited-for children) of this process.
pub fn self_cpu() -> io::Result<(Cpu, Cpu)> {
    let fields = stat_fields("self")?;
    Ok((
        Cpu {
            user: field(&fields, 14),
            system: field(&fields, 15),
        },
        Cpu {
            user: field(&fields, 16),
            system: field(&fields, 17),
        },
    ))
}

/// Ticks of all CPUs together: user (user + nice) and steal (time the hypervisor gave to
/// someone else).
#[derive(Debug, Default, Clone, Copy)]
pub struct Machine {
    pub user: u64,
    pub steal: u64,
}

pub fn machine() -> io::Result<Machine> {
    let text = fs::read_to_string("/proc/stat")?;
    let line = text
        .lines()
        .find(|line| line.starts_with("cpu "))
        .ok_or_else(|| io::Error::other("no cpu line in /proc/stat"))?;
    let values: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let get = |i: usize| values.get(i).copied().unwrap_or(0);
    Ok(Machine {
        user: get(0) + get(1),
        steal: get(7),
    })
}

/// Thread count and memory of a process from /proc/<pid>/status.
#[derive(Debug, Default, Clone, Copy)]
pub struct Status {
    pub threads: u64,
    pub rss_kib: u64,
    pub hwm_kib: u64,
}

pub fn status(pid: u32) -> io::Result<Status> {
    let text = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let mut status = Status::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let number = || {
            value
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0)
        };
        match key {
            "Threads" => status.threads = number(),
            "VmRSS" => status.rss_kib = number(),
            "VmHWM" => status.hwm_kib = number(),
            _ => {}
        }
    }
    Ok(status)
}
