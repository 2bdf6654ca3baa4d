//! Every GPU kernel against its CPU twin on the same random input (a one-step schedule on the GPU
//! executor, `mtsnn_tests::kernel`, vs the CPU kernels of `mtsnn_core::cpu`), with the one tolerance of `mtsnn_tests::compare`:
//! |x−y| ≤ max(r·|x+y|, r·RMS(cpu)), r = 1e-5; spike counts exact except within 1e-5 of a
//! multiple of V_th. Needs a GPU adapter (lavapipe will do); see `mtsnn_tests::gpu`.

use std::collections::HashSet;
use std::sync::Arc;

use mtsnn_core::cpu::{adam as cpu_adam, gemm as cpu_gemm, neuron as cpu_neuron};
use mtsnn_core::gpu::{GEMM_TILES, Loads, MatmulPath, vec4_operands};
use mtsnn_core::hyper::GradMode;
use mtsnn_core::kernel_params::{AdamStep, ScanParams};
use mtsnn_core::rng::Rng;
use mtsnn_core::schedule::{Buf, Step};
use mtsnn_core::{Error, GpuContext, Surrogate, SurrogateParams};
use mtsnn_tests::compare::{assert_close, near_threshold, worst_relative};
use mtsnn_tests::gpu::gpu_context;
use mtsnn_tests::kernel::{On, gpu_step, run_step};

fn normal(rng: &mut Rng, n: usize, scale: f32) -> Vec<f32> {
    (0..n).map(|_| scale * rng.normal() as f32).collect()
}

fn table_one(kind: Surrogate) -> SurrogateParams {
    SurrogateParams {
        kind,
        v_th: 10.0,
        s_max: 15,
        alpha_h: 1.0,
        alpha_w: 20.0,
    }
}

/// Other values: a small threshold that is not a power of two, a low S_max, a wide window.
fn other(kind: Surrogate) -> SurrogateParams {
    SurrogateParams {
        kind,
        v_th: 0.7,
        s_max: 3,
        alpha_h: 0.5,
        alpha_w: 0.3,
    }
}

const SURROGATES: [Surrogate; 3] = [Surrogate::F1, Surrogate::F2, Surrogate::F3];

/// Potentials that probe eq 5's staircase: exact multiples of V_th (−3 … S_max + 3, so below 0
/// and in saturation), one ULP either side of them, 1e-3·V_th either side, and random values
/// from well below 0 to past (S_max + 1)·V_th.
fn probing_values(rng: &mut Rng, sp: &SurrogateParams, n_random: usize) -> Vec<f32> {
    let mut xs = Vec::new();
    for k in -3..=(sp.s_max as i32 + 3) {
        let x = k as f32 * sp.v_th;
        xs.extend([
            x,
            x.next_up(),
            x.next_down(),
            x + 1e-3 * sp.v_th,
            x - 1e-3 * sp.v_th,
        ]);
    }
    let span = (sp.s_max + 2) as f32 * sp.v_th;
    xs.extend((0..n_random).map(|_| (rng.uniform() as f32 * 1.3 - 0.2) * span));
    xs
}

