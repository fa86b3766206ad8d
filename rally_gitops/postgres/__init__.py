"""PostgreSQL itself: targets and connections, the embedded server, the client programs."""
