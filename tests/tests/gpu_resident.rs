//! Image sets resident on the backend: the gather and tally kernels against their CPU twins on
//! random input, and whole epochs (`Backend::train_epoch`, `Backend::evaluate_set`) against the
//! per-batch path (`train_batch` on batches gathered on the host): bit-identical on the same
//! backend, within `mtsnn_tests::compare`'s tolerance between the GPU and the CPU. The GPU's
//! counters show one host wait and about 8 bytes uploaded per sample per epoch.

use std::sync::Arc;

use mtsnn_core::dataset::{ImageSet, Order, augment_word};
use mtsnn_core::gpu::{WeightGradChunks, pass as gpu_pass};
use mtsnn_core::pass::{self, Record};
use mtsnn_core::rng::Rng;
use mtsnn_core::{Backend, CpuBackend, GpuBackend, Hyper, Model, NetSpec, Shape};
use mtsnn_tests::compare::assert_close;
use mtsnn_tests::gpu::gpu_context;

/// `n` random images of `shape` with random labels of `classes` and per-channel tables.
fn image_set(shape: Shape, n: usize, classes: usize, seed: u64) -> ImageSet {
    let mut rng = Rng::new(seed);
    let pixels = (0..n * shape.len()).map(|_| rng.below(256) as u8).collect();
    let labels = (0..n).map(|_| rng.below(classes) as u32).collect();
    let tables = (0..shape.channels)
        .map(|c| std::array::from_fn(|p| (p as f32 - 100.0) / (37.0 + c as f32)))
        .collect();
    ImageSet::new(shape, pixels, labels, tables).unwrap()
}

/// A random order with random crops (every offset 0..=2·pad) and flips.
fn random_order(n: usize, pad: usize, rng: &mut Rng) -> Order {
    let mut samples: Vec<u32> = (0..n as u32).collect();
    rng.shuffle(&mut samples);
    let augment = (0..n)
        .map(|_| {
            augment_word(
                rng.below(2 * pad + 1),
                rng.below(2 * pad + 1),
                rng.below(2) == 1,
            )
        })
        .collect();
    Order {
        pad,
        samples,
        augment,
    }
}

fn words<T: Copy>(xs: &[T], f: impl Fn(T) -> f32) -> Vec<f32> {
    xs.iter().map(|&x| f(x)).collect()
}

#[test]
fn gather_and_tally_match_their_cpu_twins() {
    let Some(ctx) = gpu_context("gather_and_tally_match_their_cpu_twins") else {
        return;
    };
    let ctx = Arc::new(ctx);
    let mut rng = Rng::new(3);
    // Odd sizes, so that images start mid-word in the packed pixels.
    for (shape, n, pad, first, batch) in [
        (Shape::new(3, 7, 5), 13, 2, 3, 5),
        (Shape::new(1, 9, 9), 11, 0, 0, 11),
        (Shape::new(2, 4, 6), 9, 3, 8, 1),
    ] {
        let set = image_set(shape, n, 10, 7 + n as u64);
        let order = random_order(n, pad, &mut rng);
        let (set_words, layout) = gpu_pass::image_set_words(&set).unwrap();
        let gpu_set = ctx.upload("set", &set_words).unwrap();
        let order_words = order.words();
        let gpu_order = ctx.upload("order", &order_words).unwrap();
        let x = ctx.zeros("x", batch * shape.len()).unwrap();
        let labels = ctx.zeros("labels", batch).unwrap();
        let d = pollster::block_on(gpu_pass::gather(
            &ctx, &gpu_set, &layout, &gpu_order, pad, first, batch, &x, &labels, true,
        ))
        .unwrap();
        let got =
            pollster::block_on(ctx.execute(&[&d], &[(&x, batch * shape.len()), (&labels, batch)]))
                .unwrap();
        let (mut want_x, mut want_labels) = (vec![0.0; batch * shape.len()], vec![0; batch]);
        pass::gather(
            &set,
            &order_words,
            pad,
            first,
            &mut want_x,
            &mut want_labels,
        );
        assert_eq!(got[0], want_x, "gather x {shape} pad {pad}");
        assert_eq!(got[1], words(&want_labels, f32::from_bits), "gather labels");
        // Some pixel came from a crop's black border or a flip: the test covers them.
        assert!(pad == 0 || want_x.contains(&set.tables[0][0]));
    }

    for (steps, batch, classes, first) in [(2, 7, 10, 0), (3, 33, 4, 5), (1, 1, 1, 2)] {
        // Small integer counts, with ties: the lowest index wins on both sides.
        let s: Vec<f32> = (0..steps * batch * classes)
            .map(|_| rng.below(3) as f32)
            .collect();
        let labels: Vec<u32> = (0..batch).map(|_| rng.below(classes) as u32).collect();
        let loss: Vec<f32> = (0..batch).map(|_| rng.uniform() as f32).collect();
        for record in [Record::Training, Record::Totals] {
            let per = record.len(classes);
            let t = |name: &str, v: &[f32]| ctx.upload(name, v).unwrap();
            let (gs, gl, gloss) = (
                t("s", &s),
                t("labels", &words(&labels, f32::from_bits)),
                t("loss", &loss),
            );
            let records = ctx
                .upload("records", &vec![-1.0; (first + batch) * per])
                .unwrap();
            let d = pollster::block_on(gpu_pass::tally(
                &ctx, &gs, &gl, &gloss, steps, batch, classes, record, first, &records,
            ))
            .unwrap();
            let got = pollster::block_on(ctx.execute(&[&d], &[(&records, records.len())]))
                .unwrap()
                .remove(0);
            let mut want = vec![-1.0; (first + batch) * per];
            pass::tally(
                &s,
                &labels,
                &loss,
                steps,
                classes,
                record,
                &mut want[first * per..],
            );
            assert_eq!(got, want, "tally {record:?} T={steps} B={batch}");
        }
    }
}

