"""Settings for Roadwise: ``base`` plus one module per place it runs (dev, test, production)."""
