//! `nlc doctor`: finds every plugin installation (ffi/plugins/) and libnelloc, and says
//! for each whether it works, with the command that fixes it.
//!
//! The checks drive the real tools where they are installed (ImageMagick writes a 1x1
//! `.nlc`, GraphicsMagick too; the gdk-pixbuf loader cache is read as gdk-pixbuf reads
//! it), so "ok" means a `.nlc` really comes out, not a PNG under that name. A tool that is
//! not installed is reported as such and is not an error; the exit status is 1 only when
//! something installed is broken.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The first bytes of every `.nlc` file (docs/FORMAT.md).
const SIGNATURE: &[u8] = b"\x8bNLC";

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Ok,
    /// The tool is there, the plugin is not.
    Missing,
    /// Installed, but it does not work (or is not found by the tool).
    Broken,
    /// The tool itself is not installed.
    NoTool,
}

struct Report {
    what: &'static str,
    state: State,
    detail: String,
    fix: Option<String>,
}

impl Report {
    fn new(what: &'static str, state: State, detail: impl Into<String>) -> Self {
        Report {
            what,
            state,
            detail: detail.into(),
            fix: None,
        }
    }

    fn fix(mut self, fix: impl Into<String>) -> Self {
        self.fix = Some(fix.into());
        self
    }
}

#[derive(clap::Args)]
pub struct DoctorArgs {}

/// Runs every check and prints the table; an error (exit status 1) when one is broken.
pub fn run(_args: &DoctorArgs) -> crate::Result<()> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let reports = [
        libnelloc(),
        imagemagick(home.as_deref()),
        graphicsmagick(home.as_deref()),
        gdk_pixbuf(home.as_deref()),
        gimp(home.as_deref()),
    ];
    for r in &reports {
        let state = match r.state {
            State::Ok => "ok",
            State::Missing => "missing",
            State::Broken => "broken",
            State::NoTool => "not installed",
        };
        outln!("{state:<14}{:<16}{}", r.what, r.detail);
        if let Some(fix) = &r.fix {
            outln!("{:30}fix: {fix}", "");
        }
    }
    let broken = reports.iter().filter(|r| r.state == State::Broken).count();
    if broken > 0 {
        return Err(crate::CliError::Msg(format!(
            "{broken} installation(s) broken (see above; ffi/plugins/README.md, \"Installing\")"
        )));
    }
    Ok(())
}

/// `name` on PATH (or a path that exists), as the shell would find it.
fn which(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return p.is_file().then_some(p);
    }
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// Runs a command without input; its stdout, stderr and success (None if it did not run).
fn output<I, S>(program: &Path, args: I) -> Option<(Vec<u8>, String, bool)>
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    Some((
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    ))
}

