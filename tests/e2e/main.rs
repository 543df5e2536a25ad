//! End-to-end tests: they run the real `faas` binary in temporary folders, on real components.

mod attest;
mod build;
mod capabilities;
mod common;
mod deploy;
mod deps;
mod dev;
mod docs;
mod gateway;
mod host;
mod jwks;
mod jwt;
mod languages;
mod messaging;
mod new;
mod outgoing;
mod p3;
mod pipeline;
mod publish;
mod review;
mod review2;
mod serve;
mod targets;
mod testing;
mod validate;
mod wrap;