/// A `36-24-10` MLP on 6×6 images (T = 2), 200 training samples: batches of 64 leave a short
/// last batch of 8.
fn setup() -> (Model, Arc<ImageSet>, Arc<ImageSet>) {
    setup_net("36-24-10")
}

/// [`setup`] with another network on the same images.
fn setup_net(net: &str) -> (Model, Arc<ImageSet>, Arc<ImageSet>) {
    let spec = NetSpec::parse(net, Shape::new(1, 6, 6), 10).unwrap();
    let hyper = Hyper::default().with_steps(2);
    let model = Model::init(spec, hyper, 5).unwrap();
    let shape = Shape::new(1, 6, 6);
    (
        model,
        Arc::new(image_set(shape, 200, 10, 1)),
        Arc::new(image_set(shape, 90, 10, 2)),
    )
}

/// Trains `epochs` epochs on the per-batch path (batches gathered on the host by the CPU twin)
/// and returns each epoch's batch statistics.
fn per_batch_epochs(
    backend: &mut dyn Backend,
    set: &ImageSet,
    orders: &[Order],
    batch: usize,
) -> Vec<Vec<mtsnn_core::BatchStats>> {
    orders
        .iter()
        .map(|order| {
            let w = order.words();
            (0..order.len())
                .step_by(batch)
                .map(|first| {
                    let size = batch.min(order.len() - first);
                    let mut x = vec![0.0; size * set.shape.len()];
                    let mut y = vec![0; size];
                    pass::gather(set, &w, order.pad, first, &mut x, &mut y);
                    backend.train_batch(&x, &y).unwrap()
                })
                .collect()
        })
        .collect()
}

/// Three epochs' orders, cropped by 1 and flipped.
fn orders(n: usize) -> Vec<Order> {
    let mut rng = Rng::new(9);
    (0..3)
        .map(|_| Order::shuffled(n, 1, true, &mut rng))
        .collect()
}

#[test]
fn resident_epochs_equal_per_batch_training_on_the_cpu() {
    let (model, train, test) = setup();
    let orders = orders(train.len());
    let mut old = CpuBackend::new(&model).unwrap();
    let old_stats = per_batch_epochs(&mut old, &train, &orders, 64);
    let mut new = CpuBackend::new(&model).unwrap();
    let (set, _) = new.load_set(Arc::clone(&train)).unwrap();
    let (test_set, _) = new.load_set(Arc::clone(&test)).unwrap();
    let mut seen = Vec::new();
    for (order, old_stats) in orders.iter().zip(&old_stats) {
        let stats = new
            .train_epoch(set, order, 64, &mut |done| seen.push(done), None)
            .unwrap();
        assert_eq!(&stats.batches, old_stats);
    }
    assert_eq!(seen.last(), Some(&200));
    let (mut a, mut b) = (model.clone(), model.clone());
    old.read_state(&mut a).unwrap();
    new.read_state(&mut b).unwrap();
    assert_eq!(
        (a.weights(), a.adam()),
        (b.weights(), b.adam()),
        "bit-identical training"
    );
    // Evaluation of the whole set, in pieces of 40: the totals of one forward pass.
    let totals = new.evaluate_set(test_set, 40, &mut |_| {}).unwrap();
    let mut x = vec![0.0; test.len() * 36];
    pass::gather(
        &test,
        &Order::identity(test.len()).words(),
        0,
        0,
        &mut x,
        &mut [],
    );
    let whole = old.infer(&x, false).unwrap();
    assert_eq!(totals.values, whole.totals());
    assert_eq!(totals.correct(&test.labels), whole.correct(&test.labels));
}