fn first_line(s: &str) -> &str {
    s.lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

fn env_paths(var: &str) -> Vec<PathBuf> {
    std::env::var_os(var)
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default()
}

fn home_join(home: Option<&Path>, rel: &str) -> Option<PathBuf> {
    home.map(|h| h.join(rel))
}

/// "$HOME/..." for messages where the path is under HOME.
fn show(p: &Path, home: Option<&Path>) -> String {
    match home.and_then(|h| p.strip_prefix(h).ok()) {
        Some(rest) => format!("~/{}", rest.display()),
        None => p.display().to_string(),
    }
}

const PROFILE_HINT: &str = "the variable is written to ~/.profile by the user-level install: log in again, or run `. ~/.profile` in this shell";

fn libnelloc() -> Report {
    let what = "libnelloc";
    let Some(pc) = which("pkg-config") else {
        return Report::new(
            what,
            State::NoTool,
            "pkg-config not on PATH, cannot look for nelloc.pc",
        )
        .fix("apt-get install pkg-config");
    };
    let fix = "make -C ffi install PREFIX=$HOME/.local, then export PKG_CONFIG_PATH=$HOME/.local/lib/pkgconfig (for the plugins' builds)";
    match output(&pc, ["--modversion", "nelloc"]) {
        Some((v, _, true)) => {
            let version = String::from_utf8_lossy(&v).trim().to_string();
            let libdir = output(&pc, ["--variable=libdir", "nelloc"])
                .map(|(o, _, _)| String::from_utf8_lossy(&o).trim().to_string())
                .unwrap_or_default();
            let so = Path::new(&libdir).join("libnelloc.so");
            if so.exists() {
                Report::new(
                    what,
                    State::Ok,
                    format!("{version}, {} (pkg-config)", so.display()),
                )
            } else {
                Report::new(
                    what,
                    State::Broken,
                    format!(
                        "pkg-config finds nelloc {version} but {} does not exist",
                        so.display()
                    ),
                )
                .fix(fix)
            }
        }
        _ => Report::new(
            what,
            State::Missing,
            "pkg-config cannot find nelloc (needed only to build the plugins)",
        )
        .fix(fix),
    }
}

/// ImageMagick 6's `convert` (Debian names it convert-im6.q16; plain `convert` may be
/// GraphicsMagick's).
fn im_convert() -> Option<PathBuf> {
    if let Some(p) = which("convert-im6.q16") {
        return Some(p);
    }
    let p = which("convert")?;
    let (v, _, _) = output(&p, ["-version"])?;
    String::from_utf8_lossy(&v)
        .contains("ImageMagick")
        .then_some(p)
}

fn imagemagick(home: Option<&Path>) -> Report {
    let what = "ImageMagick 6";
    let Some(convert) = im_convert() else {
        return Report::new(
            what,
            State::NoTool,
            "no convert-im6.q16 or ImageMagick convert on PATH",
        );
    };
    let install = "make -C ffi/plugins/imagemagick install-user (or sudo make -C ffi/plugins/imagemagick install PKG_CONFIG_PATH=...)";
    // Where the coder could be: the directories ImageMagick searches, and the default
    // user-level one (which it searches only through MAGICK_CODER_MODULE_PATH).
    let mut searched = env_paths("MAGICK_CODER_MODULE_PATH");
    if searched.is_empty() {
        if let Some((o, _, _)) = output(&convert, ["-list", "configure"]) {
            let text = String::from_utf8_lossy(&o);
            searched.extend(
                text.lines()
                    .filter_map(|l| l.strip_prefix("CODER_PATH"))
                    .map(|p| PathBuf::from(p.trim())),
            );
        }
    }
    let user = home_join(home, ".local/lib/nelloc/im6/coders");
    let found: Vec<PathBuf> = searched
        .iter()
        .chain(user.iter())
        .map(|d| d.join("nlc.la"))
        .filter(|p| p.exists())
        .collect();
    // The real test: does convert write an .nlc? (-debug Module says whether the coder
    // module wrote it or the nlc CLI delegates that install-user adds as a fallback; those
    // cannot write to stdout, so a file.)
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return Report::new(what, State::Broken, format!("no temporary directory: {e}")),
    };
    let out = dir.path().join("doctor.nlc");
    let args = ["-debug", "Module", "-size", "1x1", "xc:red", "-depth", "8"];
    let written = output(
        &convert,
        args.iter().map(OsStr::new).chain([out.as_os_str()]),
    )
    .map(|(_, log, ok)| (std::fs::read(&out).unwrap_or_default(), log, ok));
    match written {
        Some((o, log, true)) if o.starts_with(SIGNATURE) => {
            let module = log
                .lines()
                .any(|l| l.contains("Opening module at path") && l.contains("nlc.la"));
            match found.first() {
                _ if module => Report::new(
                    what,
                    State::Ok,
                    format!(
                        "NLC coder{} ({} writes .nlc)",
                        found
                            .first()
                            .map(|p| format!(" in {}", show(p.parent().unwrap_or(p), home)))
                            .unwrap_or_default(),
                        convert.display()
                    ),
                ),
                Some(p) => Report::new(
                    what,
                    State::Broken,
                    format!(
                        "only the nlc CLI delegates write .nlc (pixels only: no ICC/EXIF/XMP, no -define nlc:*): {} is installed but MAGICK_CODER_MODULE_PATH does not name {}",
                        show(p, home),
                        show(p.parent().unwrap_or(p), home)
                    ),
                )
                .fix(PROFILE_HINT),
                None => Report::new(
                    what,
                    State::Ok,
                    "NLC delegates calling the nlc CLI (pixels only; the coder module, make -C ffi/plugins/imagemagick install-user, keeps metadata)",
                ),
            }
        }
        result => {
            let err = result
                .map(|(_, e, _)| first_line(&e).to_string())
                .unwrap_or_default();
            match found.first() {
                None => Report::new(
                    what,
                    State::Missing,
                    "no NLC coder module (convert a.png a.nlc writes a PNG named a.nlc)",
                )
                .fix(install),
                Some(p) => {
                    let dir = p.parent().unwrap_or(p);
                    let in_search = searched.iter().any(|d| d == dir);
                    if in_search {
                        Report::new(
                            what,
                            State::Broken,
                            format!(
                                "{} is installed but convert cannot use it: {err}",
                                show(p, home)
                            ),
                        )
                        .fix(format!("{install}, after installing libnelloc again"))
                    } else {
                        Report::new(
                            what,
                            State::Broken,
                            format!(
                                "{} is installed but MAGICK_CODER_MODULE_PATH does not name {} (convert a.png a.nlc writes a PNG)",
                                show(p, home),
                                show(dir, home)
                            ),
                        )
                        .fix(PROFILE_HINT)
                    }
                }
            }
        }
    }
}

