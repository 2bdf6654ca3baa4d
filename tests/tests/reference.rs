//! The CPU engine against independent float64 reference values of the paper's equations
//! (`tests/data/reference-v1.json`, computed in float64 independently of the engine): surrogates
//! (eq 14–16), forward v/s/u per layer and step (eq 3–5), loss (eq 6), paper-mode gradients
//! (eq 9–13) and the weights after one Adam step.
//!
//! Tolerance: f32 against f64, |x − y| ≤ 1e-4·max(|y|, 1) (relative, absolute near zero);
//! spike counts must match exactly.

use mtsnn_core::cpu::gemm::matmul;
use mtsnn_core::cpu::neuron::lif_forward;
use mtsnn_core::{Backend, CpuBackend, Hyper, Model, NetSpec, Shape, Surrogate, SurrogateParams};
use serde_json::Value;

fn reference() -> Value {
    let text = include_str!("../data/reference-v1.json");
    serde_json::from_str(text).expect("reference JSON parses")
}

fn flat(v: &Value) -> Vec<f64> {
    match v {
        Value::Array(a) => a.iter().flat_map(flat).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap()],
        _ => panic!("not numeric: {v}"),
    }
}

fn flat32(v: &Value) -> Vec<f32> {
    flat(v).into_iter().map(|x| x as f32).collect()
}

#[track_caller]
fn assert_close(what: &str, got: &[f32], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= 1e-4 * w.abs().max(1.0),
            "{what}[{i}]: got {g}, want {w}"
        );
    }
}

fn hyper_of(params: &Value, surrogate: &str) -> Hyper {
    let p = |k: &str| params[k].as_f64().unwrap() as f32;
    Hyper::default()
        .with_tau_m(p("tau"))
        .with_v_th(p("vth"))
        .with_s_max(params["smax"].as_u64().unwrap() as u32)
        .with_alpha_h(p("aH"))
        .with_alpha_w(p("aW"))
        .with_surrogate(surrogate.parse().unwrap())
        .with_steps(params["T"].as_u64().unwrap() as usize)
        .with_target_count(p("target"))
}

