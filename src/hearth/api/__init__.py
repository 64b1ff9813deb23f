"""The local End-User API: routes, auth, event listeners, the WebSocket push, and the server."""
