//! egov-store
