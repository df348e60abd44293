//! The validity verdict against labels given by eye (`rules/labelled/`).
//!
//! ```sh
//! # a contact sheet of an image set (10 per row, `scale` x upscaled, grey gutters)
//! cargo run --release -p empirical-rules --example labelled -- sheet SET.npy SHEET.png [scale]
//! # one labelled set from several sample sets, and its labels file to fill in by eye
//! cargo run --release -p empirical-rules --example labelled -- assemble rules/labelled/A \
//!     shipped=runs/x/samples/samples.npy early-300=runs/y/samples/samples.npy
//! # the verdict's precision and recall against every `rules/labelled/<task>.labels.csv`,
//! # written to rules/labelled/scores.md
//! cargo run --release -p empirical-rules --example labelled -- score
//! ```
//! The scoring itself is `empirical_rules::eval::labelled`, shared with the test that keeps
//! `scores.md` in sync.
use empirical_rules::eval::labelled;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("sheet") => {
            let (Some(src), Some(out)) = (args.get(1), args.get(2)) else {
                return Err("usage: sheet SET.npy SHEET.png [scale]".into());
            };
            let scale: u32 = match args.get(3) {
                Some(s) => s.parse().map_err(|_| format!("scale: not a number: {s}"))?,
                None => 4,
            };
            let images = empirical_rules::load_images(Path::new(src)).map_err(|e| e.to_string())?;
            labelled::write_sheet(&images, scale, Path::new(out)).map_err(|e| e.to_string())?;
            println!("{} images -> {out}", images.len());
            Ok(())
        }
        Some("assemble") => {
            // assemble OUT_STEM NAME=SET.npy ... : OUT_STEM.npy and a OUT_STEM.labels.csv to fill in
            let Some(stem) = args.get(1) else {
                return Err("usage: assemble OUT_STEM NAME=SET.npy [NAME=SET.npy ...]".into());
            };
            let mut images = Vec::new();
            let mut rows = String::from("index,source,label,note\n");
            for spec in &args[2..] {
                let (name, path) = spec
                    .split_once('=')
                    .ok_or_else(|| format!("`{spec}`: expected NAME=SET.npy"))?;
                let set = empirical_rules::load_images(Path::new(path)).map_err(|e| e.to_string())?;
                for img in set {
                    rows.push_str(&format!("{},{name},,\n", images.len()));
                    images.push(img);
                }
            }
            let npy = PathBuf::from(format!("{stem}.npy"));
            empirical_rules::io::write_npy_u8(&npy, &images).map_err(|e| e.to_string())?;
            let csv = PathBuf::from(format!("{stem}.labels.csv"));
            if csv.exists() {
                return Err(format!("{} exists: not overwritten", csv.display()));
            }
            empirical_rules::io::atomic_write(&csv, |w| w.write_all(rows.as_bytes()))
                .map_err(|e| e.to_string())?;
            println!("{} images -> {} and {}", images.len(), npy.display(), csv.display());
            Ok(())
        }
        Some("score") => {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("labelled");
            let scores = labelled::score_dir(&dir).map_err(|e| e.to_string())?;
            let md = labelled::render_markdown(&scores);
            let out = dir.join("scores.md");
            empirical_rules::io::atomic_write(&out, |w| w.write_all(md.as_bytes()))
                .map_err(|e| e.to_string())?;
            print!("{md}");
            println!("-> {}", out.display());
            Ok(())
        }
        _ => Err(
            "usage: labelled sheet SET.npy SHEET.png [scale] | assemble OUT_STEM NAME=SET.npy ... | score"
                .into(),
        ),
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
