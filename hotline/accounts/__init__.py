"""Accounts, passwords, sessions, SIP digest credentials, the permission matrix and the audit log."""
