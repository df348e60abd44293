//! The fusion switch. Fused ops are on unless the environment variable `HIDDEN_RULES_FUSED` is
//! `0`, `false` or `off` (read once per process). [`with_fused`] overrides it for the calling
//! thread, for comparisons of both paths within one process.
use std::cell::Cell;
use std::sync::OnceLock;

/// Name of the environment variable that turns fusion off.
pub const ENV_VAR: &str = "HIDDEN_RULES_FUSED";

thread_local! {
    static OVERRIDE: Cell<Option<bool>> = const { Cell::new(None) };
}

fn from_env() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| {
        std::env::var(ENV_VAR).map_or(true, |v| {
            !matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "0" | "false" | "off"
            )
        })
    })
}

/// Whether fused ops are used on this thread now.
pub fn fused_enabled() -> bool {
    OVERRIDE.with(|o| o.get()).unwrap_or_else(from_env)
}

/// Run `f` with fusion on (`true`) or off on this thread, then restore the previous setting
/// (also when `f` unwinds).
pub fn with_fused<R>(on: bool, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<bool>);
    impl Drop for Restore {
        fn drop(&mut self) {
            OVERRIDE.with(|o| o.set(self.0));
        }
    }
    let _restore = Restore(OVERRIDE.with(|o| o.replace(Some(on))));
    f()
}
