//! The CUDA C source of the CUDA backend's kernels (compiled at run time by NVRTC), kept
//! outside the `cuda` feature so that its arithmetic is tested on every machine: the
//! host test compiles the same file with the host C compiler (`cuda_host_shim.c`) and
//! compares it with the reference network; the `cuda` feature's tests compile it with
//! NVRTC when `libnvrtc` is present.

/// The kernels (see the file's header comment).
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub(crate) const KERNELS: &str = include_str!("kernels.cu");

/// The kernels' names, in the order the backend launches them.
#[cfg_attr(not(feature = "cuda"), allow(dead_code))]
pub(crate) const KERNEL_NAMES: [&str; 4] = ["nlc_first", "nlc_relu", "nlc_residual", "nlc_head"];

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::process::{Command, Stdio};

    use crate::model::{synthetic, Arch, Model};
    use crate::network::{forward, Scratch};

    /// Builds the shim with the host compiler; `None` (with a visible message) when there
    /// is none, unless CI requires it.
    fn shim(dir: &std::path::Path) -> Option<std::path::PathBuf> {
        let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/backend");
        let exe = dir.join("shim");
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let status = Command::new(&cc)
            .args(["-std=c99", "-O2", "-Wall", "-Werror", "-x", "c"])
            .arg(src.join("cuda_host_shim.c"))
            .arg("-I")
            .arg(&src)
            .arg("-o")
            .arg(&exe)
            .status();
        match status {
            Ok(s) if s.success() => Some(exe),
            other => {
                assert!(
                    std::env::var_os("CI").is_none(),
                    "the host C compiler {cc} could not build the CUDA shim: {other:?}"
                );
                eprintln!("SKIPPED: no host C compiler ({cc}) for the CUDA kernel shim");
                None
            }
        }
    }

    fn run_shim(exe: &std::path::Path, model: &Model, ctx: &[i16], n: usize) -> Vec<i32> {
        let arch = model.arch();
        let mut input = Vec::new();
        let i32s = |v: &mut Vec<u8>, xs: &[i32]| xs.iter().for_each(|x| v.extend(x.to_le_bytes()));
        i32s(
            &mut input,
            &[
                n as i32,
                arch.input_len() as i32,
                arch.width as i32,
                arch.res_blocks as i32,
                arch.output_len() as i32,
            ],
        );
        for l in model.net().layers() {
            i32s(&mut input, &[l.n_in as i32, l.n_out as i32]);
            input.extend(l.weight.iter().map(|&w| w as u8));
            i32s(&mut input, &l.bias);
            i32s(&mut input, &l.mult);
            i32s(&mut input, &l.shift);
        }
        input.extend(ctx.iter().flat_map(|x| x.to_le_bytes()));
        let mut child = Command::new(exe)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run the shim");
        child.stdin.take().unwrap().write_all(&input).unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        out.stdout
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    #[test]
    fn the_kernels_arithmetic_matches_the_reference_on_the_host() {
        let dir = tempfile::tempdir().unwrap();
        let Some(exe) = shim(dir.path()) else { return };
        let mut models: Vec<Model> = [
            Arch::new(3, 3, 24, 1, 10),
            Arch::new(2, 1, 16, 0, 4),
            Arch::new(1, 3, 9, 2, 3),
            Arch::new(7, 1, 33, 0, 32),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, a)| Model::from_bytes(&synthetic(a, 70 + i as u64, "cuda")).unwrap())
        .collect();
        // Extreme weights and shifts: saturated activations and the requantisation range.
        let mut x = Model::from_bytes(&synthetic(Arch::new(3, 3, 32, 1, 10), 5, "x")).unwrap();
        for (i, layer) in x.net.layers_mut().enumerate() {
            for (j, w) in layer.weight.iter_mut().enumerate() {
                *w = if (i + j) % 3 == 0 { -64 } else { 63 };
            }
            for (j, s) in layer.shift.iter_mut().enumerate() {
                *s = [1, 40, 62][j % 3];
            }
            for (j, m) in layer.mult.iter_mut().enumerate() {
                *m = [i32::MAX, 1, 12345][j % 3];
            }
        }
        models.push(x);
        for model in &models {
            let (ctx, n) = crate::backend::check_contexts(model);
            let (l, o) = (model.arch().input_len(), model.arch().output_len());
            let mut expected = vec![0i32; n * o];
            let mut s = Scratch::new(model);
            for p in 0..n {
                forward(
                    model,
                    &ctx[p * l..(p + 1) * l],
                    &mut expected[p * o..(p + 1) * o],
                    &mut s,
                );
            }
            let got = run_shim(&exe, model, &ctx, n);
            assert_eq!(got, expected, "model {:?}", model.arch());
        }
    }
}
