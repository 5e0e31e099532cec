"""The rules of Jamaat, free of any chat framework: handlers, jobs, exports and channels share them."""
