"""Jamaat: citizen participation and a legal helpdesk for rural municipalities, in Telegram."""
