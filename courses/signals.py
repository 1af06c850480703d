"""Events other apps listen to. Sent after the transaction that caused them commits."""

from django.dispatch import Signal

# A driver completed a course. kwargs: completion (courses.models.Completion).
course_completed = Signal()
