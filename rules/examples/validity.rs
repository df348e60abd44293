//! Calibration of the validity verdict (`src/eval/validity.rs`): per task and set, the invalid
//! share, its reasons, and the distribution of the measurements behind each criterion.
//! `cargo run --release -p empirical-rules --example validity -- [n] [size] [seed]`
use empirical_rules::color::RangeSet;
use empirical_rules::*;

fn q(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2000);
    let size: u32 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(32);
    let seed: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(0);
    let kinds: Vec<Kind> = match args.get(4).map(String::as_str) {
        Some("immature") => vec![Kind::Immature],
        Some("train") => vec![Kind::Train],
        _ => vec![Kind::Train, Kind::Immature],
    };
    for task in Task::ALL {
        for &kind in &kinds {
            let ds = generate(&GenConfig {
                task,
                n,
                size,
                seed,
                kind,
            })
            .unwrap();
            for ranges in [RangeSet::Strict, RangeSet::Loose] {
                let cfg = EvalConfig {
                    ranges,
                    ..EvalConfig::default()
                };
                let rep = evaluate(task, &ds.images, &cfg).unwrap();
                let s = &rep.summary;
                let det = s.detector.unwrap();
                println!(
                    "{task} {:<10} {:?}: invalid {:.2} % (detector {:.2} %) {:?}",
                    kind.name(),
                    ranges,
                    s.invalid_pct,
                    det.invalid_pct,
                    s.invalid_reasons
                );
                if kind == Kind::Immature {
                    let mut by = [(0usize, 0usize); 4];
                    for (r, g) in rep.per_image.iter().zip(&ds.records) {
                        let c = g.class.unwrap_or(0) as usize;
                        by[c].0 += 1;
                        by[c].1 += !r.valid as usize;
                        if r.valid {
                            println!(
                                "    VALID negative #{} style {c}: checks {:?} clutter {:?}",
                                r.index, r.checks, r.clutter
                            );
                        }
                    }
                    let pct: Vec<String> = by
                        .iter()
                        .map(|(n, i)| format!("{:.1}", 100.0 * *i as f64 / (*n).max(1) as f64))
                        .collect();
                    println!(
                        "    invalid % by style (cloud, speckle, smear, merged): {}",
                        pct.join(" / ")
                    );
                    let mut fails = std::collections::BTreeMap::<String, usize>::new();
                    for r in &rep.per_image {
                        let mut kinds: Vec<String> = r
                            .failures
                            .iter()
                            .map(|f| f.label().split(' ').skip(1).collect::<Vec<_>>().join(" "))
                            .collect();
                        kinds.sort();
                        kinds.dedup();
                        for k in kinds {
                            *fails.entry(k).or_default() += 1;
                        }
                    }
                    println!("    images failing each criterion: {fails:?}");
                }
                let mut cl: Vec<f64> = rep.per_image.iter().filter_map(|r| r.clutter).collect();
                println!(
                    "    clutter p50 {:.3} p99 {:.3} max {:.3}",
                    q(&mut cl, 0.5),
                    q(&mut cl, 0.99),
                    q(&mut cl, 1.0)
                );
                for (e, spec) in task.elements().iter().enumerate() {
                    let mut mis: Vec<f64> = rep
                        .per_image
                        .iter()
                        .filter_map(|r| r.checks.get(e))
                        .map(|c| c.misfit)
                        .collect();
                    let mut share: Vec<f64> = rep
                        .per_image
                        .iter()
                        .filter_map(|r| r.checks.get(e))
                        .map(|c| c.share)
                        .collect();
                    let mut stray: Vec<f64> = rep
                        .per_image
                        .iter()
                        .filter_map(|r| r.checks.get(e))
                        .map(|c| c.stray_px2)
                        .collect();
                    let mut rel: Vec<f64> = rep
                        .per_image
                        .iter()
                        .filter_map(|r| r.checks.get(e))
                        .map(|c| c.other_misfit - c.misfit)
                        .collect();
                    println!(
                        "    {:<8} other-shape misfit minus own: min {:.3} p01 {:.3} p50 {:.3}",
                        spec.name,
                        q(&mut rel, 0.0),
                        q(&mut rel, 0.01),
                        q(&mut rel, 0.5)
                    );
                    println!(
                        "    {:<8} misfit p50 {:.3} p99 {:.3} max {:.3} | share min {:.3} p01 {:.3} | stray px2 p99 {:.2} max {:.2}",
                        spec.name, q(&mut mis, 0.5), q(&mut mis, 0.99), q(&mut mis, 1.0),
                        q(&mut share, 0.0), q(&mut share, 0.01), q(&mut stray, 0.99), q(&mut stray, 1.0)
                    );
                }
            }
        }
    }
}
