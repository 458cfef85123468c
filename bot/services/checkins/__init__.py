"""Check-ins after a session: planned, asked, answered, and the replies logged and triaged."""
