"""People: registration (/start), the profile, /language, /forget and /help."""