/// Three epochs of an MLP and of a small CNN (convolution, pooling, dense).
#[test]
fn resident_epochs_on_the_gpu_equal_its_per_batch_path_and_match_the_cpu() {
    let Some(ctx) = gpu_context("resident_epochs_on_the_gpu_equal_its_per_batch_path") else {
        return;
    };
    let ctx = Arc::new(ctx);
    for net in ["36-24-10", "4C3-P2-16-10"] {
        gpu_epochs_match(&ctx, net);
    }
    // The CNN with its weight gradient split into 3 chunks of images across workgroups (batches
    // of 64 and 8 maps): the pass records both launches as the per-batch path does.
    let Some(split) = gpu_context("resident_epochs_on_the_gpu_equal_its_per_batch_path (3 chunks)")
    else {
        return;
    };
    let split = split.with_weight_grad_chunks(WeightGradChunks::Fixed(3));
    gpu_epochs_match(&Arc::new(split), "4C3-P2-16-10");
}

fn gpu_epochs_match(ctx: &Arc<mtsnn_core::GpuContext>, net: &str) {
    let ctx = Arc::clone(ctx);
    let (model, train, test) = setup_net(net);
    let orders = orders(train.len());
    let mut old = GpuBackend::new(Arc::clone(&ctx), &model).unwrap();
    let old_stats = per_batch_epochs(&mut old, &train, &orders, 64);

    let mut gpu = GpuBackend::new(Arc::clone(&ctx), &model).unwrap();
    let mut cpu = CpuBackend::new(&model).unwrap();
    let (set, note) = gpu.load_set(Arc::clone(&train)).unwrap();
    assert!(note.starts_with("on the device"), "{note}");
    let (test_set, _) = gpu.load_set(Arc::clone(&test)).unwrap();
    let (cpu_set, _) = cpu.load_set(Arc::clone(&train)).unwrap();
    let (cpu_test, _) = cpu.load_set(Arc::clone(&test)).unwrap();
    // The last epoch reads the weights and Adam state back with its records.
    let mut with_epoch = model.clone();
    let state_bytes = 3 * 4 * model.weights().iter().map(Vec::len).sum::<usize>();
    for (e, (order, old_stats)) in orders.iter().zip(&old_stats).enumerate() {
        let last = e + 1 == orders.len();
        let before = ctx.counters();
        let state = last.then_some(&mut with_epoch);
        let stats = gpu.train_epoch(set, order, 64, &mut |_| {}, state).unwrap();
        let used = ctx.counters().since(&before);
        assert_eq!(
            &stats.batches, old_stats,
            "epoch {e}: the per-batch path's stats"
        );
        let cpu_stats = cpu
            .train_epoch(cpu_set, order, 64, &mut |_| {}, None)
            .unwrap();
        for (g, c) in stats.batches.iter().zip(&cpu_stats.batches) {
            assert_eq!(g.correct, c.correct);
            assert_close("batch loss", &[g.loss], &[c.loss], 1.0);
        }
        // 4 batches: one submission, one wait; uploads: the order (8 B per sample), positions
        // and Adam constants; read back: 2 values per sample, and in the last epoch the state.
        assert_eq!(used.host_waits, 1, "epoch {e}: {used:?}");
        assert_eq!(
            used.submissions, 2,
            "epoch {e}: the batches and the read-back"
        );
        let state_read = if last { state_bytes } else { 0 };
        assert_eq!(used.bytes_read, (200 * 8 + state_read) as u64);
        let uploads = 200 * 8 + 4 * 4 + 4 * 24;
        if e > 0 {
            assert_eq!(used.bytes_uploaded, uploads as u64, "epoch {e}: {used:?}");
        }
    }
    let (mut a, mut b, mut c) = (model.clone(), model.clone(), model.clone());
    old.read_state(&mut a).unwrap();
    gpu.read_state(&mut b).unwrap();
    cpu.read_state(&mut c).unwrap();
    assert_eq!(
        (&a.weights(), &a.adam()),
        (&b.weights(), &b.adam()),
        "resident ≡ per-batch on the GPU"
    );
    assert_eq!(
        (&with_epoch.weights(), &with_epoch.adam()),
        (&b.weights(), &b.adam()),
        "the state read with the epoch ≡ read_state"
    );
    for i in 0..model.weights().len() {
        let step = |m: &Model| -> Vec<f32> {
            m.weights()[i]
                .iter()
                .zip(&model.weights()[i])
                .map(|(x, y)| x - y)
                .collect()
        };
        // Twelve Adam steps through two or three layers: the tolerance of the lockstep tests.
        assert_close(&format!("{net} Δw{i}"), &step(&b), &step(&c), 10.0);
    }
    let totals = gpu.evaluate_set(test_set, 40, &mut |_| {}).unwrap();
    let cpu_totals = cpu.evaluate_set(cpu_test, 40, &mut |_| {}).unwrap();
    assert_eq!(totals, cpu_totals);
}

