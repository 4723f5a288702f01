//! `--device`, `--ort-lib` and `nlc export-onnx` (the accelerator backends).

use std::path::{Path, PathBuf};

use crate::{CliError, Result};

/// Parses `--device` (cpu, auto, cuda[:N], ort[:cpu|:cuda[:N]]).
pub(crate) fn parse_device(s: &str) -> std::result::Result<nelloc::Device, String> {
    s.parse::<nelloc::Device>().map_err(|e| match e {
        nelloc::Error::InvalidArgument(m) => m,
        other => other.to_string(),
    })
}

/// Applies `--ort-lib` (before any ORT use: the runtime loads once per process).
pub(crate) fn set_ort_lib(path: Option<&Path>) {
    if let Some(p) = path {
        nelloc::backend::set_ort_library(p.display().to_string());
    }
}

/// Arguments of `nlc export-onnx`.
#[derive(clap::Args)]
pub(crate) struct ExportArgs {
    /// Model: a built-in name (`nlc models`) or a .safetensors file.
    model: String,
    /// Output .onnx file (written atomically).
    output: PathBuf,
}

/// Writes the model's integer network as an ONNX graph (inputs `pixels` and `inside`, u8
/// [N, context]; output `head`, i32 [N, outputs]).
pub(crate) fn export_onnx(args: &ExportArgs) -> Result<()> {
    let model = match nelloc::model::builtin_by_name(&args.model) {
        Some(m) => m,
        None => std::sync::Arc::new(
            nelloc::Model::from_file(&args.model)
                .map_err(|e| CliError::Msg(format!("{}: {e}", args.model)))?,
        ),
    };
    let graph = nelloc::backend::onnx::export(&model);
    nelloc::fs::write_atomic(&args.output, &graph)
        .map_err(|e| CliError::Msg(format!("{}: {e}", args.output.display())))?;
    outln!(
        "{}: model {} ({} bytes of ONNX, opset {})",
        args.output.display(),
        model.name(),
        graph.len(),
        nelloc::backend::onnx::OPSET
    );
    Ok(())
}
