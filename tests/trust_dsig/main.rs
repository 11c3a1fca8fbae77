//! The XML-DSig engine against real trusted lists, hand-made attacks and synthetic signatures,
//! with xmlsec1 as the independent counterpart.

mod attacks;
mod common;
mod real_samples;
mod synthetic;
mod timing;