fn graphicsmagick(home: Option<&Path>) -> Report {
    let what = "GraphicsMagick";
    let Some(gm) = which("gm") else {
        return Report::new(what, State::NoTool, "no gm on PATH");
    };
    let install = "make -C ffi/plugins/graphicsmagick install NLC=$(command -v nlc)";
    let listed = output(&gm, ["convert", "-list", "delegates"])
        .map(|(o, _, _)| {
            String::from_utf8_lossy(&o)
                .lines()
                .any(|l| l.trim_start().starts_with("nlc =>"))
        })
        .unwrap_or(false);
    let mut candidates = env_paths("MAGICK_CONFIGURE_PATH");
    candidates.extend(home_join(home, ".config/nelloc/gm"));
    let installed = candidates
        .iter()
        .map(|d| d.join("delegates.mgk"))
        .find(|p| {
            std::fs::read_to_string(p)
                .map(|t| t.contains("decode=\"nlc\""))
                .unwrap_or(false)
        });
    if !listed {
        return match installed {
            None => Report::new(what, State::Missing, "no NLC delegates (gm convert a.png a.nlc writes a PNG named a.nlc)").fix(install),
            Some(p) => Report::new(
                what,
                State::Broken,
                format!(
                    "{} has the NLC delegates but gm does not read it: MAGICK_CONFIGURE_PATH does not name {}",
                    show(&p, home),
                    show(p.parent().unwrap_or(&p), home)
                ),
            )
            .fix(PROFILE_HINT),
        };
    }
    // Listed: does an encode through the delegate give an .nlc?
    let dir = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return Report::new(what, State::Broken, format!("no temporary directory: {e}")),
    };
    let out = dir.path().join("doctor.nlc");
    let result = output(
        &gm,
        [
            OsStr::new("convert"),
            OsStr::new("-size"),
            OsStr::new("1x1"),
            OsStr::new("xc:red"),
            OsStr::new("-depth"),
            OsStr::new("8"),
            out.as_os_str(),
        ],
    );
    let bytes = std::fs::read(&out).unwrap_or_default();
    if bytes.starts_with(SIGNATURE) {
        Report::new(
            what,
            State::Ok,
            "NLC delegates (gm convert writes .nlc through the nlc CLI)",
        )
    } else {
        let err = result
            .map(|(_, e, _)| first_line(&e).to_string())
            .unwrap_or_default();
        Report::new(
            what,
            State::Broken,
            format!("the NLC delegates are listed but gm convert does not write an .nlc: {err}"),
        )
        .fix(format!(
            "{install} (the delegates call the nlc binary by its path at install time)"
        ))
    }
}

/// The loader cache gdk-pixbuf reads: GDK_PIXBUF_MODULE_FILE, else the system one.
fn pixbuf_system_cache() -> Option<PathBuf> {
    if let Some(pc) = which("pkg-config") {
        if let Some((o, _, true)) =
            output(&pc, ["--variable=gdk_pixbuf_cache_file", "gdk-pixbuf-2.0"])
        {
            let p = PathBuf::from(String::from_utf8_lossy(&o).trim());
            if p.is_file() {
                return Some(p);
            }
        }
    }
    [
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        "/usr/lib64",
        "/usr/lib",
        "/usr/local/lib",
    ]
    .iter()
    .map(|d| Path::new(d).join("gdk-pixbuf-2.0/2.10.0/loaders.cache"))
    .find(|p| p.is_file())
}

/// The loader paths a loaders.cache names for image/x-nlc.
fn nlc_loaders(cache: &Path) -> Option<Vec<PathBuf>> {
    let text = std::fs::read_to_string(cache).ok()?;
    let mut loaders = Vec::new();
    let mut current: Option<PathBuf> = None;
    for line in text.lines() {
        let l = line.trim();
        if l.starts_with('"') && l.ends_with(".so\"") {
            current = Some(PathBuf::from(l.trim_matches('"')));
        } else if l.contains("\"image/x-nlc\"") {
            loaders.extend(current.clone());
        }
    }
    Some(loaders)
}

