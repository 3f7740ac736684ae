//! egov-supervision
