//! Fuzz target: the checkpoint loader — full checkpoints (weights and Adam moments) and
//! weights-only F32/F16 exports: the safetensors header, the metadata (network, input shape,
//! hyper-parameters, counters) and the tensors. What loads must write back and load unchanged.

use std::path::Path;

use mtsnn_core::Model;
use mtsnn_core::checkpoint::read_metadata;

fn main() {
    afl::fuzz!(|data: &[u8]| {
        let origin = Path::new("fuzz.safetensors");
        let _ = read_metadata(data, origin);
        if let Ok(model) = Model::from_bytes(data, origin) {
            let bytes = model.to_bytes().expect("a loaded model encodes");
            let again = Model::from_bytes(&bytes, origin).expect("its encoding loads");
            assert_eq!(again, model);
        }
    });
}
