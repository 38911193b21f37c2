//! The supervision component's API errors: it only reads, and refuses nothing of its own.

api_plumbing::read_only_api_error!("supervision");