/// Every GEMM the engine ships, forced in turn whatever the adapter: matmul.wgsl (software
/// adapters' kernel; both orientations of its lanes, m > n puts them on rows) and each tile of
/// `GEMM_TILES` with scalar loads (gemm.wgsl) and with 16-byte loads where the rows allow
/// (gemm_vec4.wgsl; hardware GPUs'); every transpose, and sizes that leave partial tiles on every
/// side (matmul's tiles are 16 × 256 over 8-step blocks; gemm's up to 128 × 128, staged 8 or 16
/// steps at a time) and an inner dimension that is not a multiple of either. Sizes with every
/// side a multiple of 4 load both operands by vec4s, the others one or neither (the paper's
/// output layer: 10 classes), and the vec4 loads give the bits of the scalar ones.
#[test]
fn matmul_matches_cpu_for_all_transposes_paths_and_ragged_sizes() {
    let mut rng = Rng::new(11);
    let sizes = [
        (1, 1, 1),
        (3, 5, 7),
        (64, 64, 16),
        (67, 33, 129),
        (128, 40, 300),
        (65, 130, 17),
        (200, 1, 64),
        (9, 513, 11),
        (129, 131, 33),
        (256, 257, 40),
        (5, 0, 3),
        (4, 6, 0),
        (132, 68, 20),
        (8, 12, 4),
        (36, 260, 44),
        // The paper MLP's output layer (400 → 10, batch·T = 256): forward, weight gradient and
        // input gradient shapes.
        (256, 10, 400),
        (10, 400, 256),
        (256, 400, 10),
    ];
    let tiled = |loads| GEMM_TILES.map(move |t| MatmulPath::tiled(t, loads));
    let paths = std::iter::once(MatmulPath::Direct)
        .chain(tiled(Loads::Scalar))
        .chain(tiled(Loads::Vec4));
    for path in paths {
        let what = path.to_string();
        let test = format!("matmul_matches_cpu ({what})");
        let Some(ctx) = gpu_context(&test) else {
            return;
        };
        // For the vec4 loads, the same tile with scalar loads.
        let scalar = match &path {
            MatmulPath::Tiled {
                tiles,
                loads: Loads::Vec4,
                ..
            } => Some(Arc::new(
                gpu_context(&test)
                    .expect("an adapter, as above")
                    .with_matmul_path(MatmulPath::tiled(tiles[0], Loads::Scalar)),
            )),
            _ => None,
        };
        let ctx = Arc::new(ctx.with_matmul_path(path.clone()));
        let mut worst = 0.0f32;
        let mut vec4_seen = HashSet::new();
        for (m, n, k) in sizes {
            let a = normal(&mut rng, m * k, 1.0);
            let b = normal(&mut rng, k * n, 1.0);
            for (a_t, b_t) in [(false, false), (true, false), (false, true), (true, true)] {
                let case = format!("{m}x{n}x{k} a_t={a_t} b_t={b_t}");
                let mut want = vec![f32::NAN; m * n];
                cpu_gemm::matmul(&a, &b, &mut want, m, n, k, a_t, b_t);
                let got = vec![f32::NAN; m * n];
                let step = matmul(m, n, k, a_t, b_t);
                let got = gpu_step(&ctx, step, &[&a, &b, &got]).unwrap().remove(2);
                assert_close(&format!("matmul, {what}, {case}"), &got, &want, 1.0);
                worst = worst.max(worst_relative(&got, &want));
                let Some(scalar) = &scalar else {
                    continue;
                };
                let launch = path.gemm_for(m, n, k, a_t, b_t).expect("a tiled path");
                assert_eq!(launch.vec4, vec4_operands(m, n, k, a_t, b_t), "{case}");
                vec4_seen.insert(launch.vec4);
                let step = matmul(m, n, k, a_t, b_t);
                let bits = gpu_step(scalar, step, &[&a, &b, &vec![f32::NAN; m * n]])
                    .unwrap()
                    .remove(2);
                let differ = got
                    .iter()
                    .zip(&bits)
                    .filter(|(x, y)| x.to_bits() != y.to_bits())
                    .count();
                assert_eq!(differ, 0, "{what}, {case}: values unlike the scalar loads'");
            }
        }
        if scalar.is_some() {
            assert_eq!(vec4_seen.len(), 4, "{what}: vec4 A, B, both and neither");
        }
        println!("matmul, {what}: worst |x−y| / max(|x+y|, rms) = {worst:e}");
    }
}

/// C = op(A)·op(B) with A, B, C in buffers 0, 1, 2.
fn matmul(m: usize, n: usize, k: usize, a_t: bool, b_t: bool) -> Step {
    Step::Matmul {
        a: Buf(0),
        b: Buf(1),
        c: Buf(2),
        m,
        n,
        k,
        a_t,
        b_t,
    }
}

/// Σ_t x[t] from buffer 0 into buffer 1.
fn sum_steps(steps: usize, m: usize) -> Step {
    Step::SumSteps {
        x: Buf(0),
        steps,
        m,
        out: Buf(1),
    }
}

