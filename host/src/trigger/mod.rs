//! Triggers: what makes a component run. Souk has the HTTP trigger.
pub mod http;
