//! The request a store operation is made for, as every store capability
//! sees it: the span its work belongs to, and the deadline past which no
//! operation starts (the request is being answered 503, so nothing it
//! asked for may happen after that).
//!
//! An instance serving several requests at once (`--max-instance-reuse-count`)
//! runs each in its own guest task; an operation that comes with the
//! store's context is matched to its request through the task it was made
//! from ([`for_caller`]), so a request past its deadline starts nothing
//! more while its instance serves others. Operations whose host interface
//! gets no store context (`fermyon:spin/key-value@2.0.0` and
//! `wasi:keyvalue`, outbound HTTP) are made for the latest request.

use std::time::Instant;

use wasmtime::AsContextMut;
use wasmtime::component::{Access, GuestTaskId};

use super::Spin;
use super::shared_connection::INTERRUPTED;
use crate::traces::Parent;

#[derive(Clone, Default)]
pub struct ForRequest {
    pub trace: Parent,
    pub deadline: Option<Instant>,
}

impl ForRequest {
    /// `Err` (what the guest is told) once the deadline has passed.
    pub fn in_time(&self) -> Result<(), String> {
        match self.deadline {
            Some(deadline) if Instant::now() >= deadline => Err(INTERRUPTED.to_string()),
            _ => Ok(()),
        }
    }
}

/// The requests an instance has taken, by the guest task serving each.
/// At most `--max-instance-reuse-count` of them: the instance ends after that.
#[derive(Default)]
pub struct ByTask(Vec<(GuestTaskId, ForRequest)>);

impl ByTask {
    pub fn insert(&mut self, task: GuestTaskId, request: ForRequest) {
        self.0.push((task, request));
    }

    /// The request `task` serves; the newest first, as those in flight are.
    fn of(&self, task: GuestTaskId) -> Option<&ForRequest> {
        self.0.iter().rev().find(|(t, _)| *t == task).map(|(_, request)| request)
    }
}

/// The request the calling guest task serves: the root of its async call
/// stack is the task the request started. With one request in the
/// instance, or a caller not found, the latest request.
pub fn for_caller<T: 'static>(access: &mut Access<'_, T, Spin>) -> ForRequest {
    if access.get().caps.by_task.0.len() > 1
        && let Some(task) = access.as_context_mut().async_call_stack().ok().and_then(|stack| stack.last())
        && let Some(request) = access.get().caps.by_task.of(task)
    {
        return request.clone();
    }
    access.get().caps.hooks.for_request()
}
