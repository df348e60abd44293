use empirical_rules::*;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map(|s| s.parse().unwrap()).unwrap_or(2000);
    for task in Task::ALL {
        for kind in [
            Kind::Train,
            Kind::CoarseViolating,
            Kind::Contrastive { delta: 0.1 },
        ] {
            let t0 = std::time::Instant::now();
            let ds = generate(&GenConfig {
                task,
                n,
                size: 32,
                seed: 1,
                kind,
            })
            .unwrap();
            let tg = t0.elapsed();
            let t1 = std::time::Instant::now();
            let rep = evaluate(task, &ds.images, &EvalConfig::default()).unwrap();
            let te = t1.elapsed();
            let s = &rep.summary;
            println!(
                "{task} {:?}: gen {:?} eval {:?} invalid {:.2}% {:?} coarse viol {}/{}",
                kind, tg, te, s.invalid_pct, s.invalid_reasons, s.coarse_violations, s.n_valid
            );
            for t in &s.eq4_by_trim {
                if let Some(e) = &t.eq4 {
                    println!(
                        "   {:<15} slope {:.4} int {:+.5} R2 {:.5} Err {:.4} (bias {:.4} var {:.4})",
                        t.trim, e.fit.beta1, e.fit.beta0, e.fit.r_squared, e.total, e.bias_part, e.variance_part
                    );
                }
            }
            // per-image feature error vs ground truth
            let mut maxerr = [0f64; 4];
            let mut worst = 0usize;
            let mut wv = 0.0;
            for (r, g) in rep.per_image.iter().zip(&ds.records) {
                if let Some(f) = r.feature_vec(task) {
                    for k in 0..4 {
                        let e = (f[k] - g.features[k]).abs();
                        if e > maxerr[k] {
                            maxerr[k] = e;
                        }
                        if k < 2 && e > wv {
                            wv = e;
                            worst = r.index;
                        }
                    }
                }
            }
            println!(
                "   max |feature err| (x S) {:?} worst idx {worst}",
                maxerr.map(|e| e * 32.0)
            );
            if let Kind::Contrastive { .. } = kind {
                let k = task.target_slope();
                let mut bad = 0;
                let mut nv = 0;
                for (r, g) in rep.per_image.iter().zip(&ds.records) {
                    if let Some(q) = r.ratio {
                        nv += 1;
                        let c = g.class.unwrap();
                        let ok = match c {
                            0 => q < k * 0.95,
                            1 => q > k * 0.95 && q < k * 1.05,
                            _ => q > k * 1.05,
                        };
                        if !ok {
                            bad += 1;
                            if bad < 4 {
                                println!(
                                    "     misordered idx {} class {c} ratio {q:.4} gt {:?}",
                                    r.index, g.features
                                );
                            }
                        }
                    }
                }
                println!("   contrastive misordered {bad}/{nv}");
            }
        }
    }
}
