//! egov command line
fn main() {}
