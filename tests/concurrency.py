"""Run actions in real threads at the same moment (PostgreSQL row-lock tests)."""

import threading

from django.db import connections


def race(actions) -> list:
    """Start every action behind one barrier; return each one's result, or the exception it
    raised, in the order they finished. Each thread closes its own database connections."""
    barrier = threading.Barrier(len(actions))
    outcomes: list = []
    lock = threading.Lock()

    def run(action):
        try:
            barrier.wait()
            result = action()
        except Exception as exc:  # noqa: BLE001 - the test reports what happened
            result = exc
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(action,)) for action in actions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes
