"""Routes of the End-User API, one module per area."""