/// More workgroups than one grid dimension holds (65,535): the 2-D grid must cover them all.
#[test]
fn matmul_and_elementwise_kernels_cover_more_than_65535_workgroups() {
    let Some(ctx) = gpu_context("matmul_and_elementwise_kernels_cover_more_than_65535_workgroups")
    else {
        return;
    };
    let ctx = Arc::new(ctx);
    let mut rng = Rng::new(12);
    // 1 × n × 1 with n just past 65,536 tiles of 256 lanes.
    let n = 256 * 65_536 + 3;
    let b = normal(&mut rng, n, 1.0);
    let got = vec![0.0; n];
    let got = gpu_step(&ctx, matmul(1, n, 1, false, false), &[&[2.0], &b, &got])
        .unwrap()
        .remove(2);
    assert!(
        got.iter().zip(&b).all(|(g, b)| *g == 2.0 * b),
        "matmul past 65,535 tiles"
    );
    // The same on the 32x32 tile: 1 × n with n just past 65,536 tiles of 32 columns, by scalar
    // loads (gemm.wgsl) and with B, n a multiple of 4, by vec4 loads (gemm_vec4.wgsl).
    for (loads, n) in [
        (Loads::Scalar, 32 * 65_536 + 3),
        (Loads::Vec4, 32 * 65_536 + 4),
    ] {
        let path = MatmulPath::tiled(GEMM_TILES[2], loads);
        let what = path.describe(1, n, 1, false, false);
        let tiled = Arc::new(
            gpu_context(&format!(
                "matmul_and_elementwise_kernels_cover_more_than_65535_workgroups ({what})"
            ))
            .expect("an adapter, as above")
            .with_matmul_path(path),
        );
        let got = vec![0.0; n];
        let got = gpu_step(
            &tiled,
            matmul(1, n, 1, false, false),
            &[&[2.0], &b[..n], &got],
        )
        .unwrap()
        .remove(2);
        assert!(
            got.iter().zip(&b).all(|(g, b)| *g == 2.0 * b),
            "{what} past 65,535 tiles"
        );
    }
    // sum_steps over 65,537 workgroups of 64.
    let m = 64 * 65_536 + 37;
    let x = normal(&mut rng, m, 1.0);
    let sum = vec![0.0; m];
    let sum = gpu_step(&ctx, sum_steps(1, m), &[&x, &sum])
        .unwrap()
        .remove(1);
    assert_eq!(sum, x, "sum_steps past 65,535 workgroups");
}

/// Runs both twins of eq 3–5 and compares: spike counts exactly, except that a neuron whose
/// potential lies within 1e-5 of a multiple of V_th may differ from that step on (after a
/// different count its later potentials differ by V_th); potentials with the tolerance.
fn compare_lif(
    ctx: &Arc<GpuContext>,
    current: &[f32],
    constant: bool,
    steps: usize,
    m: usize,
    lambda: f32,
    sp: &SurrogateParams,
) -> usize {
    let (mut v_cpu, mut s_cpu) = (vec![0.0; steps * m], vec![0.0; steps * m]);
    cpu_neuron::lif_forward(
        current, constant, steps, m, lambda, sp, &mut v_cpu, &mut s_cpu,
    );
    let step = Step::LifForward {
        current: Buf(0),
        constant,
        steps,
        m,
        lambda,
        sp: *sp,
        v: Buf(1),
        s: Buf(2),
    };
    let unset = vec![f32::NAN; steps * m];
    let mut out = gpu_step(ctx, step, &[current, &unset, &unset]).unwrap();
    let (s_gpu, v_gpu) = (out.remove(2), out.remove(1));
    let mut diverged = vec![false; m];
    let mut exceptions = 0;
    for t in 0..steps {
        for (j, gone) in diverged.iter_mut().enumerate() {
            let i = t * m + j;
            if *gone || s_gpu[i] == s_cpu[i] {
                continue;
            }
            assert!(
                near_threshold(v_cpu[i], sp.v_th),
                "spike count differs at step {t} neuron {j}: gpu {} vs cpu {} (v gpu {} cpu {})",
                s_gpu[i],
                s_cpu[i],
                v_gpu[i],
                v_cpu[i]
            );
            *gone = true;
            exceptions += 1;
        }
    }
    let keep: Vec<usize> = (0..steps * m).filter(|i| !diverged[i % m]).collect();
    let pick = |x: &[f32]| keep.iter().map(|&i| x[i]).collect::<Vec<_>>();
    assert_close("lif_forward v", &pick(&v_gpu), &pick(&v_cpu), 1.0);
    exceptions
}

