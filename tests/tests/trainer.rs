//! The trainer of `mtsnn_core::train`: a run stopped at any batch and resumed from its mid-epoch
//! checkpoint ends bit for bit where the uninterrupted run ends (weights, Adam state, every
//! epoch's metrics), for an MLP and a CNN on the CPU; the run folder says where a run stands.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use mtsnn_core::dataset::{DatasetKind, ImageSet, Norm};
use mtsnn_core::rng::Rng;
use mtsnn_core::train::run_dir::{CHECKPOINT, FINAL_MODEL, METRICS, Phase, RunState};
use mtsnn_core::train::{EpochMetrics, load_checkpoint};
use mtsnn_core::{BackendKind, Event, Finish, Hyper, Model, NetSpec, Shape, TrainConfig, Trainer};

const SIDE: usize = 8;
const CLASSES: usize = 10;
/// Training samples: 10 batches of 32 per epoch, the last one of 12.
const SAMPLES: usize = 300;

/// `n` 8×8 images: class c brightens row c % 8 and column c / 2 (plus noise), seeded.
fn images(n: usize, seed: u64) -> Arc<ImageSet> {
    let mut rng = Rng::new(seed);
    let mut pixels = Vec::with_capacity(n * SIDE * SIDE);
    let labels: Vec<u32> = (0..n).map(|i| (i % CLASSES) as u32).collect();
    for &c in &labels {
        let c = c as usize;
        for y in 0..SIDE {
            for x in 0..SIDE {
                let on = y == c % SIDE || x == c / 2;
                let v = if on { 200.0 } else { 30.0 } + 40.0 * rng.normal();
                pixels.push(v.clamp(0.0, 255.0) as u8);
            }
        }
    }
    let table = Norm {
        mean: 0.3,
        std: 0.3,
    }
    .table();
    Arc::new(ImageSet::new(Shape::new(1, SIDE, SIDE), pixels, labels, vec![table]).unwrap())
}

fn config() -> TrainConfig {
    TrainConfig::paper(DatasetKind::Mnist)
        .with_epochs(2)
        .with_batch(32)
        .with_crop(1)
        .with_seed(3)
}

/// A fresh trainer of `net` into `dir` on the CPU, checking the stop flag after every batch.
fn fresh(net: &str, dir: &Path) -> Trainer {
    fresh_on(BackendKind::Cpu, net, dir)
}

/// [`fresh`] on the backend `kind`.
fn fresh_on(kind: BackendKind, net: &str, dir: &Path) -> Trainer {
    let spec = NetSpec::parse(net, Shape::new(1, SIDE, SIDE), CLASSES).unwrap();
    let model = Model::init(spec, Hyper::default(), 5).unwrap();
    Trainer::new(model, config(), images(SAMPLES, 1), images(100, 2), dir)
        .backend(kind)
        .chunk_batches(Some(1))
}

/// Runs `trainer`, setting its stop flag once batch `stop_at` (epoch, batch, 1-based) is done.
fn run(trainer: &mut Trainer, stop_at: Option<(usize, usize)>) -> Finish {
    let flag = trainer.stop_flag();
    let mut epoch = 0;
    let batch = config().batch;
    trainer
        .run(&mut |event| match event {
            Event::EpochStarted { epoch: e, .. } => epoch = e,
            Event::Progress { done, .. }
                if stop_at.is_some_and(|(e, b)| e == epoch && done >= (b * batch).min(SAMPLES)) =>
            {
                flag.store(true, Ordering::SeqCst);
            }
            _ => {}
        })
        .unwrap()
}

