"""The practice: practitioners, invites, a client's own settings, and the morning list."""
