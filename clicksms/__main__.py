"""Allow ``python -m clicksms``."""

from __future__ import annotations

from clicksms.cli import main

if __name__ == "__main__":
    main()
