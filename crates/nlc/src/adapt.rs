//! `nlc adapt`: fine-tune a built-in model on a collection of images. The training runs
//! in Python (PyTorch): this command runs `python3 -m nelloc.adapt` with its arguments
//! (`pip install 'nelloc[adapt]'`; docs/MODELS.md, "Adapting to a collection").

use std::ffi::OsString;
use std::process::Command;

use clap::Args;

use crate::{CliError, Result};

/// The pip command that installs what `nlc adapt` runs.
pub const PIP_INSTALL: &str = "pip install 'nelloc[adapt]'";

#[derive(Args)]
#[command(disable_help_flag = true)]
pub struct AdaptArgs {
    /// Arguments of `python -m nelloc.adapt` (`nlc adapt --help` lists them): IMAGES...
    /// --out FILE [--base gray|default|fast|FILE] [--minutes M] [--device auto|cpu|cuda]
    /// [--val-fraction F] [--name NAME]. The Python interpreter is $NELLOC_PYTHON, else
    /// python3.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    args: Vec<OsString>,
}

fn python() -> OsString {
    std::env::var_os("NELLOC_PYTHON")
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "python3".into())
}

pub fn run(a: &AdaptArgs) -> Result<()> {
    let py = python();
    let shown = py.to_string_lossy().into_owned();
    let probe = Command::new(&py)
        .args(["-c", "import nelloc.adapt.cli, torch, safetensors, PIL"])
        .output();
    match probe {
        Err(e) => {
            return Err(CliError::Msg(format!(
                "nlc adapt runs Python ({shown}: {e}); install Python 3 and then {PIP_INSTALL} \
                 (or set NELLOC_PYTHON to the interpreter that has it)"
            )))
        }
        Ok(o) if !o.status.success() => {
            let why = String::from_utf8_lossy(&o.stderr);
            let last = why.lines().last().unwrap_or("").trim().to_string();
            return Err(CliError::Msg(format!(
                "nlc adapt needs the Python package nelloc with its adapt extra (PyTorch) in \
                 {shown} ({last}); install it with: {PIP_INSTALL} (or set NELLOC_PYTHON to \
                 the interpreter that has it)"
            )));
        }
        Ok(_) => {}
    }
    let status = Command::new(&py)
        .args(["-m", "nelloc.adapt"])
        .args(&a.args)
        .status()
        .map_err(|e| CliError::Msg(format!("running {shown} -m nelloc.adapt: {e}")))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(c) => std::process::exit(c),
        None => Err(CliError::Msg(format!(
            "{shown} -m nelloc.adapt was killed ({status})"
        ))),
    }
}
