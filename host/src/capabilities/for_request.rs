//! The request a store operation is made for, as every store capability
//! sees it: the span its work belongs to, and the deadline past which no
//! operation starts (the request is being answered 503, so nothing it
//! asked for may happen after that).

use std::time::Instant;

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