#[test]
fn lif_forward_matches_cpu_at_and_near_thresholds_saturation_and_below_zero() {
    let Some(ctx) =
        gpu_context("lif_forward_matches_cpu_at_and_near_thresholds_saturation_and_below_zero")
    else {
        return;
    };
    let ctx = Arc::new(ctx);
    let mut rng = Rng::new(13);
    let mut exceptions = 0;
    let mut neurons = 0;
    for (sp, lambda) in [
        (table_one(Surrogate::F2), 0.9f32),
        (other(Surrogate::F2), 0.5),
    ] {
        // Constant current (layer 1): exact multiples stay exact (u returns to 0 after each step).
        let current = probing_values(&mut rng, &sp, 1000);
        let m = current.len();
        for steps in [1, 2, 5] {
            exceptions += compare_lif(&ctx, &current, true, steps, m, lambda, &sp);
            neurons += m;
        }
        // A current per step, m not a multiple of the workgroup size.
        for (steps, m) in [(1, 1), (2, 1000 + 37), (3, 4099)] {
            let mut current = normal(&mut rng, steps * m, 4.0 * sp.v_th);
            let probes = probing_values(&mut rng, &sp, 0);
            let len = probes.len().min(current.len());
            current[..len].copy_from_slice(&probes[..len]);
            exceptions += compare_lif(&ctx, &current, false, steps, m, lambda, &sp);
            neurons += m;
        }
    }
    println!("lif_forward: {exceptions} of {neurons} neurons took the near-threshold exception");
}

/// f3's falling edge, α_H·((S_max+1)·V_th − v)/V_th on [S_max·V_th, (S_max+1)·V_th), is a small
/// difference of values near S_max + 1 once a compiler folds it into S_max + 1 − v·(1/V_th), as
/// NVIDIA's did (seen on an H200: 1.3e-4 relative on one value): f then carries an absolute error
/// of a few ulp of S_max + 1, not a relative one. For each value of δ or G whose column touches
/// the edge at its step or a later one, the bound is 8 ulp(S_max + 1)·α_H·Σ_t |upstream[t]|,
/// times |1 − V_th·α_H| per further step where BPTT keeps the reset path; `None` elsewhere.
fn f3_edge_bounds(
    v: &[f32],
    upstream: &[f32],
    steps: usize,
    m: usize,
    p: &ScanParams,
) -> Vec<Option<f32>> {
    let sp = &p.sp;
    let (lo, hi) = (sp.s_max as f32 * sp.v_th, (sp.s_max + 1) as f32 * sp.v_th);
    let growth = if p.mode == GradMode::Bptt && !p.detach_reset {
        (1.0 - sp.v_th * sp.alpha_h).abs().max(1.0)
    } else {
        1.0
    };
    let ulp = (sp.s_max + 1) as f32 * f32::EPSILON;
    let mut out = vec![None; steps * m];
    for j in 0..m {
        let up: f32 = (0..steps).map(|t| upstream[t * m + j].abs()).sum();
        let bound = 8.0 * ulp * sp.alpha_h * up * growth.powi(steps as i32 - 1);
        for t in 0..steps {
            if (t..steps).any(|u| (lo..hi).contains(&v[u * m + j])) {
                out[t * m + j] = Some(bound);
            }
        }
    }
    out
}

/// The values of `gpu` and `cpu` where `edge` is `None`.
fn outside(gpu: &[f32], cpu: &[f32], edge: &[Option<f32>]) -> (Vec<f32>, Vec<f32>) {
    (0..gpu.len())
        .filter(|&i| edge[i].is_none())
        .map(|i| (gpu[i], cpu[i]))
        .unzip()
}

