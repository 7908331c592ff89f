"""Errors the command line shows to the user as one actionable message (no traceback)."""


class TrainerError(Exception):
    """A problem the user can fix; the message says how."""


class ConfigError(TrainerError):
    """The configuration has unknown keys, wrong types or invalid values (all of them are listed)."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid configuration ({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n{lines}")


class DatasetError(TrainerError):
    """A file is not a polyglot-instruct dataset, or one of its records is malformed."""


class DependencyError(TrainerError):
    """A Python package the trainer needs is missing."""
