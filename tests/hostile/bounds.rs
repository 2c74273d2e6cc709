//! Resource bounds (to come).
