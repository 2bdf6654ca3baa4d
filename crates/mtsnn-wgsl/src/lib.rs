//! Composes the engine's WGSL kernels from the files of the workspace's `shaders/` folder, so that
//! what several kernels share is written once. mtsnn-core's `build.rs` runs it and embeds the
//! results; `tests/tests/shaders.rs` has naga validate every composed kernel.
//!
//! A kernel is `shaders/FAMILY/NAME.wgsl`, in the folder of its family (`gemm`, `neuron`, `conv`,
//! `pool`, `adam`, `pass`: the names of the CPU and GPU modules holding its twin and its
//! launcher); `shaders/lib/` holds the snippets kernels may include.
//! The files are WGSL with three line-based additions (`#` never starts a WGSL line, and `$`
//! appears nowhere in WGSL):
//!
//! - `#include NAME`, on a line of its own: the composed text of `lib/NAME.wgsl`. A snippet is
//!   pasted once per kernel; later `#include`s of it are dropped, so snippets include what they use.
//! - `${NAME}`, anywhere: the value of the constant NAME, from the caller (mtsnn-core passes the
//!   register tile's size, `src/gpu/tile.rs`) or from an enclosing `#for`.
//! - `#for VAR in COUNT: LINE`: LINE repeated for VAR = 0, 1, …, COUNT − 1, at the indentation of
//!   the `#for`; COUNT is a constant's name or a number. The register tile's 16 named sums are
//!   written as one such line each.
//!
//! The output is plain WGSL, the same for wgpu's native backends and for a browser's WebGPU.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Why a kernel could not be composed: the file and 1-based line, and what is wrong there.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file (a kernel, a snippet or the folder) could not be read.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A malformed or unresolvable directive.
    #[error("{file}:{line}: {reason}")]
    Directive {
        file: String,
        line: usize,
        reason: String,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

/// Every kernel of `shaders` (the `.wgsl` files of its family folders, every folder but `lib`),
/// composed with the snippets of `shaders/lib` and `constants`: (`FAMILY/NAME.wgsl`, WGSL),
/// sorted by name.
pub fn compose_dir(shaders: &Path, constants: &[(&str, usize)]) -> Result<Vec<(String, String)>> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| Error::Io { path, source }
    };
    let name_of = |path: &Path| {
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_string()
    };
    let mut kernels = Vec::new();
    for entry in std::fs::read_dir(shaders).map_err(io(shaders))? {
        let family = entry.map_err(io(shaders))?.path();
        if !family.is_dir() || name_of(&family) == "lib" {
            continue;
        }
        for entry in std::fs::read_dir(&family).map_err(io(&family))? {
            let path = entry.map_err(io(&family))?.path();
            let name = name_of(&path);
            if path.is_file() && name.ends_with(".wgsl") {
                kernels.push((format!("{}/{name}", name_of(&family)), path));
            }
        }
    }
    kernels.sort();
    let lib = shaders.join("lib");
    let snippet = |name: &str| {
        let path = lib.join(format!("{name}.wgsl"));
        std::fs::read_to_string(&path).map_err(io(&path))
    };
    kernels
        .into_iter()
        .map(|(name, path)| {
            let source = std::fs::read_to_string(&path).map_err(io(&path))?;
            let wgsl = compose(&name, &source, &snippet, constants)?;
            Ok((name, wgsl))
        })
        .collect()
}

/// Composes one kernel `source` (called `name` in errors); `snippet(NAME)` gives the text of
/// `#include NAME`.
pub fn compose(
    name: &str,
    source: &str,
    snippet: &dyn Fn(&str) -> Result<String>,
    constants: &[(&str, usize)],
) -> Result<String> {
    let mut out = String::new();
    let mut composer = Composer {
        snippet,
        constants,
        included: HashSet::new(),
    };
    composer.expand(name, source, &mut out)?;
    Ok(out)
}

struct Composer<'a> {
    snippet: &'a dyn Fn(&str) -> Result<String>,
    constants: &'a [(&'a str, usize)],
    included: HashSet<String>,
}

