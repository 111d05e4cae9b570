//! A small mutation fuzzer that runs on the stable toolchain inside `cargo test`.
//!
//! Each case is a valid seed file (chosen at random) put through one to four mutations: random
//! bytes, bit flips, "interesting" bytes and little/big-endian integers written over any
//! position (0, 1, -1, 2^31, 2^63, 2^64 - 1, ...), truncation, deletion, duplication, insertion
//! of format tokens (header keys, huge dimensions), or a splice with another seed. The
//! properties checked for every case:
//!
//! * **no panic**: the parser is called under `catch_unwind`;
//! * **no hang**: a watchdog aborts the run, printing the input, when one case takes over
//!   [`HANG_SECONDS`]; the slowest case is reported;
//! * **no allocation beyond the real size**: a counting global allocator records the largest
//!   single allocation made while parsing, which must stay below a bound linear in the input's
//!   real length (the parser passes the bound; a header that declares $2^{64}$ bytes must be
//!   rejected before anything of that size is requested).
//!
//! The number of cases per parser is `LAYERLAW_FUZZ_CASES` (default: a few thousand, seconds
//! in `cargo test`); `LAYERLAW_FUZZ_SEED` changes the random stream.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A case running longer than this is a hang: the process aborts and prints the input.
pub const HANG_SECONDS: u64 = 20;

/// Largest allocation request ever honoured while fuzzing; anything larger is a bug in itself
/// (a size taken from a header), reported and refused.
const REFUSE_BYTES: usize = 1 << 32;

/// Counts allocations of the current thread (see [`largest_allocation`]).
pub struct CountingAlloc;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: every method forwards to `System` with the same arguments; the thread-local counter
// is a `Cell<usize>` with a const initialiser and no destructor, so touching it never
// allocates or recurses into the allocator.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        if layout.size() > REFUSE_BYTES {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded unchanged (see the impl's comment).
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        if layout.size() > REFUSE_BYTES {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded unchanged.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        if new_size > REFUSE_BYTES {
            return std::ptr::null_mut();
        }
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|l| l.set(l.get().max(size)));
}

/// Largest single allocation of this thread since the last call (which resets it).
fn take_largest_allocation() -> usize {
    LARGEST.with(|l| l.replace(0))
}

