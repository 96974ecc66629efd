//! The `metrics` facade when the `metrics` feature is on; otherwise macros and a handle of the
//! same shape that record nothing (their arguments are still evaluated, so the code reads the
//! same).

#[cfg(feature = "metrics")]
pub(crate) use metrics::{counter, gauge, histogram, Counter, Gauge, Histogram};

#[cfg(not(feature = "metrics"))]
#[derive(Clone)]
pub(crate) struct Noop;

#[cfg(not(feature = "metrics"))]
impl Noop {
    pub(crate) fn increment<T>(&self, _: T) {}
    pub(crate) fn decrement<T>(&self, _: T) {}
    pub(crate) fn record<T>(&self, _: T) {}
    pub(crate) fn record_many<T>(&self, _: T, _: usize) {}
}

/// A handle (records nothing without the feature).
#[cfg(not(feature = "metrics"))]
pub(crate) type Histogram = Noop;
#[cfg(not(feature = "metrics"))]
pub(crate) type Gauge = Noop;
#[cfg(not(feature = "metrics"))]
pub(crate) type Counter = Noop;

#[cfg(not(feature = "metrics"))]
macro_rules! counter {
    ($name:expr $(, $k:expr => $v:expr)* $(,)?) => {{
        let _ = ($name, $(($k, $v)),*);
        $crate::metrics::facade::Noop
    }};
    ($name:expr, $labels:expr) => {{
        let _ = ($name, $labels);
        $crate::metrics::facade::Noop
    }};
}

#[cfg(not(feature = "metrics"))]
pub(crate) use {counter, counter as gauge, counter as histogram};