fn gdk_pixbuf(home: Option<&Path>) -> Report {
    let what = "gdk-pixbuf";
    let user_cache = home_join(home, ".local/lib/gdk-pixbuf-2.0/loaders.cache");
    let env_cache = std::env::var_os("GDK_PIXBUF_MODULE_FILE").map(PathBuf::from);
    let Some(cache) = env_cache.clone().or_else(pixbuf_system_cache) else {
        return Report::new(
            what,
            State::NoTool,
            "no loaders.cache (libgdk-pixbuf not installed)",
        );
    };
    let install = "make -C ffi/plugins/gdk-pixbuf install-user (or sudo make -C ffi/plugins/gdk-pixbuf install PKG_CONFIG_PATH=...)";
    let loaders = nlc_loaders(&cache).unwrap_or_default();
    if loaders.is_empty() {
        let user_has = user_cache
            .as_deref()
            .filter(|u| Some(*u) != env_cache.as_deref())
            .and_then(nlc_loaders)
            .is_some_and(|l| !l.is_empty());
        return if user_has {
            Report::new(
                what,
                State::Broken,
                format!(
                    "the loader is in {} but gdk-pixbuf reads {} (GDK_PIXBUF_MODULE_FILE is not set to it)",
                    show(user_cache.as_deref().unwrap_or(Path::new("")), home),
                    show(&cache, home)
                ),
            )
            .fix(PROFILE_HINT)
        } else {
            Report::new(
                what,
                State::Missing,
                format!("no NLC loader in {}", show(&cache, home)),
            )
            .fix(install)
        };
    }
    if let Some(missing) = loaders.iter().find(|p| !p.exists()) {
        return Report::new(
            what,
            State::Broken,
            format!(
                "{} names {}, which does not exist",
                show(&cache, home),
                missing.display()
            ),
        )
        .fix(install);
    }
    // gdk-pixbuf picks loaders by MIME type: the shared-mime-info package must be there.
    let data_home = std::env::var_os("XDG_DATA_HOME")
        .map(PathBuf::from)
        .or_else(|| home_join(home, ".local/share"));
    let mut data_dirs = env_paths("XDG_DATA_DIRS");
    if data_dirs.is_empty() {
        data_dirs = vec!["/usr/local/share".into(), "/usr/share".into()];
    }
    let mime = data_home
        .into_iter()
        .chain(data_dirs)
        .map(|d| d.join("mime/packages/nelloc.xml"))
        .find(|p| p.exists());
    match mime {
        Some(m) => Report::new(
            what,
            State::Ok,
            format!("loader {} in {}, MIME type {}", show(&loaders[0], home), show(&cache, home), show(&m, home)),
        ),
        None => Report::new(
            what,
            State::Broken,
            "the loader is registered but the image/x-nlc MIME type is not installed (gdk-pixbuf picks loaders by MIME type)",
        )
        .fix(install),
    }
}

fn gimp(home: Option<&Path>) -> Report {
    let what = "GIMP 2.10";
    let config = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| home_join(home, ".config"));
    let user = config.map(|c| c.join("GIMP/2.10/plug-ins/file-nlc/file-nlc"));
    let system = [
        "/usr/lib/gimp/2.0",
        "/usr/lib64/gimp/2.0",
        "/usr/local/lib/gimp/2.0",
    ]
    .iter()
    .map(|d| Path::new(d).join("plug-ins/file-nlc/file-nlc"));
    let plugin = user.into_iter().chain(system).find(|p| p.exists());
    let has_gimp = ["gimp-2.10", "gimp", "gimp-console-2.10", "gimptool-2.0"]
        .iter()
        .any(|t| which(t).is_some())
        || Path::new("/usr/lib/gimp/2.0/plug-ins").is_dir();
    let install = "make -C ffi/plugins/gimp install";
    match plugin {
        None if !has_gimp => Report::new(what, State::NoTool, "no GIMP 2.10 found"),
        None => Report::new(
            what,
            State::Missing,
            "no file-nlc plug-in in ~/.config/GIMP/2.10/plug-ins or GIMP's plug-in folder",
        )
        .fix(install),
        Some(p) if !is_executable(&p) => Report::new(
            what,
            State::Broken,
            format!("{} is not executable", show(&p, home)),
        )
        .fix(install),
        Some(p) => {
            // Run alone, a plug-in says it must be run by GIMP; one that cannot load
            // libnelloc fails in the dynamic loader first.
            let err = output(&p, std::iter::empty::<&str>())
                .map(|(_, e, _)| e)
                .unwrap_or_default();
            if err.contains("error while loading shared libraries") {
                Report::new(
                    what,
                    State::Broken,
                    format!("{}: {}", show(&p, home), first_line(&err)),
                )
                .fix(format!("{install}, after installing libnelloc again"))
            } else {
                Report::new(what, State::Ok, format!("plug-in {}", show(&p, home)))
            }
        }
    }
}