/// Number of cases per parser: `LAYERLAW_FUZZ_CASES`, or `default`.
pub fn cases(default: u64) -> u64 {
    std::env::var("LAYERLAW_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// xoshiro256** (Blackman & Vigna), seeded by SplitMix64: fast, deterministic, no dependency.
pub struct Rng([u64; 4]);

impl Rng {
    /// A generator for parser `name` (and `LAYERLAW_FUZZ_SEED`, if set).
    pub fn for_parser(name: &str) -> Self {
        let base: u64 = std::env::var("LAYERLAW_FUZZ_SEED")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0x5eed);
        let mut x = name.bytes().fold(base, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng([next(), next(), next(), next()])
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.0;
        let out = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        out
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// Integers that parsers get wrong: boundaries of every width.
const INTERESTING: [u64; 14] = [
    0,
    1,
    2,
    0x7f,
    0xff,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
];

/// One mutated input from `seeds` (and format `tokens` to insert).
pub fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], tokens: &[&[u8]]) -> Vec<u8> {
    let mut v = seeds[rng.below(seeds.len())].clone();
    if rng.below(50) == 0 {
        let len = rng.below(512);
        return (0..len).map(|_| rng.next_u64() as u8).collect();
    }
    for _ in 0..1 + rng.below(4) {
        mutate_once(rng, &mut v, seeds, tokens);
    }
    v
}

fn mutate_once(rng: &mut Rng, v: &mut Vec<u8>, seeds: &[Vec<u8>], tokens: &[&[u8]]) {
    let len = v.len();
    // Mutations favour the first bytes, where headers live.
    let pos = |rng: &mut Rng, len: usize| {
        if len == 0 {
            0
        } else if rng.below(2) == 0 {
            rng.below(len.min(256))
        } else {
            rng.below(len)
        }
    };
    match rng.below(10) {
        0 | 1 => {
            for _ in 0..1 + rng.below(8) {
                if !v.is_empty() {
                    let i = pos(rng, v.len());
                    v[i] ^= 1 << rng.below(8);
                }
            }
        }
        2 => {
            if !v.is_empty() {
                let i = pos(rng, len);
                v[i] = [0u8, 0xff, 0x7f, 0x80, 1, b'(', b',', b'\''][rng.below(8)];
            }
        }
        3 | 4 => {
            let width = [1usize, 2, 4, 8][rng.below(4)];
            let value = INTERESTING[rng.below(INTERESTING.len())];
            let value = match rng.below(3) {
                0 => value,
                1 => value.wrapping_add(len as u64),
                _ => value.wrapping_sub(1 + rng.below(16) as u64),
            };
            let bytes = if rng.below(2) == 0 {
                value.to_le_bytes()
            } else {
                value.to_be_bytes()
            };
            let bytes = if rng.below(2) == 0 {
                &bytes[..width]
            } else {
                &bytes[8 - width..]
            };
            if len >= width {
                let i = pos(rng, len - width + 1);
                v[i..i + width].copy_from_slice(bytes);
            }
        }
        5 => v.truncate(pos(rng, len + 1)),
        6 => {
            if len > 0 {
                let i = pos(rng, len);
                let n = 1 + rng.below((len - i).min(64));
                v.drain(i..i + n);
            }
        }
        7 => {
            let t = tokens[rng.below(tokens.len())];
            let i = pos(rng, len + 1);
            v.splice(i..i, t.iter().copied());
        }
        8 => {
            if len > 0 {
                let i = pos(rng, len);
                let n = 1 + rng.below((len - i).min(64));
                let chunk = v[i..i + n].to_vec();
                let j = pos(rng, len + 1);
                v.splice(j..j, chunk);
            }
        }
        _ => {
            let other = &seeds[rng.below(seeds.len())];
            let cut = pos(rng, len + 1);
            let from = rng.below(other.len() + 1);
            v.truncate(cut);
            v.extend_from_slice(&other[from..]);
        }
    }
}

/// What a fuzz run did.
#[derive(Debug)]
pub struct Report {
    /// Parser name.
    pub parser: &'static str,
    /// Inputs tried.
    pub cases: u64,
    /// Inputs the parser accepted.
    pub accepted: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Slowest single input.
    pub slowest: Duration,
    /// Largest `allocation / bound` ratio seen (must stay ≤ 1).
    pub worst_allocation_ratio: f64,
}

/// Runs `parse` on `cases` mutations of `seeds` and checks the three properties. `parse`
/// returns whether it accepted the input; `bound(input)` is the largest single allocation
/// allowed while parsing `input` (a function of its real length). Panics (failing the test) on the first violation, printing the
/// input in hex.
pub fn run(
    parser: &'static str,
    seeds: &[Vec<u8>],
    tokens: &[&[u8]],
    cases: u64,
    bound: impl Fn(&[u8]) -> usize,
    parse: impl Fn(&[u8]) -> bool,
) -> Report {
    let mut rng = Rng::for_parser(parser);
    let progress = Arc::new(AtomicU64::new(0));
    let current = Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    let done = Arc::new(AtomicUsize::new(0));
    let watchdog = {
        let (progress, current, done) = (progress.clone(), current.clone(), done.clone());
        std::thread::spawn(move || {
            let mut last = (u64::MAX, Instant::now());
            while done.load(Ordering::Relaxed) == 0 {
                std::thread::sleep(Duration::from_millis(200));
                let p = progress.load(Ordering::Relaxed);
                if p != last.0 {
                    last = (p, Instant::now());
                } else if last.1.elapsed() > Duration::from_secs(HANG_SECONDS) {
                    let input = current.lock().map(|c| c.clone()).unwrap_or_default();
                    eprintln!("fuzz {parser}: case {p} hangs; input = {}", hex(&input));
                    std::process::abort();
                }
            }
        })
    };
    let start = Instant::now();
    let (mut accepted, mut slowest, mut worst) = (0, Duration::ZERO, 0.0f64);
    for case in 0..cases {
        let input = mutate(&mut rng, seeds, tokens);
        if let Ok(mut c) = current.lock() {
            c.clone_from(&input);
        }
        take_largest_allocation();
        let t = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| parse(&input)));
        let dt = t.elapsed();
        let largest = take_largest_allocation();
        progress.store(case + 1, Ordering::Relaxed);
        match outcome {
            Ok(ok) => accepted += u64::from(ok),
            Err(_) => {
                done.store(1, Ordering::Relaxed);
                panic!(
                    "fuzz {parser}: case {case} panicked; input = {}",
                    hex(&input)
                );
            }
        }
        let limit = bound(&input);
        if largest > limit {
            done.store(1, Ordering::Relaxed);
            panic!(
                "fuzz {parser}: case {case} allocated {largest} bytes at once for a {}-byte input \
                 (bound {limit}); input = {}",
                input.len(),
                hex(&input)
            );
        }
        worst = worst.max(largest as f64 / limit as f64);
        slowest = slowest.max(dt);
    }
    done.store(1, Ordering::Relaxed);
    let _ = watchdog.join();
    let report = Report {
        parser,
        cases,
        accepted,
        elapsed: start.elapsed(),
        slowest,
        worst_allocation_ratio: worst,
    };
    eprintln!(
        "fuzz {}: {} cases ({} accepted) in {:.2?}, slowest case {:.2?}, largest allocation {:.3} of the bound",
        report.parser,
        report.cases,
        report.accepted,
        report.elapsed,
        report.slowest,
        report.worst_allocation_ratio
    );
    report
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