#[test]
fn surrogate_g_scan_matches_cpu_for_all_surrogates_and_gradient_modes() {
    let Some(ctx) =
        gpu_context("surrogate_g_scan_matches_cpu_for_all_surrogates_and_gradient_modes")
    else {
        return;
    };
    let ctx = Arc::new(ctx);
    let mut rng = Rng::new(14);
    let modes = [
        (GradMode::Paper, false),
        (GradMode::Paper, true),
        (GradMode::Bptt, false),
        (GradMode::Bptt, true),
    ];
    for kind in SURROGATES {
        for (sp, lambda) in [(table_one(kind), 0.9f32), (other(kind), 0.5)] {
            for (mode, detach_reset) in modes {
                // BPTT without the cut multiplies by 1 − V_th·f′ ≈ −9 per step: keep T small there.
                for steps in [1, 3] {
                    let p = ScanParams {
                        lambda,
                        sp,
                        mode,
                        detach_reset,
                    };
                    let mut v = probing_values(&mut rng, &sp, 3000);
                    let m = v.len() / steps;
                    v.truncate(steps * m);
                    let upstream = normal(&mut rng, steps * m, 0.1);
                    let (mut d_cpu, mut g_cpu) = (vec![0.0; steps * m], vec![0.0; steps * m]);
                    cpu_neuron::surrogate_g_scan(
                        &upstream, &v, steps, m, &p, &mut d_cpu, &mut g_cpu,
                    );
                    let step = Step::SurrogateGScan {
                        upstream: Buf(0),
                        v: Buf(1),
                        steps,
                        m,
                        scan: p,
                        delta: Buf(2),
                        g: Buf(3),
                    };
                    let unset = vec![f32::NAN; steps * m];
                    let mut out = gpu_step(&ctx, step, &[&upstream, &v, &unset, &unset]).unwrap();
                    let (g_gpu, d_gpu) = (out.remove(3), out.remove(2));
                    let what = format!(
                        "{kind} v_th={} {mode:?} detach_reset={detach_reset} steps={steps}",
                        sp.v_th
                    );
                    if kind == Surrogate::F3 {
                        let edge = f3_edge_bounds(&v, &upstream, steps, m, &p);
                        let (dg, dc) = outside(&d_gpu, &d_cpu, &edge);
                        let (gg, gc) = outside(&g_gpu, &g_cpu, &edge);
                        assert_close(&format!("surrogate_g_scan δ, {what}"), &dg, &dc, 1.0);
                        assert_close(&format!("surrogate_g_scan G, {what}"), &gg, &gc, 1.0);
                        for (i, bound) in edge.iter().enumerate() {
                            if let Some(b) = bound {
                                let (x, y) = (g_gpu[i], g_cpu[i]);
                                assert!(
                                    (x - y).abs() <= *b,
                                    "G on f3's falling edge, {what}: {x} vs {y} (bound {b:e})"
                                );
                                let (x, y) = (d_gpu[i], d_cpu[i]);
                                assert!(
                                    (x - y).abs() <= *b,
                                    "δ on f3's falling edge, {what}: {x} vs {y} (bound {b:e})"
                                );
                            }
                        }
                    } else {
                        assert_close(&format!("surrogate_g_scan δ, {what}"), &d_gpu, &d_cpu, 1.0);
                        assert_close(&format!("surrogate_g_scan G, {what}"), &g_gpu, &g_cpu, 1.0);
                    }
                    println!(
                        "surrogate_g_scan {what}: worst relative δ {:e}, G {:e}",
                        worst_relative(&d_gpu, &d_cpu),
                        worst_relative(&g_gpu, &g_cpu)
                    );
                }
            }
        }
    }
}

#[test]
fn output_error_matches_cpu() {
    let Some(ctx) = gpu_context("output_error_matches_cpu") else {
        return;
    };
    let ctx = Arc::new(ctx);
    let mut rng = Rng::new(15);
    for (steps, batch, classes, target) in [(1, 1, 1, 5.0f32), (2, 130, 10, 5.0), (3, 67, 7, 4.5)] {
        let s: Vec<f32> = (0..steps * batch * classes)
            .map(|_| rng.below(16) as f32)
            .collect();
        let labels: Vec<u32> = (0..batch).map(|_| rng.below(classes) as u32).collect();
        let (mut up_cpu, mut losses_cpu) = (vec![0.0; s.len()], vec![0.0; batch]);
        let loss_cpu = cpu_neuron::output_error(
            &s,
            &labels,
            steps,
            classes,
            target,
            &mut up_cpu,
            &mut losses_cpu,
        );
        let step = Step::OutputError {
            s: Buf(0),
            labels: Buf(1),
            steps,
            batch,
            classes,
            target,
            upstream: Buf(2),
            loss: Buf(3),
        };
        let (unset, losses) = (vec![f32::NAN; s.len()], vec![f32::NAN; batch]);
        let labels_bits: Vec<f32> = labels.iter().map(|&l| f32::from_bits(l)).collect();
        let ran = run_step(
            On::Gpu(&ctx),
            step,
            &[&s, &labels_bits, &unset, &losses],
            None,
        )
        .unwrap();
        let (loss_gpu, up_gpu) = (ran.loss.unwrap(), &ran.values[2]);
        assert_close("output_error upstream", up_gpu, &up_cpu, 1.0);
        assert_close("output_error loss", &[loss_gpu], &[loss_cpu], 1.0);
        // Spike counts are small integers: the per-sample sums are exact on both sides.
        assert_eq!(ran.values[3], losses_cpu, "output_error per-sample losses");
    }
}

