//! `mtsnn bench --gemm N` (or `MxNxK`): the GPU backend's GEMM kernel alone, C = op(A)·op(B) on
//! device-resident random matrices, for each transpose variant the training schedule uses.
//!
//! Timing: one untimed run compiles the pipeline and warms the device; a single timed dispatch
//! then sets how many back-to-back dispatches make a run of about a quarter second (at least one).
//! Each run records that many dispatches in one submission and waits once at the end (reading one
//! value back), timed by the wall clock; the rate is that of the median run, with the slowest and
//! fastest beside it. The time includes the submission and the one wait, so small GEMMs on fast
//! GPUs read low; GPU timestamps would remove that.
use std::io::Write;
use std::time::Instant;

use anyhow::{Context, Result};
use mtsnn_core::gpu::{Dispatch, GEMM_TILES, GpuTensor, Loads, MatmulPath, gemm};
use mtsnn_core::rng::Rng;
use mtsnn_core::{AdapterPolicy, GpuContext};
use serde::Serialize;

use super::median_min_max;

/// The sizes of C = op(A)·op(B): C is m × n, the inner dimension k.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GemmShape {
    m: usize,
    n: usize,
    k: usize,
}

/// Parses `N` (m = n = k = N) or `MxNxK`, all positive.
pub fn parse_gemm_shape(s: &str) -> Result<GemmShape, String> {
    let dims: Vec<usize> = s
        .split('x')
        .map(|d| {
            d.trim()
                .parse()
                .map_err(|_| format!("{s:?} is not N or MxNxK"))
        })
        .collect::<Result<_, _>>()?;
    match dims[..] {
        [n] if n > 0 => Ok(GemmShape { m: n, n, k: n }),
        [m, n, k] if m > 0 && n > 0 && k > 0 => Ok(GemmShape { m, n, k }),
        _ => Err(format!(
            "{s:?} is not N or MxNxK with positive sizes, e.g. 1024 or 256x400x784"
        )),
    }
}

/// The kernel `--gemm-path` asks for: `None` for the adapter's own choice, else matmul.wgsl or
/// one tile with scalar or 16-byte loads.
#[derive(Clone, Debug)]
pub struct GemmPath(Option<MatmulPath>);

/// Parses `auto`, `direct`, a tile's name (scalar loads, gemm.wgsl) or a tile's name and `-vec4`
/// (16-byte loads where the rows allow, gemm_vec4.wgsl).
pub fn parse_gemm_path(s: &str) -> Result<GemmPath, String> {
    let (name, loads) = match s.strip_suffix("-vec4") {
        Some(name) => (name, Loads::Vec4),
        None => (s, Loads::Scalar),
    };
    match s {
        "auto" => Ok(GemmPath(None)),
        "direct" => Ok(GemmPath(Some(MatmulPath::Direct))),
        _ => GEMM_TILES
            .iter()
            .find(|t| t.name == name)
            .map(|t| GemmPath(Some(MatmulPath::tiled(*t, loads))))
            .ok_or_else(|| {
                let names: Vec<&str> = GEMM_TILES.iter().map(|t| t.name).collect();
                format!(
                    "{s:?} is not auto, direct, a tile ({}) or a tile with -vec4",
                    names.join(", ")
                )
            }),
    }
}

/// One line of `--json` output: one transpose variant.
#[derive(Debug, Serialize)]
struct GemmReport {
    adapter: String,
    kernel: String,
    m: usize,
    n: usize,
    k: usize,
    a_t: bool,
    b_t: bool,
    /// Dispatches per timed run, and timed runs.
    dispatches: usize,
    runs: usize,
    /// Median time per dispatch, milliseconds.
    ms: f64,
    /// 2·m·n·k per dispatch time: of the median run, the slowest and the fastest.
    gflops: f64,
    gflops_min: f64,
    gflops_max: f64,
}

/// Seconds for one submission of `dispatches` launches of `d` and a wait for them.
fn time_run(ctx: &GpuContext, d: &Dispatch, c: &GpuTensor, dispatches: usize) -> Result<f64> {
    let work = vec![d; dispatches];
    let start = Instant::now();
    pollster::block_on(ctx.execute(&work, &[(c, 1)])).context("running the GEMM")?;
    Ok(start.elapsed().as_secs_f64())
}

/// Wall-clock seconds a run should last.
const RUN_SECONDS: f64 = 0.25;
/// The most dispatches in one run.
const MAX_DISPATCHES: usize = 1000;

/// Runs `mtsnn bench --gemm`: `runs` (at least 1) timed runs per transpose variant.
pub fn run(shape: GemmShape, path: &GemmPath, runs: usize, json: bool) -> Result<()> {
    let GemmShape { m, n, k } = shape;
    let mut ctx = GpuContext::new(AdapterPolicy::Any).context("opening the GPU")?;
    if let Some(path) = path.0.clone() {
        ctx = ctx.with_matmul_path(path);
    }
    let mut rng = Rng::new(1);
    let mut random = |len: usize| -> Vec<f32> { (0..len).map(|_| rng.normal() as f32).collect() };
    let a = ctx.upload("A", &random(m * k))?;
    let b = ctx.upload("B", &random(k * n))?;
    let c = ctx.zeros("C", m * n)?;
    let flops = 2.0 * (m * n * k) as f64;
    let mut out = std::io::stdout().lock();
    if !json {
        writeln!(
            out,
            "GEMM C = op(A)·op(B), m={m} n={n} k={k}, on {}",
            ctx.name()
        )?;
        writeln!(out, "kernels: {}", ctx.matmul_path())?;
    }
    for (a_t, b_t) in [(false, false), (true, false), (false, true), (true, true)] {
        let kernel = ctx.matmul_path().describe(m, n, k, a_t, b_t);
        let d = pollster::block_on(gemm::matmul(&ctx, &a, &b, &c, m, n, k, a_t, b_t))?;
        time_run(&ctx, &d, &c, 1)?;
        let single = time_run(&ctx, &d, &c, 1)?;
        let dispatches = ((RUN_SECONDS / single).ceil() as usize).clamp(1, MAX_DISPATCHES);
        let mut secs = Vec::with_capacity(runs);
        for _ in 0..runs {
            secs.push(time_run(&ctx, &d, &c, dispatches)? / dispatches as f64);
        }
        let (med, fastest, slowest) = median_min_max(&mut secs);
        let r = GemmReport {
            adapter: ctx.name(),
            kernel: kernel.clone(),
            m,
            n,
            k,
            a_t,
            b_t,
            dispatches,
            runs,
            ms: med * 1e3,
            gflops: flops / med / 1e9,
            gflops_min: flops / slowest / 1e9,
            gflops_max: flops / fastest / 1e9,
        };
        if json {
            writeln!(out, "{}", serde_json::to_string(&r)?)?;
        } else {
            let name = format!(
                "{}·{}",
                if a_t { "Aᵀ" } else { "A" },
                if b_t { "Bᵀ" } else { "B" }
            );
            writeln!(
                out,
                "{name:<6} {:>9.3} ms {:>9.1} GFLOP/s (median of {runs} runs of {dispatches} dispatches; {:.1}–{:.1}) {kernel}",
                r.ms, r.gflops, r.gflops_min, r.gflops_max
            )?;
        }
    }
    Ok(())
}
