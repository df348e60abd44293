//! Timed check of the speed targets (release build; RAYON_NUM_THREADS=2 for 2 cores).
use empirical_rules::bench_support::*;
use empirical_rules::Task;
use std::time::Instant;
fn main() {
    let t = Instant::now();
    let ds = generate_task_a_4000();
    println!("generate 4000 Task A 32x32: {:?}", t.elapsed());
    for task in Task::ALL {
        let ds2 = training_set(task, 2000);
        let t = Instant::now();
        let rep = evaluate_default(task, &ds2);
        println!(
            "evaluate 2000 Task {task} 32x32: {:?} (invalid {:.2} %)",
            t.elapsed(),
            rep.summary.invalid_pct
        );
    }
    drop(ds);
}
