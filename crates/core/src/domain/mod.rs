//! The entities a facilitator works with, one module each: what may be
//! written (validation), how it is written (through `store::rows`), and how
//! it is read. Pure rules with no store (`schedule`, `validate`) sit beside them.

pub mod attendance;
pub mod circle;
pub mod circle_list;
pub mod course;
pub mod feedback;
pub mod guide;
pub mod learner;
pub mod meeting;
pub mod messages;
pub mod schedule;
pub mod scheduling;
pub mod settings;
pub mod team;
pub mod validate;
pub mod waitlist;
pub mod wrap_up;
