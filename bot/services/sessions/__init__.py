"""Sessions: booking, moving and cancelling them, the lists, reminders and how a session looks."""
