"""Cloud sync (issue 8): the durable outbox, commands pushed from the cloud, and the connectors."""
