"""Admin: operators resolve drivers' disputes."""
