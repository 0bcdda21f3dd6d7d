"""Accounts, passwords, sessions, SIP digest credentials, permissions and the audit log."""
