//! Triggers: what makes a component run. Souk has the HTTP trigger and
//! the Redis trigger.
pub mod http;
pub mod redis;
