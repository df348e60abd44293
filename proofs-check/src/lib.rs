//! Executable claims for Section 4 and Appendices A, E, F.