#[test]
fn sum_steps_is_bit_identical_to_cpu() {
    let Some(ctx) = gpu_context("sum_steps_is_bit_identical_to_cpu") else {
        return;
    };
    let ctx = Arc::new(ctx);
    let mut rng = Rng::new(16);
    for (steps, m) in [(1, 1), (2, 1000 + 37), (7, 333)] {
        let x = normal(&mut rng, steps * m, 1.0);
        let mut want = vec![0.0; m];
        cpu_neuron::sum_steps(&x, steps, m, &mut want);
        let got = vec![f32::NAN; m];
        let got = gpu_step(&ctx, sum_steps(steps, m), &[&x, &got])
            .unwrap()
            .remove(1);
        assert_eq!(got, want, "sum_steps steps={steps} m={m}");
    }
}

#[test]
fn adam_update_matches_cpu() {
    let Some(ctx) = gpu_context("adam_update_matches_cpu") else {
        return;
    };
    let ctx = Arc::new(ctx);
    let mut rng = Rng::new(17);
    let n = 5000 + 3;
    for step in [1, 2, 1000] {
        let w = normal(&mut rng, n, 0.5);
        let grad = normal(&mut rng, n, 1e-2);
        let m = normal(&mut rng, n, 1e-2);
        let v: Vec<f32> = normal(&mut rng, n, 1e-2).iter().map(|x| x * x).collect();
        let p = AdamStep {
            lr: 0.005,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            step,
        };
        let (mut w_cpu, mut m_cpu, mut v_cpu) = (w.clone(), m.clone(), v.clone());
        cpu_adam::adam_update(&mut w_cpu, &grad, &mut m_cpu, &mut v_cpu, &p);
        let step = Step::Adam {
            w: Buf(0),
            grad: Buf(1),
            m: Buf(2),
            v: Buf(3),
            len: n,
        };
        let ran = run_step(On::Gpu(&ctx), step, &[&w, &grad, &m, &v], Some(p)).unwrap();
        let [w_gpu, _, m_gpu, v_gpu] = &ran.values[..] else {
            panic!("four buffers")
        };
        assert_close("adam m", m_gpu, &m_cpu, 1.0);
        assert_close("adam v", v_gpu, &v_cpu, 1.0);
        // Compare the step taken, w − w₀, not w itself (|w| ≫ |Δw| would hide errors in Δw).
        let dw = |w1: &[f32]| w1.iter().zip(&w).map(|(a, b)| a - b).collect::<Vec<_>>();
        assert_close("adam Δw", &dw(w_gpu), &dw(&w_cpu), 1.0);
    }
}

#[test]
fn wrong_sizes_and_oversized_buffers_are_errors_not_panics() {
    let Some(ctx) = gpu_context("wrong_sizes_and_oversized_buffers_are_errors_not_panics") else {
        return;
    };
    let ctx = Arc::new(ctx);
    let c = vec![0.0; 4];
    for on in [On::Cpu, On::Gpu(&ctx)] {
        let step = matmul(2, 2, 1, false, false);
        let err = run_step(on, step, &[&[1.0; 3], &[1.0; 2], &c], None).unwrap_err();
        assert!(matches!(err, Error::Shape(_)), "{on:?}: {err}");
    }
    let limit = ctx
        .limits()
        .max_storage_buffer_binding_size
        .min(ctx.limits().max_buffer_size);
    let too_many = (limit / 4 + 1) as usize;
    let err = ctx.zeros("huge", too_many).unwrap_err();
    assert!(
        matches!(err, Error::Gpu(ref msg) if msg.contains("huge")),
        "{err}"
    );
    println!("oversized buffer: {err}");
}

/// A wgpu error outside any scope (here a buffer with an invalid usage) is not lost: the next
/// operation reports it as `Error::Gpu` instead of returning zeros.
#[test]
fn uncaptured_wgpu_errors_surface_as_gpu_errors() {
    let Some(ctx) = gpu_context("uncaptured_wgpu_errors_surface_as_gpu_errors") else {
        return;
    };
    let _bad = ctx.device().create_buffer(&wgpu::BufferDescriptor {
        label: Some("invalid"),
        size: 16,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::STORAGE,
        mapped_at_creation: false,
    });
    let ctx = Arc::new(ctx);
    let out = vec![0.0; 2];
    let err = gpu_step(&ctx, sum_steps(1, 2), &[&[1.0, 2.0], &out]).unwrap_err();
    assert!(matches!(err, Error::Gpu(_)), "{err}");
    let out = gpu_step(&ctx, sum_steps(1, 2), &[&[1.0, 2.0], &out]).unwrap();
    assert_eq!(out[1], [1.0, 2.0]);
}
