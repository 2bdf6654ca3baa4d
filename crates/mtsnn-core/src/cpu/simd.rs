//! Vector code chosen at run time: one binary uses AVX-512 where the CPU has it, AVX2 + FMA where
//! it has that, and the target's baseline elsewhere (SSE2 on x86-64; NEON, which every aarch64 CPU
//! has, on ARM). Nothing depends on build flags.
//!
//! How: a kernel is a value implementing [`Kernel`] whose `run` is `#[inline(always)]` and written
//! over fixed-width lane blocks without branches or library calls (see `cpu/elementwise.rs`), so
//! that the compiler vectorises it. [`dispatch`] calls `run` from inside a function compiled with
//! `#[target_feature]` for the chosen [`Isa`]; `run` is inlined there and so compiled for that
//! instruction set. The kernels avoid `mul_add` and Rust never fuses `a·b + c` by itself, so every
//! path computes the same IEEE operations in the same order and gives bit-identical results: the
//! tests compare each path the machine has with the scalar reference exactly.
//!
//! The CPU is probed once (`is_x86_feature_detected!`); `MTSNN_ISA=avx512|avx2|baseline` asks for
//! a lower level (tests, benchmarks). A level the CPU lacks is never used: [`Isa::new`] refuses
//! it, which is what makes the `unsafe` calls in [`dispatch`] sound.

use std::fmt;
use std::sync::OnceLock;

/// An instruction-set level, from the most capable down.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// The target's baseline: SSE2 on x86-64, NEON on aarch64, whatever the target has elsewhere.
    Baseline,
    /// x86-64 AVX2 + FMA (8 lanes of f32).
    Avx2,
    /// x86-64 AVX-512 F/BW/VL/DQ (16 lanes of f32).
    Avx512,
}

impl Level {
    /// Every level, from the lowest.
    pub const ALL: [Level; 3] = [Level::Baseline, Level::Avx2, Level::Avx512];

    /// The name `MTSNN_ISA`, `mtsnn bench` and `run.json` use.
    pub fn name(self) -> &'static str {
        match self {
            Level::Baseline => {
                if cfg!(target_arch = "aarch64") {
                    "neon"
                } else if cfg!(target_arch = "x86_64") {
                    "sse2"
                } else {
                    "baseline"
                }
            }
            Level::Avx2 => "avx2",
            Level::Avx512 => "avx512",
        }
    }

    /// Parses a name of [`Level::name`] (`baseline` also names the lowest level everywhere).
    pub fn parse(s: &str) -> Option<Level> {
        let s = s.trim().to_ascii_lowercase();
        Level::ALL
            .into_iter()
            .find(|l| l.name() == s)
            .or((s == "baseline").then_some(Level::Baseline))
    }

    /// True when this CPU can run the level.
    pub fn supported(self) -> bool {
        match self {
            Level::Baseline => true,
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => {
                Level::Avx2.supported()
                    && is_x86_feature_detected!("avx512f")
                    && is_x86_feature_detected!("avx512bw")
                    && is_x86_feature_detected!("avx512vl")
                    && is_x86_feature_detected!("avx512dq")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }
}

/// A level this CPU supports: holding one is the proof [`dispatch`] relies on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Isa(Level);

impl Isa {
    /// `Some` when the CPU supports `level`.
    pub fn new(level: Level) -> Option<Isa> {
        level.supported().then_some(Isa(level))
    }

    /// The best level this CPU supports.
    pub fn best() -> Isa {
        let level = Level::ALL
            .into_iter()
            .rev()
            .find(|l| l.supported())
            .unwrap_or(Level::Baseline);
        Isa(level)
    }

    /// Every level this CPU supports, from the lowest.
    pub fn all_supported() -> Vec<Isa> {
        Level::ALL.into_iter().filter_map(Isa::new).collect()
    }

    /// The instruction-set level.
    pub fn level(self) -> Level {
        self.0
    }

    /// The level's name, as `MTSNN_ISA` takes it.
    pub fn name(self) -> &'static str {
        self.0.name()
    }
}

