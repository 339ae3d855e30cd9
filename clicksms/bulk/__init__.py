"""Bulk jobs: the CSV source, templates, planning rows into messages, the journal that makes
every row go out exactly once, the concurrent rate-limited sender, the job (start and resume,
telling its events to a callback and ending in one outcome), and the dry run. Nothing here
prints: :mod:`clicksms.cli.bulk` shows what a job reports."""
