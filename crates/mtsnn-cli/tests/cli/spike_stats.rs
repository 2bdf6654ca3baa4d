//! `mtsnn eval --stats`: spike statistics, SynOps and the energy estimate of a trained model, with
//! numbers that agree with each other and with the network's shape.

use serde_json::Value;

use crate::common::*;

/// Relative closeness of two reported numbers (they pass through JSON's decimal form).
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

#[test]
fn eval_stats_reports_consistent_spike_counts_and_energy() {
    let tmp = TempDir::new("stats");
    let data = tmp.join("data");
    write_dataset(&data, 600, 200);
    let out = mtsnn_in(
        tmp.path(),
        &[
            "train",
            "--dataset",
            "mnist",
            "--data",
            data.to_str().unwrap(),
            "--net",
            "784-40-20-10",
            "--epochs",
            "1",
            "--batch",
            "32",
            "--backend",
            "cpu",
            "--out",
            "run",
        ],
    );
    assert_ok(&out);

    let eval = |extra: &[&str]| {
        let mut args = vec![
            "eval",
            "--model",
            "run/model.safetensors",
            "--backend",
            "cpu",
            "--stats",
        ];
        args.extend_from_slice(extra);
        mtsnn_in(tmp.path(), &args)
    };
    let out = eval(&["--json"]);
    assert_ok(&out);
    let r: Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    let s = &r["stats"];
    assert_eq!(s["samples"], 200);
    assert_eq!(s["steps"], 2);
    let layers = s["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 3);
    let f = |v: &Value, k: &str| {
        v[k].as_f64()
            .unwrap_or_else(|| panic!("{k} missing in {v}"))
    };
    let (mut spikes, mut synops) = (0.0, 0.0);
    for (l, (neurons, fan_out)) in layers.iter().zip([(40, 20), (20, 10), (10, 0)]) {
        assert_eq!(l["neurons"], neurons);
        assert_eq!(l["fan_out"], fan_out);
        for k in ["silent_fraction", "saturated_fraction"] {
            assert!((0.0..=1.0).contains(&f(l, k)), "{k}: {l}");
        }
        let mean = f(l, "mean_spikes");
        assert!((0.0..=15.0).contains(&mean), "{l}");
        // Per inference: mean per neuron and step × neurons × steps; each spike drives fan-out ACs.
        assert!(
            close(f(l, "spikes_per_inference"), mean * neurons as f64 * 2.0),
            "{l}"
        );
        assert!(
            close(
                f(l, "synops_per_inference"),
                f(l, "spikes_per_inference") * fan_out as f64
            ),
            "{l}"
        );
        spikes += f(l, "spikes_per_inference");
        synops += f(l, "synops_per_inference");
    }
    assert!(
        f(&layers[0], "spikes_per_inference") > 0.0,
        "a trained network spikes"
    );
    assert!(close(f(s, "spikes_per_inference"), spikes));
    assert!(close(f(s, "synops_per_inference"), synops));
    // Layer 1 multiplies the real-valued image; the ANN multiplies at every weight.
    assert_eq!(f(s, "input_macs"), 784.0 * 40.0);
    assert_eq!(f(s, "ann_macs"), 784.0 * 40.0 + 40.0 * 20.0 + 20.0 * 10.0);
    let e = &s["energy_per_operation"];
    assert_eq!((f(e, "mac_pj"), f(e, "ac_pj")), (4.6, 0.9));
    assert!(e["source"].as_str().unwrap().contains("Horowitz"));
    assert!(close(
        f(s, "snn_energy_nj"),
        (f(s, "input_macs") * 4.6 + synops * 0.9) / 1000.0
    ));
    assert!(close(
        f(s, "ann_energy_nj"),
        f(s, "ann_macs") * 4.6 / 1000.0
    ));
    assert!(close(
        f(s, "energy_ratio"),
        f(s, "ann_energy_nj") / f(s, "snn_energy_nj")
    ));
    // The accuracy is the same as without statistics.
    let plain = mtsnn_in(
        tmp.path(),
        &[
            "eval",
            "--model",
            "run/model.safetensors",
            "--backend",
            "cpu",
            "--json",
        ],
    );
    let plain: Value = serde_json::from_str(stdout(&plain).trim()).unwrap();
    assert_eq!(plain["correct"], r["correct"]);
    assert!(plain.get("stats").is_none());

    // The text form: a row per layer and the totals, with the energies named.
    let out = eval(&[]);
    assert_ok(&out);
    let text = stdout(&out);
    for needle in [
        "spikes/neuron/step",
        "SynOps",
        "energy per inference",
        "4.6 pJ",
        "0.9 pJ",
        "Horowitz",
    ] {
        assert!(text.contains(needle), "{needle:?} missing:\n{text}");
    }

    // --help states and cites the per-operation energies.
    let help = stdout(&mtsnn_in(tmp.path(), &["eval", "--help"]));
    for needle in ["45 nm", "Horowitz", "ISSCC 2014", "MAC 4.6", "AC 0.9"] {
        assert!(
            help.contains(needle),
            "{needle:?} missing from eval --help:\n{help}"
        );
    }
}
