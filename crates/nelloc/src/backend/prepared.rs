//! What an accelerator keeps per model (uploaded weights, a session), keyed by the model's
//! hash: prepared and checked once, then shared by every call.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::error::Result;
use crate::model::Model;

/// Per-model state `T` of one backend.
pub(crate) struct Prepared<T> {
    models: Mutex<HashMap<[u8; 32], Arc<T>>>,
}

impl<T> Default for Prepared<T> {
    fn default() -> Self {
        Prepared {
            models: Mutex::new(HashMap::new()),
        }
    }
}

impl<T> Prepared<T> {
    /// The state of `model`, if it was prepared.
    pub(crate) fn get(&self, model: &Model) -> Option<Arc<T>> {
        self.lock().get(model.hash()).cloned()
    }

    /// The state of `model`, made by `prepare` (which also checks it) on first use. The
    /// lock is not held while preparing: two threads may both prepare, one result is kept.
    pub(crate) fn get_or_prepare(
        &self,
        model: &Model,
        prepare: impl FnOnce() -> Result<T>,
    ) -> Result<Arc<T>> {
        if let Some(t) = self.get(model) {
            return Ok(t);
        }
        let made = Arc::new(prepare()?);
        Ok(self.lock().entry(*model.hash()).or_insert(made).clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Arc<T>>> {
        self.models.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
