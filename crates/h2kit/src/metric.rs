//! The `metrics` facade when the `metrics` feature is on; otherwise macros of the same shape
//! that record nothing (their arguments are still evaluated, so the code reads the same).

#[cfg(feature = "metrics")]
pub(crate) use metrics::{counter, gauge};

#[cfg(not(feature = "metrics"))]
pub(crate) struct Noop;

#[cfg(not(feature = "metrics"))]
impl Noop {
    pub(crate) fn increment<T>(&self, _: T) {}
    pub(crate) fn decrement<T>(&self, _: T) {}
    pub(crate) fn set<T>(&self, _: T) {}
}

#[cfg(not(feature = "metrics"))]
macro_rules! counter {
    ($name:expr $(, $k:expr => $v:expr)* $(,)?) => {{
        let _ = ($name, $(($k, $v)),*);
        $crate::metric::Noop
    }};
}

#[cfg(not(feature = "metrics"))]
pub(crate) use {counter, counter as gauge};
