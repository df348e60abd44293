//! Paper Section 4 and Appendices E/F: see the module docs.
