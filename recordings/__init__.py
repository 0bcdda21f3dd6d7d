"""Call recordings, QA sampling and scoring, and authorised, audited access to them (issue 6)."""
