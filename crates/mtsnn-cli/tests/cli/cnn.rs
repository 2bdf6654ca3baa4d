//! Convolutional networks end to end on the CPU: a CNN trained on generated CIFAR-10 files in the
//! real binary format (3,073-byte records) beats chance, and broken CIFAR files are clear errors.

use crate::common::*;
use serde_json::Value;

/// One CIFAR-10 record of class `label`: a class-specific colour and a bright square whose place
/// depends on the class, on noise.
fn cifar_record(label: u8, g: &mut Gen) -> Vec<u8> {
    let mut rec = vec![label];
    let (side, plane) = (32usize, 32 * 32);
    let mut px = vec![0u8; 3 * plane];
    for (c, chunk) in px.chunks_exact_mut(plane).enumerate() {
        let base = if usize::from(label) % 3 == c { 120 } else { 30 };
        for p in chunk.iter_mut() {
            *p = base + g.below(60) as u8;
        }
    }
    let (x0, y0) = (
        4 + 5 * usize::from(label % 5),
        6 + 14 * usize::from(label / 5),
    );
    for c in 0..3 {
        for y in y0..y0 + 6 {
            for x in x0..x0 + 6 {
                px[c * plane + y * side + x] = 250;
            }
        }
    }
    rec.extend(px);
    rec
}

fn write_cifar(dir: &std::path::Path, per_file: usize) {
    std::fs::create_dir_all(dir).unwrap();
    let mut g = Gen::new(7);
    let mut file = |name: &str, n: usize| {
        let bytes: Vec<u8> = (0..n)
            .flat_map(|i| cifar_record((i % 10) as u8, &mut g))
            .collect();
        std::fs::write(dir.join(name), bytes).unwrap();
    };
    for b in 1..=5 {
        file(&format!("data_batch_{b}.bin"), per_file);
    }
    file("test_batch.bin", per_file);
}

/// `mtsnn train --dataset cifar10 --data DATA --backend cpu` and `more`, run in `tmp`.
fn train_on_cifar(tmp: &TempDir, data: &std::path::Path, more: &[&str]) -> std::process::Output {
    let mut args = vec![
        "train",
        "--dataset",
        "cifar10",
        "--data",
        data.to_str().unwrap(),
        "--backend",
        "cpu",
    ];
    args.extend_from_slice(more);
    mtsnn_in(tmp.path(), &args)
}

#[test]
fn cnn_on_generated_cifar_files_beats_chance() {
    let tmp = TempDir::new("cifar");
    let data = tmp.join("cifar");
    write_cifar(&data, 300);
    let out_dir = tmp.join("run");
    let out = train_on_cifar(
        &tmp,
        &data,
        &[
            "--net",
            "8C3-P2-16C3-P4-10",
            "--epochs",
            "2",
            "--batch",
            "32",
            "--crop",
            "2",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_ok(&out);
    let last: Value = serde_json::from_str(
        std::fs::read_to_string(out_dir.join("metrics.jsonl"))
            .unwrap()
            .lines()
            .last()
            .unwrap(),
    )
    .unwrap();
    let acc = last["test_accuracy"].as_f64().unwrap();
    assert!(acc >= 0.5, "test accuracy {acc} (chance is 0.1)");
    // The checkpoint evaluates to the same accuracy.
    let report = eval_report(tmp.path(), &out_dir.join("model.safetensors"));
    assert_eq!(report["accuracy"].as_f64().unwrap(), acc);
}

#[test]
fn a_network_silent_at_initialisation_is_reported() {
    let tmp = TempDir::new("cifar-silent");
    let data = tmp.join("cifar");
    write_cifar(&data, 20);
    // A threshold of 10⁶ keeps every neuron of every layer below threshold.
    let out = train_on_cifar(
        &tmp,
        &data,
        &[
            "--net",
            "4C3-P2-10",
            "--v-th",
            "1000000",
            "--epochs",
            "1",
            "--batch",
            "8",
            "--out",
            tmp.join("run").to_str().unwrap(),
        ],
    );
    assert_ok(&out);
    let err = stderr(&out);
    assert!(
        err.contains("weighted layer 1 of 2 (4x32x32) emits no spike for any of the first 8")
            && err.contains("--init fan-in keeps spikes flowing"),
        "{err}"
    );
}

#[test]
fn truncated_cifar_file_and_missing_directory_are_clear_errors() {
    let tmp = TempDir::new("cifar-bad");
    let data = tmp.join("cifar");
    write_cifar(&data, 20);
    let test = data.join("test_batch.bin");
    let bytes = std::fs::read(&test).unwrap();
    std::fs::write(&test, &bytes[..bytes.len() - 100]).unwrap();
    let short = ["--net", "4C3-10", "--epochs", "1"];
    let out = train_on_cifar(&tmp, &data, &short);
    assert_fails(&out, &["test_batch.bin", "3073-byte"]);
    let out = train_on_cifar(&tmp, &tmp.join("nowhere"), &short);
    assert_fails(&out, &["CIFAR-10 binary version"]);
}
