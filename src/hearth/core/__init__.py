"""The runtime core: registry, state updates, event bus, catalogue, executor."""