#[test]
fn surrogates_match_eq_14_to_16() {
    let r = reference();
    let mut cases = 0;
    for case in r["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "surrogate")
    {
        let p = &case["params"];
        for (name, kind) in [
            ("f1", Surrogate::F1),
            ("f2", Surrogate::F2),
            ("f3", Surrogate::F3),
        ] {
            let sp = SurrogateParams {
                kind,
                v_th: p["vth"].as_f64().unwrap() as f32,
                s_max: p["smax"].as_u64().unwrap() as u32,
                alpha_h: p["aH"].as_f64().unwrap() as f32,
                alpha_w: p["aW"].as_f64().unwrap() as f32,
            };
            let got: Vec<f32> = flat32(&case["v"]).iter().map(|&v| sp.eval(v)).collect();
            assert_close(name, &got, &flat(&case[name]));
            cases += 1;
        }
    }
    assert_eq!(cases, 6);
}

/// Every MLP case: forward state per layer and step, loss, gradients, one Adam step.
#[test]
fn mlp_cases_match_forward_loss_gradients_and_adam() {
    let r = reference();
    let mut checked = 0;
    for case in r["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "mlp")
    {
        let name = format!("{} {}", case["net"], case["surrogate"]);
        let hyper = hyper_of(&r["params"], case["surrogate"].as_str().unwrap());
        let x = flat32(&case["x"]);
        let labels: Vec<u32> = flat(&case["labels"]).iter().map(|&l| l as u32).collect();
        let weights: Vec<Vec<f32>> = case["weights"]
            .as_array()
            .unwrap()
            .iter()
            .map(flat32)
            .collect();
        let batch = labels.len();
        let spec = NetSpec::parse("12-8-4", Shape::flat(12), 4).unwrap();
        let model = Model::from_weights(spec, hyper.clone(), weights.clone());

        // Forward state, layer by layer, with the kernels: v and u = v − V_th·s (eq 4).
        let (steps, sp) = (hyper.steps, hyper.surrogate_params());
        let mut input = x.clone();
        for (li, (w, layer)) in weights.iter().zip(model.spec().layers()).enumerate() {
            let (n_out, n_in) = (layer.output.len(), layer.input.len());
            let rows = if li == 0 { batch } else { steps * batch };
            let mut current = vec![0.0; rows * n_out];
            matmul(&input, w, &mut current, rows, n_out, n_in, false, true);
            let (mut v, mut s) = (
                vec![0.0; steps * batch * n_out],
                vec![0.0; steps * batch * n_out],
            );
            lif_forward(
                &current,
                li == 0,
                steps,
                batch * n_out,
                hyper.lambda(),
                &sp,
                &mut v,
                &mut s,
            );
            let want = &case["layers"][li];
            assert_close(&format!("{name} layer {li} v"), &v, &flat(&want["v"]));
            assert_eq!(s, flat32(&want["s"]), "{name} layer {li} spikes");
            let u: Vec<f32> = v.iter().zip(&s).map(|(v, s)| v - hyper.v_th * s).collect();
            assert_close(&format!("{name} layer {li} u"), &u, &flat(&want["u"]));
            input = s;
        }

        // The backend: output spikes, loss, paper-mode gradients.
        let mut cpu = CpuBackend::new(&model).unwrap();
        let inf = cpu.infer(&x, true).unwrap();
        assert_eq!(
            inf.output,
            flat32(&case["layers"][1]["s"]),
            "{name}: backend output spikes"
        );
        let (loss, grads) = cpu.gradients(&x, &labels).unwrap();
        assert_close(
            &format!("{name} loss"),
            &[loss],
            &[case["loss"].as_f64().unwrap()],
        );
        for (li, g) in grads.iter().enumerate() {
            assert_close(&format!("{name} grad {li}"), g, &flat(&case["grads"][li]));
        }

        // One Adam step from fresh moments.
        if let Some(after) = case.get("weights_after_one_adam_step") {
            let hyper = hyper.with_lr(case["adam_lr"].as_f64().unwrap() as f32);
            let mut model = Model::from_weights(model.spec().clone(), hyper, weights);
            let mut cpu = CpuBackend::new(&model).unwrap();
            cpu.train_batch(&x, &labels).unwrap();
            cpu.read_state(&mut model).unwrap();
            for (li, w) in model.weights().iter().enumerate() {
                assert_close(&format!("{name} adam {li}"), w, &flat(&after[li]));
            }
            assert_eq!(model.adam().step, 1);
        }
        checked += 1;
    }
    assert_eq!(checked, 4, "all MLP cases, the saturating one included");
}

/// The saturating case really drives layer 1 to S_max, so the clamp of eq 5 is exercised.
#[test]
fn saturating_case_reaches_s_max() {
    let r = reference();
    let case = r["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "mlp" && c["net"].as_str().unwrap().contains("saturating"));
    let case = case.expect("the reference has a saturating case");
    let s = flat(&case["layers"][0]["s"]);
    assert!(s.contains(&15.0), "no neuron at S_max");
}

/// The CNN case `3C3(pad 1)-P2(avg)-5` on 1×8×8 inputs at T = 2: forward spikes and potentials of
/// the conv layer, output spikes, loss and paper-mode gradients through pooling and convolution.
#[test]
fn cnn_case_matches_forward_loss_and_gradients() {
    use mtsnn_core::cpu::conv::conv_forward;
    use mtsnn_core::plan::ConvGeom;
    let r = reference();
    let case = r["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "cnn")
        .expect("a CNN case");
    let hyper = hyper_of(&case["params"], case["surrogate"].as_str().unwrap());
    let x = flat32(&case["x"]);
    let labels: Vec<u32> = flat(&case["labels"]).iter().map(|&l| l as u32).collect();
    let weights: Vec<Vec<f32>> = case["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(flat32)
        .collect();
    let spec = NetSpec::parse("3C3p1-P2-5", Shape::new(1, 8, 8), 5).unwrap();
    assert_eq!(spec.layers().len(), 3);
    let model = Model::from_weights(spec, hyper.clone(), weights.clone());

    let geom = ConvGeom {
        in_channels: 1,
        out_channels: 3,
        kernel: 3,
        padding: 1,
        height: 8,
        width: 8,
    };
    let batch = labels.len();
    let mut current = vec![0.0; batch * geom.out_len()];
    conv_forward(&x, &weights[0], &mut current, batch, &geom);
    let m = batch * geom.out_len();
    let (mut v, mut s) = (vec![0.0; hyper.steps * m], vec![0.0; hyper.steps * m]);
    lif_forward(
        &current,
        true,
        hyper.steps,
        m,
        hyper.lambda(),
        &hyper.surrogate_params(),
        &mut v,
        &mut s,
    );
    assert_close("conv v", &v, &flat(&case["layers"][0]["v"]));
    assert_eq!(s, flat32(&case["layers"][0]["s"]), "conv spikes");

    let mut cpu = CpuBackend::new(&model).unwrap();
    let inf = cpu.infer(&x, true).unwrap();
    assert_eq!(
        inf.layers[0],
        flat32(&case["layers"][0]["s"]),
        "backend conv spikes"
    );
    assert_eq!(
        inf.output,
        flat32(&case["layers"][1]["s"]),
        "backend output spikes"
    );
    let (loss, grads) = cpu.gradients(&x, &labels).unwrap();
    assert_close("cnn loss", &[loss], &[case["loss"].as_f64().unwrap()]);
    for (li, g) in grads.iter().enumerate() {
        assert_close(&format!("cnn grad {li}"), g, &flat(&case["grads"][li]));
    }
}

/// A deeper CNN, `4C3-P2-6C3-P2-10` on 1×10×10 at T = 3: spikes, loss and paper-mode gradients
/// through two convolutions and two poolings (the reference case above has one of each), against
/// values written out independently in numpy (`tests/data/cnn2_numpy.py`, `cnn2-numpy.json`).
#[test]
fn two_convolution_cnn_matches_an_independent_numpy_implementation() {
    let r: Value = serde_json::from_str(include_str!("../data/cnn2-numpy.json")).unwrap();
    let hyper = Hyper::default().with_steps(r["steps"].as_u64().unwrap() as usize);
    let spec = NetSpec::parse(r["net"].as_str().unwrap(), Shape::new(1, 10, 10), 10).unwrap();
    let weights: Vec<Vec<f32>> = r["weights"]
        .as_array()
        .unwrap()
        .iter()
        .map(flat32)
        .collect();
    let model = Model::from_weights(spec, hyper, weights);
    let x = flat32(&r["x"]);
    let labels: Vec<u32> = flat(&r["labels"]).iter().map(|&l| l as u32).collect();
    let mut cpu = CpuBackend::new(&model).unwrap();
    let inf = cpu.infer(&x, true).unwrap();
    for (li, s) in inf.layers.iter().enumerate() {
        assert_eq!(s, &flat32(&r["spikes"][li]), "layer {li} spikes");
    }
    let (loss, grads) = cpu.gradients(&x, &labels).unwrap();
    assert_close("cnn2 loss", &[loss], &[r["loss"].as_f64().unwrap()]);
    for (li, g) in grads.iter().enumerate() {
        let want = flat(&r["grads"][li]);
        assert!(want.iter().any(|&w| w != 0.0), "layer {li} has a gradient");
        assert_close(&format!("cnn2 grad {li}"), g, &want);
    }
}
