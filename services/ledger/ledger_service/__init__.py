"""Ledger 台帐: policies, receivables, double-entry journal, receipts, partner-bank auto-debit."""
