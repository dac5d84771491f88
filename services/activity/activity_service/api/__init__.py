"""HTTP routers of the activity service: thin, the rules live in the domain modules."""
