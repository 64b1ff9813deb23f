"""SQLite persistence: migrations, the batched writer, repositories."""
