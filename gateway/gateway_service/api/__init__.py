"""HTTP routers of the gateway: thin, each delegating to a plain domain module."""
