"""The runtime core: registry, state store, event bus, catalogue, executor."""
