//! Injection (to come).