impl Composer<'_> {
    fn expand(&mut self, file: &str, source: &str, out: &mut String) -> Result<()> {
        for (i, text) in source.lines().enumerate() {
            let at = |reason: String| Error::Directive {
                file: file.to_string(),
                line: i + 1,
                reason,
            };
            let trimmed = text.trim_start();
            let indent = &text[..text.len() - trimmed.len()];
            if let Some(name) = trimmed.strip_prefix("#include ") {
                let name = name.trim();
                if self.included.insert(name.to_string()) {
                    let snippet = (self.snippet)(name)?;
                    self.expand(&format!("lib/{name}.wgsl"), &snippet, out)?;
                }
            } else if let Some(rest) = trimmed.strip_prefix("#for ") {
                let (var, count, line) = parse_for(rest).ok_or_else(|| {
                    at(format!(
                        "expected `#for VAR in COUNT: LINE`, found {trimmed:?}"
                    ))
                })?;
                let count = match count.parse::<usize>() {
                    Ok(n) => n,
                    Err(_) => self
                        .constant(count)
                        .ok_or_else(|| at(format!("unknown constant {count:?} in `#for`")))?,
                };
                for v in 0..count {
                    out.push_str(indent);
                    out.push_str(&self.substitute(line, Some((var, v))).map_err(at)?);
                    out.push('\n');
                }
            } else if trimmed.starts_with('#') {
                return Err(at(format!("unknown directive {trimmed:?}")));
            } else {
                out.push_str(&self.substitute(text, None).map_err(at)?);
                out.push('\n');
            }
        }
        Ok(())
    }

    fn constant(&self, name: &str) -> Option<usize> {
        self.constants
            .iter()
            .find(|(n, _)| *n == name)
            .map(|&(_, v)| v)
    }

    /// `text` with each `${NAME}` replaced by the loop variable `var` or a constant.
    fn substitute(
        &self,
        text: &str,
        var: Option<(&str, usize)>,
    ) -> std::result::Result<String, String> {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after
                .find('}')
                .ok_or_else(|| format!("unclosed `${{` in {text:?}"))?;
            let name = &after[..end];
            let value = match var {
                Some((v, value)) if v == name => Some(value),
                _ => self.constant(name),
            };
            let value = value.ok_or_else(|| format!("unknown constant {name:?}"))?;
            out.push_str(&value.to_string());
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }
}

/// `VAR in COUNT: LINE` → (VAR, COUNT, LINE).
fn parse_for(rest: &str) -> Option<(&str, &str, &str)> {
    let (head, line) = rest.split_once(':')?;
    let (var, count) = head.split_once(" in ")?;
    let (var, count) = (var.trim(), count.trim());
    let ident = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    (ident(var) && ident(count)).then_some((var, count, line.trim_start()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lib(name: &str) -> Result<String> {
        match name {
            "grid" => Ok("fn grid() {}\n".to_string()),
            "tile" => Ok("#include grid\nconst TU: u32 = ${TU}u;\n".to_string()),
            _ => Err(Error::Io {
                path: PathBuf::from(format!("lib/{name}.wgsl")),
                source: std::io::ErrorKind::NotFound.into(),
            }),
        }
    }

    fn run(source: &str) -> Result<String> {
        compose("k.wgsl", source, &lib, &[("TU", 3)])
    }

    #[test]
    fn includes_once_substitutes_and_repeats() {
        let out = run("#include tile\n#include grid\nfn main() {\n    #for u in TU: var acc${u} = ${TU} * ${u};\n}\n")
            .unwrap();
        assert_eq!(
            out,
            "fn grid() {}\nconst TU: u32 = 3u;\nfn main() {\n    var acc0 = 3 * 0;\n    var acc1 = 3 * 1;\n    var acc2 = 3 * 2;\n}\n"
        );
        assert_eq!(run("#for i in 2: x${i}\n").unwrap(), "x0\nx1\n");
    }

    #[test]
    fn errors_name_the_file_and_line() {
        let message = |source: &str| run(source).unwrap_err().to_string();
        assert_eq!(message("ok\n${TL}\n"), "k.wgsl:2: unknown constant \"TL\"");
        assert_eq!(
            message("#for u in N: x\n"),
            "k.wgsl:1: unknown constant \"N\" in `#for`"
        );
        assert!(message("#for u TU: x\n").starts_with("k.wgsl:1: expected `#for"));
        assert!(message("#define X\n").starts_with("k.wgsl:1: unknown directive"));
        assert!(message("${TU\n").starts_with("k.wgsl:1: unclosed"));
        assert_eq!(
            message("#include none\n"),
            "lib/none.wgsl: entity not found"
        );
    }
}
