fn main() {
    eprintln!("empirical: not yet implemented");
    std::process::exit(2);
}
