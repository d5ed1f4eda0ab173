//! The benchmark floor for `klp blocking`: the least a program must do to
//! answer the question, which is open and read every `ROOT/proc/*/task/*/patch_state`.
//!
//!     floor_patch_state ROOT

// A test or example binary exports nothing: `pub` marks what its modules share.
#![allow(unreachable_pub)]

use std::io::Read;

fn main() {
    let root = std::env::args().nth(1).expect("usage: floor_patch_state ROOT");
    let proc_dir = std::path::Path::new(&root).join("proc");
    let (mut read, mut not_minus_one) = (0u64, 0u64);
    let mut buf = [0u8; 16];
    for process in std::fs::read_dir(&proc_dir).expect("read proc").flatten() {
        if !process.file_name().to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(tasks) = std::fs::read_dir(process.path().join("task")) else { continue };
        for task in tasks.flatten() {
            if let Ok(mut file) = std::fs::File::open(task.path().join("patch_state")) {
                if let Ok(n) = file.read(&mut buf) {
                    read += 1;
                    not_minus_one += u64::from(&buf[..n] != b"-1\n");
                }
            }
        }
    }
    println!("{read} {not_minus_one}");
}
