"""Admin: platform staff edit their reward rules, simulate them, and run them."""
