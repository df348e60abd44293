//! Tasks A-D (App. C) and the rule evaluator (Sec. 3.2).
