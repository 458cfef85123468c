"""A client's rights: stopping messages, erasure, their own copy, and retention."""