/// A set over one storage binding stays on the host and still trains, with the same results.
#[test]
fn a_set_larger_than_a_binding_is_gathered_on_the_host() {
    let Some(ctx) = gpu_context("a_set_larger_than_a_binding_is_gathered_on_the_host") else {
        return;
    };
    let ctx = Arc::new(ctx);
    let (model, train, _) = setup();
    let order = &orders(train.len())[0];
    let mut resident = GpuBackend::new(Arc::clone(&ctx), &model).unwrap();
    let (set, _) = resident.load_set(Arc::clone(&train)).unwrap();
    let want = resident
        .train_epoch(set, order, 64, &mut |_| {}, None)
        .unwrap();
    // The largest set that fits one binding, plus one sample: built only where that is at most
    // 256 MiB (lavapipe binds 128 MiB); hardware GPUs bind gigabytes.
    if ctx.max_tensor_values() > 1 << 26 {
        println!("one binding holds over 256 MiB here: the host fallback is not exercised");
        return;
    }
    let limit = ctx.max_tensor_values() * 4 / 36 + 1;
    let big = ImageSet::new(
        train.shape,
        train
            .pixels
            .iter()
            .copied()
            .cycle()
            .take(limit * 36)
            .collect(),
        train.labels.iter().copied().cycle().take(limit).collect(),
        train.tables.clone(),
    )
    .unwrap();
    let mut host = GpuBackend::new(ctx, &model).unwrap();
    let (big_set, note) = host.load_set(Arc::new(big)).unwrap();
    assert!(note.starts_with("on the host"), "{note}");
    let got = host
        .train_epoch(big_set, order, 64, &mut |_| {}, None)
        .unwrap();
    assert_eq!(got, want);
}

/// A timed training batch is a training step like any other, and times every launch where the
/// adapter has timestamp queries (lavapipe has them).
#[test]
fn a_profiled_batch_trains_and_times_every_launch() {
    let Some(ctx) = gpu_context("a_profiled_batch_trains_and_times_every_launch") else {
        return;
    };
    let ctx = Arc::new(ctx);
    let (model, train, _) = setup();
    let mut x = vec![0.0; 32 * 36];
    let mut y = vec![0; 32];
    pass::gather(&train, &Order::identity(32).words(), 0, 0, &mut x, &mut y);
    let mut timed = GpuBackend::new(Arc::clone(&ctx), &model).unwrap();
    let mut plain = GpuBackend::new(Arc::clone(&ctx), &model).unwrap();
    let times = timed.profile_train_batch(&x, &y).unwrap();
    plain.train_batch(&x, &y).unwrap();
    assert_eq!(times.is_some(), ctx.has_timestamps());
    if let Some(times) = times {
        // Forward 2 × (matmul, LIF), the output error, 2 × (scan, weight gradient) with one
        // gradient passed down and one Σ_t, and 2 Adam updates.
        let kernels: Vec<&str> = times
            .iter()
            .map(|(l, _)| l.split(' ').next().unwrap())
            .collect();
        assert_eq!(kernels.iter().filter(|k| **k == "adam").count(), 2);
        assert_eq!(kernels[0], "matmul");
        assert!(times.iter().all(|(_, ns)| ns.is_finite() && *ns >= 0.0));
        assert!(times.iter().any(|(_, ns)| *ns > 0.0), "{times:?}");
    }
    let (mut a, mut b) = (model.clone(), model);
    timed.read_state(&mut a).unwrap();
    plain.read_state(&mut b).unwrap();
    assert_eq!((a.weights(), a.adam()), (b.weights(), b.adam()));
}
