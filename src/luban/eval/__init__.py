"""Evaluation: task suites, a runner (local threads or Ray), grading, per-task records and reports."""