fn metrics(dir: &Path) -> Vec<EpochMetrics> {
    std::fs::read_to_string(dir.join(METRICS))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// What must not depend on interruptions: the learning, not the clock.
fn learned(m: &EpochMetrics) -> (usize, f32, f64, f64, usize) {
    (
        m.epoch,
        m.lr,
        m.train_loss,
        m.train_accuracy,
        m.test_correct,
    )
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("mtsnn-trainer-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn interrupted_anywhere_and_resumed_is_uninterrupted(net: &str, name: &str) {
    let stops = [(1, 1), (1, 5), (1, 9), (1, 10), (2, 3), (2, 9)];
    interrupted_and_resumed_on(BackendKind::Cpu, net, name, &stops);
}

/// Trains `net` on `kind` uninterrupted, then stopped after each of `stops` (epoch, batch) and
/// resumed; every resumed run must end as the uninterrupted one.
fn interrupted_and_resumed_on(kind: BackendKind, net: &str, name: &str, stops: &[(usize, usize)]) {
    let fresh = |net: &str, dir: &Path| fresh_on(kind, net, dir);
    let whole = scratch(&format!("{name}-whole"));
    assert!(matches!(
        run(&mut fresh(net, &whole), None),
        Finish::Complete { .. }
    ));
    let want = Model::load(&whole.join(FINAL_MODEL)).unwrap();
    let want_metrics: Vec<_> = metrics(&whole).iter().map(learned).collect();
    assert_eq!(want_metrics.len(), 2);
    // 300 samples in batches of 32: 10 batches per epoch, the last one of 12.
    for &stop_at in stops {
        let dir = scratch(&format!("{name}-{}-{}", stop_at.0, stop_at.1));
        let finish = run(&mut fresh(net, &dir), Some(stop_at));
        let Finish::Interrupted {
            epoch,
            batch,
            batches,
            checkpoint,
        } = finish
        else {
            panic!("{stop_at:?}: not interrupted: {finish:?}");
        };
        // Stopping after an epoch's last batch finishes that epoch: the next one resumes at 0.
        let expect = if stop_at.1 == 10 {
            (stop_at.0 + 1, 0)
        } else {
            stop_at
        };
        assert_eq!(
            (epoch, batch, batches),
            (expect.0, expect.1, 10),
            "{stop_at:?}"
        );
        assert_eq!(checkpoint, dir.join(CHECKPOINT));
        let state = RunState::read(&dir).unwrap().unwrap();
        assert_eq!(
            (state.state, state.epoch, state.batch),
            (Phase::Interrupted, epoch, batch)
        );
        let (_, progress) = load_checkpoint(&checkpoint).unwrap();
        assert_eq!(
            progress.map(|p| (p.epoch, p.batches)),
            (batch > 0).then_some((epoch, batch))
        );

        let mut resumed = Trainer::resume(
            &checkpoint,
            config(),
            images(SAMPLES, 1),
            images(100, 2),
            &dir,
        )
        .unwrap()
        .backend(kind);
        assert!(matches!(run(&mut resumed, None), Finish::Complete { .. }));
        let got = Model::load(&dir.join(FINAL_MODEL)).unwrap();
        assert!(
            got.weights() == want.weights() && got.adam() == want.adam(),
            "{stop_at:?}: other weights"
        );
        let got_metrics: Vec<_> = metrics(&dir).iter().map(learned).collect();
        assert_eq!(got_metrics, want_metrics, "{stop_at:?}: other metrics");
        assert_eq!(
            RunState::read(&dir).unwrap().unwrap().state,
            Phase::Complete
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::remove_dir_all(&whole).unwrap();
}

#[test]
fn an_mlp_interrupted_at_any_batch_and_resumed_ends_as_the_uninterrupted_run() {
    interrupted_anywhere_and_resumed_is_uninterrupted("64-40-10", "mlp");
}

#[test]
fn a_cnn_interrupted_at_any_batch_and_resumed_ends_as_the_uninterrupted_run() {
    interrupted_anywhere_and_resumed_is_uninterrupted("6C3-P2-12C3-P2-10", "cnn");
}

/// The same on the GPU backend (lavapipe where there is no hardware GPU): its epochs, too, run in
/// chunks, and a resumed run reads its position from the checkpoint.
#[test]
fn a_run_on_the_gpu_interrupted_mid_epoch_and_resumed_ends_as_the_uninterrupted_run() {
    if mtsnn_tests::gpu::gpu_context("trainer on the GPU").is_none() {
        return;
    }
    interrupted_and_resumed_on(BackendKind::Gpu, "64-40-10", "gpu", &[(1, 4), (2, 7)]);
}

#[test]
fn a_new_run_refuses_a_folder_that_holds_one_unless_told_to_replace_it() {
    let dir = scratch("refuse");
    assert!(matches!(
        run(&mut fresh("64-10", &dir), None),
        Finish::Complete { .. }
    ));
    let err = fresh("64-10", &dir).run(&mut |_| {}).unwrap_err();
    assert!(err.to_string().contains("already holds a run"), "{err}");
    let mut again = fresh("64-10", &dir).replace_existing(true);
    assert!(matches!(run(&mut again, None), Finish::Complete { .. }));
    assert_eq!(
        metrics(&dir).len(),
        2,
        "the replaced run's metrics are gone"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn stop_after_pauses_and_a_finished_run_cannot_be_resumed_past_its_epochs() {
    let dir = scratch("pause");
    let mut t = fresh("64-10", &dir).stop_after(Some(1));
    assert!(matches!(run(&mut t, None), Finish::Paused { epoch: 1, .. }));
    assert_eq!(RunState::read(&dir).unwrap().unwrap().state, Phase::Paused);
    let ckpt = dir.join(CHECKPOINT);
    let rest = Trainer::resume(&ckpt, config(), images(SAMPLES, 1), images(100, 2), &dir).unwrap();
    assert!(matches!(
        run(&mut rest.backend(BackendKind::Cpu), None),
        Finish::Complete { .. }
    ));
    let done = Trainer::resume(&ckpt, config(), images(SAMPLES, 1), images(100, 2), &dir).unwrap();
    let err = done.backend(BackendKind::Cpu).run(&mut |_| {}).unwrap_err();
    assert!(
        err.to_string().contains("already trained 2 epochs"),
        "{err}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The potentials of dead output neurons: with a silent hidden layer every output potential is 0
/// at every step (nothing reaches it), for every class; with the output weights of one class made
/// −2, that class is dead and its potential never rises above 0 (no input can raise it, and it is
/// never reset).
#[test]
fn dead_classes_report_how_far_below_threshold_their_potential_stays() {
    use mtsnn_core::train::dead_class_potentials;
    let spec = NetSpec::parse("64-40-10", Shape::new(1, SIDE, SIDE), CLASSES).unwrap();
    let test = images(200, 2);
    let mut model = Model::init(spec, Hyper::default(), 5).unwrap();
    model.layer_weights_mut(0).fill(0.0);
    let mut cpu = mtsnn_core::CpuBackend::new(&model).unwrap();
    let all: Vec<usize> = (0..CLASSES).collect();
    for d in dead_class_potentials(&mut cpu, &model, &test, &all).unwrap() {
        assert_eq!((d.max_potential, d.mean_potential), (0.0, 0.0), "{d:?}");
    }
    let mut model = Model::init(
        NetSpec::parse("64-40-10", Shape::new(1, SIDE, SIDE), CLASSES).unwrap(),
        Hyper::default(),
        5,
    )
    .unwrap();
    model.layer_weights_mut(1)[3 * 40..4 * 40].fill(-2.0);
    let mut cpu = mtsnn_core::CpuBackend::new(&model).unwrap();
    let outcome = {
        use mtsnn_core::Backend;
        let (set, _) = cpu.load_set(Arc::clone(&test)).unwrap();
        mtsnn_core::train::evaluate_loaded(&mut cpu, &model, set, &test.labels).unwrap()
    };
    assert!(outcome.dead_classes().contains(&3), "{outcome:?}");
    let dead = dead_class_potentials(&mut cpu, &model, &test, &outcome.dead_classes()).unwrap();
    let three = dead.iter().find(|d| d.class == 3).unwrap();
    // Every hidden spike adds −2 and nothing resets it: v[1] = −2·Σs[1] ≤ 0, v[2] = λ·v[1] − 2·Σs[2] ≤ 0.
    assert!(three.max_potential <= 0.0, "{three:?}");
    assert!(three.mean_potential < 0.0, "{three:?}");
}

/// A guarded run of `64-40-10` on the CPU whose class-3 output neuron starts dead (all its weights
/// −2: no input can bring its potential above 0).
fn guarded(dir: &Path) -> Trainer {
    guarded_on(BackendKind::Cpu, dir)
}

/// [`guarded`] on the backend `kind`.
fn guarded_on(kind: BackendKind, dir: &Path) -> Trainer {
    let spec = NetSpec::parse("64-40-10", Shape::new(1, SIDE, SIDE), CLASSES).unwrap();
    let hyper = Hyper::default().with_guard_dead_classes(true);
    let mut model = Model::init(spec, hyper, 5).unwrap();
    model.layer_weights_mut(1)[3 * 40..4 * 40].fill(-2.0);
    Trainer::new(model, config(), images(SAMPLES, 1), images(100, 2), dir)
        .backend(kind)
        .chunk_batches(Some(1))
}

/// On the GPU backend the guard rebuilds the backend with the restarted weights: the run goes on
/// from them and ends as the same run on the CPU does in what it restarted.
#[test]
fn the_guard_restarts_on_the_gpu_too() {
    if mtsnn_tests::gpu::gpu_context("the dead-class guard on the GPU").is_none() {
        return;
    }
    let dir = scratch("guard-gpu");
    let finish = guarded_on(BackendKind::Gpu, &dir).run(&mut |_| {}).unwrap();
    assert!(matches!(finish, Finish::Complete { .. }), "{finish:?}");
    let m = metrics(&dir);
    assert!(m[0].restarted_classes.contains(&3), "{:?}", m[0]);
    let restarted = Model::load(&dir.join(FINAL_MODEL)).unwrap();
    let row = &restarted.weights()[1][3 * 40..4 * 40];
    assert!(row.iter().all(|&w| w != -2.0), "{row:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_guard_restarts_a_dead_output_neuron_and_resumes_exactly() {
    let whole = scratch("guard-whole");
    let mut notes = Vec::new();
    let finish = guarded(&whole)
        .run(&mut |event| {
            if let Event::Warning(w) = event {
                notes.push(w.to_string());
            }
        })
        .unwrap();
    assert!(matches!(finish, Finish::Complete { .. }));
    let m = metrics(&whole);
    assert!(m[0].restarted_classes.contains(&3), "{:?}", m[0]);
    assert!(
        notes
            .iter()
            .any(|n| n.contains("epoch 1") && n.contains("3 (")),
        "{notes:?}"
    );
    // The restart took eq 17's weights (mean V_th/40 = 0.25, std 0.5), and they were trained on.
    let want = Model::load(&whole.join(FINAL_MODEL)).unwrap();
    let row = &want.weights()[1][3 * 40..4 * 40];
    assert!(row.iter().all(|&w| w != -2.0), "{row:?}");
    let mean = row.iter().sum::<f32>() / 40.0;
    assert!(mean > -1.0 && mean < 1.5, "row mean {mean}");
    let want_metrics: Vec<_> = m.iter().map(learned).collect();
    // Stopped before the restart (it then happens in the resumed process) and after it.
    for stop_at in [(1, 5), (2, 3)] {
        let dir = scratch(&format!("guard-{}-{}", stop_at.0, stop_at.1));
        let Finish::Interrupted { checkpoint, .. } = run(&mut guarded(&dir), Some(stop_at)) else {
            panic!("{stop_at:?}: not interrupted");
        };
        let mut resumed = Trainer::resume(
            &checkpoint,
            config(),
            images(SAMPLES, 1),
            images(100, 2),
            &dir,
        )
        .unwrap()
        .backend(BackendKind::Cpu);
        assert!(matches!(run(&mut resumed, None), Finish::Complete { .. }));
        let got = Model::load(&dir.join(FINAL_MODEL)).unwrap();
        assert!(
            got.weights() == want.weights() && got.adam() == want.adam(),
            "{stop_at:?}: other weights"
        );
        let got_metrics: Vec<_> = metrics(&dir).iter().map(learned).collect();
        assert_eq!(got_metrics, want_metrics, "{stop_at:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
    std::fs::remove_dir_all(&whole).unwrap();
}
