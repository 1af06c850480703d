"""Courses: course and lesson pages, enrolment, progress, quizzes and completion (issue 3)."""
