"""Admin: a platform's staff see what it paid its drivers each month."""
