"""The legal helpdesk: villagers ask (asker), the Union's lawyers answer (lawyer, faq), admins see figures."""
