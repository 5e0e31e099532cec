"""The web dashboard's door in chat: /dashboard sends organisers, lawyers and admins a one-time sign-in link."""
