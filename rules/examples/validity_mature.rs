//! How the validity verdict treats near-clean pictures: training images blurred by a Gaussian
//! of `sigma` px and given +-`noise` levels of uniform noise (what a converged DDPM's samples
//! may look like). `cargo run --release -p empirical-rules --example validity_mature`
use empirical_rules::color::RangeSet;
use empirical_rules::*;
use image::RgbImage;
use rand::{Rng, SeedableRng};

fn blur(img: &RgbImage, sigma: f64) -> RgbImage {
    if sigma <= 0.0 {
        return img.clone();
    }
    let s = img.width() as isize;
    let r = (3.0 * sigma).ceil() as isize;
    let k: Vec<f64> = (-r..=r)
        .map(|i| (-(i * i) as f64 / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f64 = k.iter().sum();
    let get = |im: &Vec<[f64; 3]>, x: isize, y: isize| {
        if x < 0 || y < 0 || x >= s || y >= s {
            [255.0; 3]
        } else {
            im[(y * s + x) as usize]
        }
    };
    let mut a: Vec<[f64; 3]> = img.pixels().map(|p| p.0.map(f64::from)).collect();
    for dir in [(1isize, 0isize), (0, 1)] {
        let src = a.clone();
        for y in 0..s {
            for x in 0..s {
                let mut acc = [0.0; 3];
                for (j, w) in k.iter().enumerate() {
                    let d = j as isize - r;
                    let p = get(&src, x + d * dir.0, y + d * dir.1);
                    for c in 0..3 {
                        acc[c] += w * p[c] / sum;
                    }
                }
                a[(y * s + x) as usize] = acc;
            }
        }
    }
    RgbImage::from_fn(s as u32, s as u32, |x, y| {
        image::Rgb(
            a[(y as isize * s + x as isize) as usize].map(|v| v.round().clamp(0.0, 255.0) as u8),
        )
    })
}

fn main() {
    for task in Task::ALL {
        let ds = generate(&GenConfig {
            task,
            n: 500,
            size: 32,
            seed: 21,
            kind: Kind::Train,
        })
        .unwrap();
        for (sigma, noise) in [(0.0, 6i32), (0.3, 6), (0.5, 6), (0.7, 6), (1.0, 6)] {
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
            let imgs: Vec<RgbImage> = ds
                .images
                .iter()
                .map(|im| {
                    let mut b = blur(im, sigma);
                    for p in b.pixels_mut() {
                        for c in 0..3 {
                            p[c] = (p[c] as i32 + rng.random_range(-noise..=noise)).clamp(0, 255)
                                as u8;
                        }
                    }
                    b
                })
                .collect();
            let rep = evaluate(
                task,
                &imgs,
                &EvalConfig {
                    ranges: RangeSet::Loose,
                    ..EvalConfig::default()
                },
            )
            .unwrap();
            if task == Task::B && sigma == 0.0 {
                let mut h: Vec<f64> = rep
                    .per_image
                    .iter()
                    .filter(|r| !r.valid)
                    .map(|r| (ds.records[r.index].features[3] * 320.0).round() / 10.0)
                    .collect();
                h.sort_by(f64::total_cmp);
                println!("  B invalid under noise alone, h2 px: {h:?}");
            }
            let s = rep.summary;
            println!(
                "{task} blur {sigma} noise +-{noise}: valid {:.1} % (detector {:.1} %) {:?}",
                100.0 - s.invalid_pct,
                100.0 - s.detector.unwrap().invalid_pct,
                s.invalid_reasons
            );
        }
    }
}
