//! Counting the requests the AWS clients send, per operation.
//!
//! [`RequestCounter`] is an SDK interceptor: attach a clone of it to any AWS client's
//! configuration (`config_builder.interceptor(counter.clone())`) and every HTTP attempt
//! that client sends (retries included) is counted under its operation name, e.g.
//! `ListServices`. Tests use it to pin the number of requests per refresh; a benchmark
//! turns it into "AWS requests per minute". It only counts: it never changes, delays or
//! fails a request.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::BeforeTransmitInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
// Every AWS SDK crate re-exports the same smithy `ConfigBag`.
use aws_sdk_ecs::config::ConfigBag;

/// The name under which a request is counted when the SDK did not say which operation
/// it belongs to.
pub const UNNAMED_OPERATION: &str = "unnamed";

/// Shared counters of requests per operation name. Clones count into the same counters.
#[derive(Debug, Clone, Default)]
pub struct RequestCounter {
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
}

impl RequestCounter {
    /// A counter at zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests so far, per operation name.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Requests so far of one operation.
    pub fn count(&self, operation: &str) -> u64 {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// Requests so far, all operations together.
    pub fn total(&self) -> u64 {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .sum()
    }

    /// Sets every counter back to zero.
    pub fn reset(&self) {
        self.counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }

    /// Counts one request of `operation`.
    pub fn record(&self, operation: &str) {
        *self
            .counts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(operation.to_string())
            .or_insert(0) += 1;
    }
}

impl Intercept for RequestCounter {
    fn name(&self) -> &'static str {
        "RequestCounter"
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.record(
            cfg.load::<Metadata>()
                .map_or(UNNAMED_OPERATION, Metadata::name),
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_count_into_the_same_counters() {
        let counter = RequestCounter::new();
        let clone = counter.clone();
        counter.record("ListServices");
        clone.record("ListServices");
        clone.record("DescribeServices");
        assert_eq!(counter.count("ListServices"), 2);
        assert_eq!(counter.count("ListTasks"), 0);
        assert_eq!(counter.total(), 3);
        assert_eq!(
            counter.snapshot().into_iter().collect::<Vec<_>>(),
            vec![
                ("DescribeServices".to_string(), 1),
                ("ListServices".to_string(), 2)
            ]
        );
        clone.reset();
        assert_eq!(counter.total(), 0);
    }
}