impl fmt::Display for Isa {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The level the CPU kernels use in this process: the best the CPU has, or `MTSNN_ISA`'s when
/// that names a supported level no higher than the best (an unknown or unsupported name is
/// ignored, and [`requested_but_unavailable`] says so to whoever wants to warn).
pub fn active() -> Isa {
    static ACTIVE: OnceLock<Isa> = OnceLock::new();
    *ACTIVE.get_or_init(|| {
        std::env::var("MTSNN_ISA")
            .ok()
            .and_then(|s| Level::parse(&s))
            .and_then(Isa::new)
            .unwrap_or_else(Isa::best)
    })
}

/// `MTSNN_ISA`'s value when it is set but names no level this CPU supports.
pub fn requested_but_unavailable() -> Option<String> {
    let s = std::env::var("MTSNN_ISA").ok()?;
    match Level::parse(&s).and_then(Isa::new) {
        Some(_) => None,
        None => Some(s),
    }
}

/// A piece of vectorisable work. Implementations mark `run` `#[inline(always)]` (and every helper
/// it calls), so that it is compiled inside [`dispatch`]'s per-level functions.
pub trait Kernel {
    /// What the work returns.
    type Output;
    /// Does the work.
    fn run(self) -> Self::Output;
}

/// Runs `k` compiled for `isa`.
#[inline]
pub fn dispatch<K: Kernel>(isa: Isa, k: K) -> K::Output {
    match isa.0 {
        // SAFETY: an `Isa` exists only for a level the CPU supports (`Isa::new`, `Isa::best`).
        #[cfg(target_arch = "x86_64")]
        Level::Avx512 => unsafe { run_avx512(k) },
        #[cfg(target_arch = "x86_64")]
        // SAFETY: as above.
        Level::Avx2 => unsafe { run_avx2(k) },
        _ => k.run(),
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,bmi1,bmi2,lzcnt")]
fn run_avx512<K: Kernel>(k: K) -> K::Output {
    k.run()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt")]
fn run_avx2<K: Kernel>(k: K) -> K::Output {
    k.run()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The chosen level matches what the CPU reports, and the names round-trip.
    #[test]
    fn best_level_matches_the_cpu_features() {
        let best = Isa::best().level();
        #[cfg(target_arch = "x86_64")]
        {
            let avx512 = is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("avx512bw")
                && is_x86_feature_detected!("avx512vl")
                && is_x86_feature_detected!("avx512dq");
            let avx2 = is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma");
            let want = if avx512 && avx2 {
                Level::Avx512
            } else if avx2 {
                Level::Avx2
            } else {
                Level::Baseline
            };
            assert_eq!(best, want);
        }
        #[cfg(not(target_arch = "x86_64"))]
        assert_eq!(best, Level::Baseline);
        for l in Level::ALL {
            assert_eq!(Level::parse(l.name()), Some(l));
            assert_eq!(Isa::new(l).is_some(), l <= best);
        }
        assert_eq!(Level::parse("baseline"), Some(Level::Baseline));
        assert_eq!(Level::parse("avx1024"), None);
        assert!(Isa::all_supported().contains(&Isa::best()));
    }

    /// Where `/proc/cpuinfo` exists, its flags agree with the detected level.
    #[test]
    fn detected_level_agrees_with_proc_cpuinfo() {
        let Ok(info) = std::fs::read_to_string("/proc/cpuinfo") else {
            return;
        };
        let Some(flags) = info.lines().find(|l| l.starts_with("flags")) else {
            return;
        };
        let has = |f: &str| flags.split_whitespace().any(|x| x == f);
        let best = Isa::best().level();
        assert_eq!(
            best == Level::Avx512,
            has("avx512f") && has("avx512bw") && has("avx512vl") && has("avx512dq")
        );
        assert_eq!(best >= Level::Avx2, has("avx2") && has("fma"));
    }
}
