"""Bulk jobs: the CSV source, templates, planning rows into messages, the journal that makes
every row go out exactly once, the concurrent rate-limited sender, and the dry run."""
