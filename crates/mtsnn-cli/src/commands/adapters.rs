//! `mtsnn adapters`: the GPU adapters wgpu finds here, numbered as `--adapter INDEX` (and
//! `MTSNN_ADAPTER`) count them, with why any is not used.

use anyhow::Result;
use mtsnn_core::gpu::{AdapterPolicy, GpuContext};

/// Runs `mtsnn adapters`.
pub fn run() -> Result<()> {
    let search = pollster::block_on(GpuContext::search(AdapterPolicy::Any));
    if search.seen.is_empty() {
        println!(
            "no GPU adapter found (on Linux: is a Vulkan driver installed, e.g. mesa-vulkan-drivers?)"
        );
        return Ok(());
    }
    let mut usable = 0;
    for a in &search.seen {
        let pci = if a.info.device_pci_bus_id.is_empty() {
            String::new()
        } else {
            format!(", PCI {}", a.info.device_pci_bus_id)
        };
        match a.rejected {
            None => println!(
                "{usable:>3}  {}{pci}  ← --backend gpu uses this one",
                a.describe()
            ),
            Some(mtsnn_core::gpu::Rejection::NotChosen) => {
                println!("{usable:>3}  {}{pci}", a.describe())
            }
            Some(why) => println!("  –  {}{pci} (not usable: {why})", a.describe()),
        }
        if matches!(
            a.rejected,
            None | Some(mtsnn_core::gpu::Rejection::NotChosen)
        ) {
            usable += 1;
        }
    }
    if search.best().is_none() {
        println!(
            "no adapter is used: none is usable, or MTSNN_ADAPTER (--adapter) names none of them"
        );
    }
    Ok(())
}
