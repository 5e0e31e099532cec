"""Administration: roles (/grant, /revoke, /roles) and the organisers' registration figures (/people)."""
